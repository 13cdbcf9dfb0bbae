"""Typed results of the Messaging API client.

Each result keeps LINE's ``x-line-request-id`` as ``request_id``: it is what LINE support asks
for, and what the narrowcast and rich-menu-batch progress endpoints take. JSON objects we only
pass through (rich menu areas, audience jobs) stay plain dicts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

JSON = dict[str, Any]


def _timestamp(value: str | None) -> datetime | None:
    """An ISO 8601 time from LINE ("2020-12-03T10:15:30.121Z") as an aware datetime."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _unix(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value is not None else None


@dataclass(frozen=True, kw_only=True, slots=True)
class LineResult:
    """Base of every result: the id LINE gave the request."""

    request_id: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Ack(LineResult):
    """LINE accepted a call that answers nothing else (delete, link, set...)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class SentMessage:
    """One message LINE delivered; ``quote_token`` lets a later message quote it."""

    id: str
    quote_token: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class SendResult(LineResult):
    """Outcome of reply, push, multicast, narrowcast or broadcast.

    ``already_accepted`` is set when LINE answered 409 to the retry key: an earlier attempt was
    accepted (its id is ``accepted_request_id``), so the messages went out once and must be
    recorded as sent. ``retry_key`` is the key used, generated if the caller gave none.
    """

    retry_key: str | None = None
    already_accepted: bool = False
    accepted_request_id: str | None = None
    sent_messages: tuple[SentMessage, ...] = ()

    @property
    def effective_request_id(self) -> str | None:
        """The id of the request that really sent: what narrowcast progress must be asked for."""
        return self.accepted_request_id or self.request_id

    @classmethod
    def from_json(cls, data: JSON, **kwargs: Any) -> SendResult:
        sent = tuple(
            SentMessage(id=item["id"], quote_token=item.get("quoteToken"))
            for item in data.get("sentMessages") or ()
        )
        return cls(sent_messages=sent, **kwargs)


@dataclass(frozen=True, kw_only=True, slots=True)
class NarrowcastProgress(LineResult):
    """Where an accepted narrowcast stands: ``waiting``, ``sending``, ``succeeded``, ``failed``."""

    phase: str
    accepted_time: datetime | None = None
    completed_time: datetime | None = None
    success_count: int | None = None
    failure_count: int | None = None
    target_count: int | None = None
    failed_description: str | None = None
    error_code: int | None = None

    @property
    def is_finished(self) -> bool:
        return self.phase in ("succeeded", "failed")

    @classmethod
    def from_json(cls, data: JSON, **kwargs: Any) -> NarrowcastProgress:
        return cls(
            phase=data["phase"],
            accepted_time=_timestamp(data.get("acceptedTime")),
            completed_time=_timestamp(data.get("completedTime")),
            success_count=data.get("successCount"),
            failure_count=data.get("failureCount"),
            target_count=data.get("targetCount"),
            failed_description=data.get("failedDescription"),
            error_code=data.get("errorCode"),
            **kwargs,
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class Quota(LineResult):
    """The month's message limit: ``type`` is ``none`` (no limit) or ``limited`` (``value``)."""

    type: str
    value: int | None = None

    @classmethod
    def from_json(cls, data: JSON, **kwargs: Any) -> Quota:
        return cls(type=data["type"], value=data.get("value"), **kwargs)


@dataclass(frozen=True, kw_only=True, slots=True)
class Consumption(LineResult):
    """Approximate number of messages counted against this month's quota."""

    total_usage: int

    @classmethod
    def from_json(cls, data: JSON, **kwargs: Any) -> Consumption:
        return cls(total_usage=data["totalUsage"], **kwargs)


@dataclass(frozen=True, kw_only=True, slots=True)
class Profile(LineResult):
    """A friend's LINE profile; optional fields are missing when the user has not set them."""

    user_id: str
    display_name: str
    picture_url: str | None = None
    status_message: str | None = None
    language: str | None = None

    @classmethod
    def from_json(cls, data: JSON, **kwargs: Any) -> Profile:
        return cls(
            user_id=data["userId"],
            display_name=data["displayName"],
            picture_url=data.get("pictureUrl"),
            status_message=data.get("statusMessage"),
            language=data.get("language"),
            **kwargs,
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class FollowerIds(LineResult):
    """One page of follower user ids; ``next`` is the continuation token, None on the last."""

    user_ids: tuple[str, ...]
    next: str | None = None

    @classmethod
    def from_json(cls, data: JSON, **kwargs: Any) -> FollowerIds:
        return cls(user_ids=tuple(data["userIds"]), next=data.get("next"), **kwargs)


@dataclass(frozen=True, kw_only=True, slots=True)
class BotInfo(LineResult):
    """The Official Account itself: its user id is the ``destination`` of its webhooks."""

    user_id: str
    basic_id: str
    display_name: str
    chat_mode: str
    mark_as_read_mode: str
    premium_id: str | None = None
    picture_url: str | None = None

    @classmethod
    def from_json(cls, data: JSON, **kwargs: Any) -> BotInfo:
        return cls(
            user_id=data["userId"],
            basic_id=data["basicId"],
            display_name=data["displayName"],
            chat_mode=data["chatMode"],
            mark_as_read_mode=data["markAsReadMode"],
            premium_id=data.get("premiumId"),
            picture_url=data.get("pictureUrl"),
            **kwargs,
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class RichMenu(LineResult):
    """A rich menu as LINE stores it; ``areas`` are LINE's area objects, untouched."""

    rich_menu_id: str
    width: int
    height: int
    selected: bool
    name: str
    chat_bar_text: str
    areas: tuple[JSON, ...] = ()

    @classmethod
    def from_json(cls, data: JSON, **kwargs: Any) -> RichMenu:
        return cls(
            rich_menu_id=data["richMenuId"],
            width=data["size"]["width"],
            height=data["size"]["height"],
            selected=data["selected"],
            name=data["name"],
            chat_bar_text=data["chatBarText"],
            areas=tuple(data.get("areas") or ()),
            **kwargs,
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class RichMenuId(LineResult):
    """The id of a rich menu (created, default, or linked to a user)."""

    rich_menu_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class RichMenuAlias(LineResult):
    """An alias that ``richmenuswitch`` actions point to, and the menu it names now."""

    alias_id: str
    rich_menu_id: str

    @classmethod
    def from_json(cls, data: JSON, **kwargs: Any) -> RichMenuAlias:
        return cls(alias_id=data["richMenuAliasId"], rich_menu_id=data["richMenuId"], **kwargs)


@dataclass(frozen=True, kw_only=True, slots=True)
class RichMenuBatchProgress(LineResult):
    """Where a rich menu batch stands: ``ongoing``, ``succeeded`` or ``failed``."""

    phase: str
    accepted_time: datetime | None = None
    completed_time: datetime | None = None

    @classmethod
    def from_json(cls, data: JSON, **kwargs: Any) -> RichMenuBatchProgress:
        return cls(
            phase=data["phase"],
            accepted_time=_timestamp(data.get("acceptedTime")),
            completed_time=_timestamp(data.get("completedTime")),
            **kwargs,
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class LinkToken(LineResult):
    """A single-use account-link token, valid for 10 minutes."""

    link_token: str


@dataclass(frozen=True, kw_only=True, slots=True)
class AudienceGroup(LineResult):
    """An audience; fields LINE leaves out of an answer (e.g. ``status`` on create) are None."""

    audience_group_id: int
    description: str | None = None
    type: str | None = None
    status: str | None = None
    failed_type: str | None = None
    audience_count: int | None = None
    created: datetime | None = None
    expires: datetime | None = None
    permission: str | None = None
    create_route: str | None = None
    is_ifa_audience: bool | None = None
    jobs: tuple[JSON, ...] = ()

    @classmethod
    def from_json(cls, data: JSON, *, jobs: tuple[JSON, ...] = (), **kwargs: Any) -> AudienceGroup:
        return cls(
            audience_group_id=data["audienceGroupId"],
            description=data.get("description"),
            type=data.get("type"),
            status=data.get("status"),
            failed_type=data.get("failedType"),
            audience_count=data.get("audienceCount"),
            created=_unix(data.get("created")),
            expires=_unix(data.get("expireTimestamp")),
            permission=data.get("permission"),
            create_route=data.get("createRoute"),
            is_ifa_audience=data.get("isIfaAudience"),
            jobs=jobs,
            **kwargs,
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class AudienceGroupPage(LineResult):
    """One page of the audience list."""

    audience_groups: tuple[AudienceGroup, ...]
    has_next_page: bool
    total_count: int
    page: int
    size: int

    @classmethod
    def from_json(cls, data: JSON, **kwargs: Any) -> AudienceGroupPage:
        return cls(
            audience_groups=tuple(
                AudienceGroup.from_json(item) for item in data.get("audienceGroups") or ()
            ),
            has_next_page=data.get("hasNextPage", False),
            total_count=data.get("totalCount", 0),
            page=data.get("page", 1),
            size=data.get("size", 0),
            **kwargs,
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class FollowerStatistics(LineResult):
    """Friend counts as of a day; ``status`` is ``ready`` once LINE has computed them."""

    status: str
    followers: int | None = None
    targeted_reaches: int | None = None
    blocks: int | None = None

    @classmethod
    def from_json(cls, data: JSON, **kwargs: Any) -> FollowerStatistics:
        return cls(
            status=data["status"],
            followers=data.get("followers"),
            targeted_reaches=data.get("targetedReaches"),
            blocks=data.get("blocks"),
            **kwargs,
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class MessageDeliveryStatistics(LineResult):
    """Messages sent on a day, by kind; counts are None until ``status`` is ``ready``."""

    status: str
    counts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: JSON, **kwargs: Any) -> MessageDeliveryStatistics:
        counts = {key: value for key, value in data.items() if key != "status"}
        return cls(status=data["status"], counts=counts, **kwargs)


@dataclass(frozen=True, kw_only=True, slots=True)
class WebhookEndpoint(LineResult):
    """The channel's webhook URL and whether LINE uses it."""

    endpoint: str
    active: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class WebhookTestResult(LineResult):
    """What LINE saw when it called the webhook URL once."""

    success: bool | None
    timestamp: datetime | None
    status_code: int
    reason: str
    detail: str

    @classmethod
    def from_json(cls, data: JSON, **kwargs: Any) -> WebhookTestResult:
        return cls(
            success=data.get("success"),
            timestamp=_timestamp(data.get("timestamp")),
            status_code=data["statusCode"],
            reason=data["reason"],
            detail=data["detail"],
            **kwargs,
        )


class Content:
    """Binary content streamed from LINE (a user's image, a rich menu image).

    Use it as a context manager so the pooled connection goes back to the pool even when the
    caller stops reading early.
    """

    def __init__(self, response: requests.Response) -> None:
        self._response = response
        self.request_id: str | None = response.headers.get("x-line-request-id")
        self.content_type: str | None = response.headers.get("Content-Type")
        length = response.headers.get("Content-Length")
        self.content_length: int | None = int(length) if length and length.isdigit() else None

    def iter_bytes(self, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        return self._response.iter_content(chunk_size=chunk_size)

    def read(self) -> bytes:
        """All of it at once, for small content such as a rich menu image."""
        return self._response.content

    def close(self) -> None:
        self._response.close()

    def __enter__(self) -> Content:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
