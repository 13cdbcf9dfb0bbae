"""The Messaging API client: one ``requests`` session per channel, typed results, one error type.

Every call has a connect and read timeout. Failed calls are repeated with exponential backoff
and jitter only when repeating cannot do the work twice (see ``endpoints.RetryPolicy``):
reads and idempotent writes on 429 (rate limit, not the monthly limit), 5xx and transport
errors; sends (push, multicast, narrowcast, broadcast) likewise, but only because every attempt
carries the same ``X-Line-Retry-Key``; everything else (reply above all, whose token is single
use) only when the connection could not even be opened.

Apart from ``client_for_channel``, nothing here needs Django: the sandbox, scripts and tests
build a ``LineClient`` from plain URLs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import random
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from requests.exceptions import ChunkedEncodingError
from requests.structures import CaseInsensitiveDict

from . import endpoints as ep
from .endpoints import Endpoint, Host, RetryPolicy
from .errors import (
    RETRY_KEY_ACCEPTED_MESSAGE,
    ErrorDetail,
    LineApiError,
    LineConnectionError,
    LineRateLimited,
    LineServerError,
    LineTimeout,
    LineTransportError,
    error_class_for_status,
)
from .types import (
    JSON,
    Ack,
    AudienceGroup,
    AudienceGroupPage,
    BotInfo,
    Consumption,
    Content,
    FollowerIds,
    FollowerStatistics,
    LinkToken,
    MessageDeliveryStatistics,
    NarrowcastProgress,
    Profile,
    Quota,
    RichMenu,
    RichMenuAlias,
    RichMenuBatchProgress,
    RichMenuId,
    SendResult,
    WebhookEndpoint,
    WebhookTestResult,
)

if TYPE_CHECKING:
    from .models import Channel

logger = logging.getLogger(__name__)

RETRY_KEY_HEADER = "X-Line-Retry-Key"
REQUEST_ID_HEADER = "x-line-request-id"
ACCEPTED_REQUEST_ID_HEADER = "x-line-accepted-request-id"
MAX_BACKOFF_SECONDS = 30.0
USER_AGENT = "line-crm"

# Jitter spreads the retries of many workers hit by the same 429 or outage; it is not security.
_jitter = random.SystemRandom()


class LineClient:
    """Calls the LINE platform for one channel (one access token)."""

    def __init__(
        self,
        *,
        access_token: str,
        api_base: str,
        api_data_base: str,
        timeout: float = 10.0,
        max_retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        self.base_urls = {Host.API: api_base.rstrip("/"), Host.API_DATA: api_data_base.rstrip("/")}
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.session = requests.Session()
        # urllib3 must not retry on its own: only this client knows which calls are safe to
        # repeat. A larger pool lets threads of one worker share the channel's connections.
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=32, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        # The environment's proxy settings are read once, here: requests would otherwise read
        # the whole environment (and look for a .netrc) on every call, a tenth of a push's CPU.
        self.session.proxies = requests.utils.get_environ_proxies(self.base_urls[Host.API])
        self.session.trust_env = False
        self.session.headers.update(
            {"Authorization": f"Bearer {access_token}", "User-Agent": USER_AGENT}
        )

    def __repr__(self) -> str:
        return f"<LineClient {self.base_urls[Host.API]}>"

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()

    # Sending

    def reply(
        self,
        *,
        reply_token: str,
        messages: Sequence[JSON],
        notification_disabled: bool = False,
    ) -> SendResult:
        """Answer a webhook event. Free of quota; the token works once, within a minute."""
        body: JSON = {"replyToken": reply_token, "messages": list(messages)}
        if notification_disabled:
            body["notificationDisabled"] = True
        response = self._request(ep.REPLY, json=body)
        return SendResult.from_json(_json(response), request_id=_request_id(response))

    def push(
        self,
        *,
        to: str,
        messages: Sequence[JSON],
        notification_disabled: bool = False,
        custom_aggregation_units: Sequence[str] = (),
        retry_key: str | uuid.UUID | None = None,
    ) -> SendResult:
        """Send to one user, group or room. Pass the ``retry_key`` stored with the delivery."""
        body: JSON = {"to": to, "messages": list(messages)}
        _add_send_options(body, notification_disabled, custom_aggregation_units)
        return self._send(ep.PUSH, body, retry_key)

    def multicast(
        self,
        *,
        to: Sequence[str],
        messages: Sequence[JSON],
        notification_disabled: bool = False,
        custom_aggregation_units: Sequence[str] = (),
        retry_key: str | uuid.UUID | None = None,
    ) -> SendResult:
        """Send the same messages to up to ``MAX_MULTICAST_RECIPIENTS`` user ids."""
        body: JSON = {"to": list(to), "messages": list(messages)}
        _add_send_options(body, notification_disabled, custom_aggregation_units)
        return self._send(ep.MULTICAST, body, retry_key)

    def narrowcast(
        self,
        *,
        messages: Sequence[JSON],
        recipient: JSON | None = None,
        filter: JSON | None = None,
        limit: JSON | None = None,
        notification_disabled: bool = False,
        retry_key: str | uuid.UUID | None = None,
    ) -> SendResult:
        """Send to audiences and/or demographic filters; LINE answers 202 and sends later.

        Poll ``narrowcast_progress`` with the result's ``effective_request_id``.
        """
        body: JSON = {"messages": list(messages)}
        for key, value in (("recipient", recipient), ("filter", filter), ("limit", limit)):
            if value is not None:
                body[key] = value
        _add_send_options(body, notification_disabled, ())
        return self._send(ep.NARROWCAST, body, retry_key)

    def narrowcast_progress(self, *, request_id: str) -> NarrowcastProgress:
        """Where an accepted narrowcast stands (LINE forgets it after 14 days)."""
        response = self._request(ep.NARROWCAST_PROGRESS, params={"requestId": request_id})
        return NarrowcastProgress.from_json(_json(response), request_id=_request_id(response))

    def broadcast(
        self,
        *,
        messages: Sequence[JSON],
        notification_disabled: bool = False,
        retry_key: str | uuid.UUID | None = None,
    ) -> SendResult:
        """Send to every friend of the account."""
        body: JSON = {"messages": list(messages)}
        _add_send_options(body, notification_disabled, ())
        return self._send(ep.BROADCAST, body, retry_key)

    def messages_validate(self, *, kind: str, messages: Sequence[JSON]) -> Ack:
        """Ask LINE whether ``messages`` would be accepted by the ``kind`` of send.

        ``kind`` is one of reply, push, multicast, narrowcast, broadcast. Invalid messages raise
        ``LineBadRequest`` whose ``details`` name the JSON path of each problem.
        """
        try:
            endpoint = ep.VALIDATE_MESSAGES[kind]
        except KeyError:
            raise ValueError(
                f"kind must be one of {', '.join(ep.VALIDATE_MESSAGES)}, not {kind!r}"
            ) from None
        return self._ack(endpoint, json={"messages": list(messages)})

    def quota(self) -> Quota:
        """This month's message limit."""
        response = self._request(ep.QUOTA)
        return Quota.from_json(_json(response), request_id=_request_id(response))

    def quota_consumption(self) -> Consumption:
        """Messages counted against this month's quota so far (approximate)."""
        response = self._request(ep.QUOTA_CONSUMPTION)
        return Consumption.from_json(_json(response), request_id=_request_id(response))

    # Users and the bot

    def profile(self, *, user_id: str) -> Profile:
        """A friend's profile. ``LineNotFound`` if they are not a friend or blocked us."""
        response = self._request(ep.PROFILE, path={"user_id": user_id})
        return Profile.from_json(_json(response), request_id=_request_id(response))

    def follower_ids(self, *, start: str | None = None, limit: int | None = None) -> FollowerIds:
        """One page of the ids of users who follow the account."""
        params = _params(start=start, limit=limit)
        response = self._request(ep.FOLLOWER_IDS, params=params)
        return FollowerIds.from_json(_json(response), request_id=_request_id(response))

    def follower_ids_iter(self, *, limit: int = ep.MAX_FOLLOWER_IDS_PER_PAGE) -> Iterator[str]:
        """Every follower id, page after page, fetched as the caller consumes them."""
        start: str | None = None
        while True:
            page = self.follower_ids(start=start, limit=limit)
            yield from page.user_ids
            if not page.next:
                return
            start = page.next

    def bot_info(self) -> BotInfo:
        """The Official Account's own ids and settings."""
        response = self._request(ep.BOT_INFO)
        return BotInfo.from_json(_json(response), request_id=_request_id(response))

    def message_content(self, *, message_id: str) -> Content:
        """Stream the image, video, audio or file a user sent. Use as a context manager."""
        response = self._request(ep.MESSAGE_CONTENT, path={"message_id": message_id}, stream=True)
        return Content(response)

    def link_token_issue(self, *, user_id: str) -> LinkToken:
        """A single-use token to start account linking for this user (valid 10 minutes)."""
        response = self._request(ep.LINK_TOKEN_ISSUE, path={"user_id": user_id})
        data = _json(response)
        return LinkToken(link_token=data["linkToken"], request_id=_request_id(response))

    # Rich menus

    def rich_menu_create(self, *, rich_menu: JSON) -> RichMenuId:
        """Create a rich menu from LINE's rich menu object; upload its image next."""
        response = self._request(ep.RICH_MENU_CREATE, json=rich_menu)
        return _rich_menu_id(response)

    def rich_menu_validate(self, *, rich_menu: JSON) -> Ack:
        """Ask LINE whether a rich menu object is valid, without creating it."""
        return self._ack(ep.RICH_MENU_VALIDATE, json=rich_menu)

    def rich_menu_list(self) -> list[RichMenu]:
        """Every rich menu of the channel."""
        response = self._request(ep.RICH_MENU_LIST)
        request_id = _request_id(response)
        return [
            RichMenu.from_json(item, request_id=request_id) for item in _json(response)["richmenus"]
        ]

    def rich_menu_get(self, *, rich_menu_id: str) -> RichMenu:
        """One rich menu; ``LineNotFound`` if there is no such menu."""
        response = self._request(ep.RICH_MENU_GET, path={"rich_menu_id": rich_menu_id})
        return RichMenu.from_json(_json(response), request_id=_request_id(response))

    def rich_menu_delete(self, *, rich_menu_id: str) -> Ack:
        """Delete a menu; users linked to it lose it."""
        return self._ack(ep.RICH_MENU_DELETE, path={"rich_menu_id": rich_menu_id})

    def rich_menu_image_upload(self, *, rich_menu_id: str, image: bytes, content_type: str) -> Ack:
        """Attach the menu's image (``image/jpeg`` or ``image/png``, at most 1 MB), once."""
        return self._ack(
            ep.RICH_MENU_IMAGE_UPLOAD,
            path={"rich_menu_id": rich_menu_id},
            data=image,
            headers={"Content-Type": content_type},
        )

    def rich_menu_image_download(self, *, rich_menu_id: str) -> Content:
        """Stream a rich menu's image. Use as a context manager."""
        response = self._request(
            ep.RICH_MENU_IMAGE_DOWNLOAD, path={"rich_menu_id": rich_menu_id}, stream=True
        )
        return Content(response)

    def rich_menu_default_set(self, *, rich_menu_id: str) -> Ack:
        """Show this menu to every user without a menu of their own."""
        return self._ack(ep.RICH_MENU_DEFAULT_SET, path={"rich_menu_id": rich_menu_id})

    def rich_menu_default_get(self) -> RichMenuId:
        """The default menu set through the API; ``LineNotFound`` if there is none."""
        return _rich_menu_id(self._request(ep.RICH_MENU_DEFAULT_GET))

    def rich_menu_default_cancel(self) -> Ack:
        """Stop showing an API default menu (the OA Manager's default shows again)."""
        return self._ack(ep.RICH_MENU_DEFAULT_CANCEL)

    def rich_menu_user_get(self, *, user_id: str) -> RichMenuId:
        """The menu linked to one user; ``LineNotFound`` if none is."""
        return _rich_menu_id(self._request(ep.RICH_MENU_USER_GET, path={"user_id": user_id}))

    def rich_menu_user_link(self, *, user_id: str, rich_menu_id: str) -> Ack:
        """Show this menu to one user (it beats the default, and shows at once)."""
        path = {"user_id": user_id, "rich_menu_id": rich_menu_id}
        return self._ack(ep.RICH_MENU_USER_LINK, path=path)

    def rich_menu_user_unlink(self, *, user_id: str) -> Ack:
        """Take a user's own menu away: the default shows again."""
        return self._ack(ep.RICH_MENU_USER_UNLINK, path={"user_id": user_id})

    def rich_menu_bulk_link(self, *, rich_menu_id: str, user_ids: Sequence[str]) -> Ack:
        """Link a menu to up to ``MAX_BULK_RICH_MENU_USERS`` users; LINE applies it later."""
        body = {"richMenuId": rich_menu_id, "userIds": list(user_ids)}
        return self._ack(ep.RICH_MENU_BULK_LINK, json=body)

    def rich_menu_bulk_unlink(self, *, user_ids: Sequence[str]) -> Ack:
        """Unlink the menus of up to ``MAX_BULK_RICH_MENU_USERS`` users; LINE applies it later."""
        return self._ack(ep.RICH_MENU_BULK_UNLINK, json={"userIds": list(user_ids)})

    def rich_menu_alias_create(self, *, alias_id: str, rich_menu_id: str) -> Ack:
        """Name a menu with an alias (``[a-z0-9_-]``, up to 32) for ``richmenuswitch``."""
        body = {"richMenuAliasId": alias_id, "richMenuId": rich_menu_id}
        return self._ack(ep.RICH_MENU_ALIAS_CREATE, json=body)

    def rich_menu_alias_get(self, *, alias_id: str) -> RichMenuAlias:
        """The menu an alias names now."""
        response = self._request(ep.RICH_MENU_ALIAS_GET, path={"alias_id": alias_id})
        return RichMenuAlias.from_json(_json(response), request_id=_request_id(response))

    def rich_menu_alias_update(self, *, alias_id: str, rich_menu_id: str) -> Ack:
        """Point an alias at another menu: every ``richmenuswitch`` to it follows."""
        return self._ack(
            ep.RICH_MENU_ALIAS_UPDATE,
            path={"alias_id": alias_id},
            json={"richMenuId": rich_menu_id},
        )

    def rich_menu_alias_delete(self, *, alias_id: str) -> Ack:
        """Delete an alias; switches pointing at it stop working."""
        return self._ack(ep.RICH_MENU_ALIAS_DELETE, path={"alias_id": alias_id})

    def rich_menu_alias_list(self) -> list[RichMenuAlias]:
        """Every alias of the channel."""
        response = self._request(ep.RICH_MENU_ALIAS_LIST)
        request_id = _request_id(response)
        return [
            RichMenuAlias.from_json(item, request_id=request_id)
            for item in _json(response)["aliases"]
        ]

    def rich_menu_batch(
        self, *, operations: Sequence[JSON], resume_request_key: str | None = None
    ) -> Ack:
        """Replace or unlink menus for all users linked to them (3 calls an hour).

        Poll ``rich_menu_batch_progress`` with the returned ``request_id``.
        """
        body: JSON = {"operations": list(operations)}
        if resume_request_key is not None:
            body["resumeRequestKey"] = resume_request_key
        return self._ack(ep.RICH_MENU_BATCH, json=body)

    def rich_menu_batch_validate(
        self, *, operations: Sequence[JSON], resume_request_key: str | None = None
    ) -> Ack:
        """Check a batch request without spending one of the 3 batches an hour."""
        body: JSON = {"operations": list(operations)}
        if resume_request_key is not None:
            body["resumeRequestKey"] = resume_request_key
        return self._ack(ep.RICH_MENU_BATCH_VALIDATE, json=body)

    def rich_menu_batch_progress(self, *, request_id: str) -> RichMenuBatchProgress:
        """Where a ``rich_menu_batch`` stands, by its request id."""
        response = self._request(ep.RICH_MENU_BATCH_PROGRESS, params={"requestId": request_id})
        return RichMenuBatchProgress.from_json(_json(response), request_id=_request_id(response))

    # Audiences

    def audience_create(
        self,
        *,
        description: str,
        user_ids: Sequence[str] = (),
        upload_description: str | None = None,
    ) -> AudienceGroup:
        """Create an uploaded audience with up to 10,000 user ids (add more with ``_add``)."""
        body: JSON = {
            "description": description,
            "audiences": [{"id": user_id} for user_id in user_ids],
        }
        if upload_description is not None:
            body["uploadDescription"] = upload_description
        response = self._request(ep.AUDIENCE_CREATE, json=body)
        return AudienceGroup.from_json(_json(response), request_id=_request_id(response))

    def audience_add(
        self,
        *,
        audience_group_id: int,
        user_ids: Sequence[str],
        upload_description: str | None = None,
    ) -> Ack:
        """Add up to 10,000 user ids to an uploaded audience, as one more upload job."""
        body: JSON = {
            "audienceGroupId": audience_group_id,
            "audiences": [{"id": user_id} for user_id in user_ids],
        }
        if upload_description is not None:
            body["uploadDescription"] = upload_description
        return self._ack(ep.AUDIENCE_ADD, json=body)

    def audience_create_by_file(
        self,
        *,
        description: str,
        user_ids: Iterable[str],
        upload_description: str | None = None,
    ) -> AudienceGroup:
        """Create an uploaded audience of up to 1.5 million user ids, sent as a text file."""
        data = _params(description=description, uploadDescription=upload_description)
        file = ("audience.txt", "\n".join(user_ids).encode(), "text/plain")
        response = self._request(ep.AUDIENCE_CREATE_BY_FILE, data=data, files={"file": file})
        return AudienceGroup.from_json(_json(response), request_id=_request_id(response))

    def audience_get(self, *, audience_group_id: int) -> AudienceGroup:
        """An audience with its status and upload jobs."""
        response = self._request(ep.AUDIENCE_GET, path={"audience_group_id": audience_group_id})
        data = _json(response)
        return AudienceGroup.from_json(
            data["audienceGroup"],
            jobs=tuple(data.get("jobs") or ()),
            request_id=_request_id(response),
        )

    def audience_list(
        self,
        *,
        page: int = 1,
        size: int | None = None,
        description: str | None = None,
        status: str | None = None,
    ) -> AudienceGroupPage:
        """One page (1-based) of the channel's audiences, optionally filtered."""
        params = _params(page=page, size=size, description=description, status=status)
        response = self._request(ep.AUDIENCE_LIST, params=params)
        return AudienceGroupPage.from_json(_json(response), request_id=_request_id(response))

    def audience_delete(self, *, audience_group_id: int) -> Ack:
        """Delete an audience; narrowcasts already accepted still go out."""
        return self._ack(ep.AUDIENCE_DELETE, path={"audience_group_id": audience_group_id})

    # Insight

    def insight_followers(self, *, date: dt.date | None = None) -> FollowerStatistics:
        """Friends, targeted reaches and blocks as of a day (Japan time; default: yesterday)."""
        params = _params(date=_yyyymmdd(date))
        response = self._request(ep.INSIGHT_FOLLOWERS, params=params)
        return FollowerStatistics.from_json(_json(response), request_id=_request_id(response))

    def insight_message_deliveries(self, *, date: dt.date) -> MessageDeliveryStatistics:
        """Messages sent on a day (Japan time), by kind."""
        params = {"date": _yyyymmdd(date)}
        response = self._request(ep.INSIGHT_MESSAGE_DELIVERIES, params=params)
        return MessageDeliveryStatistics.from_json(
            _json(response), request_id=_request_id(response)
        )

    # Webhook settings

    def webhook_endpoint_get(self) -> WebhookEndpoint:
        """The webhook URL LINE calls for this channel, and whether it is on."""
        response = self._request(ep.WEBHOOK_ENDPOINT_GET)
        data = _json(response)
        return WebhookEndpoint(
            endpoint=data["endpoint"], active=data["active"], request_id=_request_id(response)
        )

    def webhook_endpoint_set(self, *, endpoint: str) -> Ack:
        """Point the channel's webhook at ``endpoint`` (an https URL on real LINE)."""
        return self._ack(ep.WEBHOOK_ENDPOINT_SET, json={"endpoint": endpoint})

    def webhook_endpoint_test(self, *, endpoint: str | None = None) -> WebhookTestResult:
        """Have LINE call the webhook (the configured one, or ``endpoint``) once."""
        body = _params(endpoint=endpoint)
        response = self._request(ep.WEBHOOK_ENDPOINT_TEST, json=body)
        return WebhookTestResult.from_json(_json(response), request_id=_request_id(response))

    # The machinery

    def _ack(self, endpoint: Endpoint, **kwargs: Any) -> Ack:
        response = self._request(endpoint, **kwargs)
        response.close()
        return Ack(request_id=_request_id(response))

    def _send(
        self, endpoint: Endpoint, body: JSON, retry_key: str | uuid.UUID | None
    ) -> SendResult:
        """Send with a retry key; a 409 on the key means an earlier attempt already sent."""
        key = str(uuid.UUID(str(retry_key))) if retry_key is not None else str(uuid.uuid4())
        response = self._request(
            endpoint, json=body, headers={RETRY_KEY_HEADER: key}, conflict_ok=True
        )
        data = _json(response)
        accepted_request_id = response.headers.get(ACCEPTED_REQUEST_ID_HEADER)
        already_accepted = response.status_code == 409
        if already_accepted:
            message = str(data.get("message", ""))
            if accepted_request_id is None and not message.startswith(RETRY_KEY_ACCEPTED_MESSAGE):
                raise _api_error(response, endpoint)
            logger.info(
                "LINE %s retry key already accepted (accepted request id %s)",
                endpoint.path,
                accepted_request_id,
            )
        return SendResult.from_json(
            data,
            request_id=_request_id(response),
            retry_key=key,
            already_accepted=already_accepted,
            accepted_request_id=accepted_request_id if already_accepted else None,
        )

    def _request(
        self,
        endpoint: Endpoint,
        *,
        path: Mapping[str, str | int] | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        conflict_ok: bool = False,
    ) -> requests.Response:
        """Make the call, repeating it as the endpoint's retry policy allows.

        Returns a 2xx response (or a 409 when ``conflict_ok``); raises ``LineApiError``.
        """
        url = endpoint.url(self.base_urls, **(path or {}))
        attempt = 0
        while True:
            started = time.monotonic()
            try:
                response = self._exchange(
                    self._prepared(
                        endpoint.method,
                        url,
                        params=params,
                        json_body=json,
                        data=data,
                        files=files,
                        headers=headers,
                    ),
                    stream=stream,
                )
            except requests.RequestException as exc:
                error = _transport_error(exc, endpoint, url=url, timeout=self.timeout)
                if attempt < self.max_retries and _may_retry_transport(endpoint, exc):
                    self._wait(attempt=attempt, endpoint=endpoint, error=error)
                    attempt += 1
                    continue
                logger.warning("LINE %s %s failed: %s", endpoint.method, endpoint.path, error)
                # Not chained: requests' exception quotes the URL, and tracebacks get logged.
                raise error from None
            elapsed_ms = (time.monotonic() - started) * 1000
            logger.debug(
                "LINE %s %s -> %s in %.0f ms (request id %s)",
                endpoint.method,
                endpoint.path,
                response.status_code,
                elapsed_ms,
                _request_id(response),
            )
            if response.ok or (conflict_ok and response.status_code == 409):
                return response
            error = _api_error(response, endpoint)
            response.close()
            if attempt < self.max_retries and _may_retry_status(endpoint, error):
                self._wait(attempt=attempt, endpoint=endpoint, error=error)
                attempt += 1
                continue
            logger.warning("LINE %s %s failed: %s", endpoint.method, endpoint.path, error)
            raise error

    # Session.request would merge the session's settings, cookies and hooks into every call
    # and be ready to follow redirects: none of that applies to LINE's API (no cookies, no
    # redirects), and it was a fifth of a push's CPU. The request is prepared here and handed
    # to the session's transport adapter, which does the exchange (and is where the tests'
    # spec checker is mounted).

    def _prepared(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None,
        json_body: Any,
        data: Any,
        files: Any,
        headers: Mapping[str, str] | None,
    ) -> requests.PreparedRequest:
        prepared = requests.PreparedRequest()
        prepared.method = method
        prepared.url = f"{url}?{urlencode(params, doseq=True)}" if params else url
        prepared.headers = CaseInsensitiveDict(self.session.headers)
        if headers:
            prepared.headers.update(headers)
        if json_body is not None and not data and not files:
            # As requests encodes it (ASCII, no NaN), without its checks for streamed bodies.
            prepared.body = json.dumps(json_body, allow_nan=False).encode()
            prepared.headers["Content-Type"] = "application/json"
            prepared.headers["Content-Length"] = str(len(prepared.body))
        else:
            prepared.prepare_body(data, files, json_body)
        return prepared

    def _exchange(self, prepared: requests.PreparedRequest, *, stream: bool) -> requests.Response:
        response = self.session.get_adapter(prepared.url).send(
            prepared,
            stream=stream,
            timeout=(self.timeout, self.timeout),
            verify=self.session.verify,
            cert=self.session.cert,
            proxies=self.session.proxies,
        )
        if not stream:
            response.content  # noqa: B018 -- read it all now: the connection goes back to the pool
        return response

    def _wait(self, *, attempt: int, endpoint: Endpoint, error: LineApiError) -> None:
        """Sleep before attempt ``attempt + 1``: exponential, with "equal jitter"."""
        ceiling = min(MAX_BACKOFF_SECONDS, self.backoff * 2**attempt)
        delay = ceiling / 2 + _jitter.uniform(0, ceiling / 2)
        logger.warning(
            "LINE %s %s: %s; retry %d/%d in %.2f s",
            endpoint.method,
            endpoint.path,
            error,
            attempt + 1,
            self.max_retries,
            delay,
        )
        time.sleep(delay)


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the connection was never opened, so LINE cannot have seen the request."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def _broken(exc: requests.RequestException) -> bool:
    """A transport failure without an answer: worth another attempt where repeating is safe."""
    return isinstance(exc, requests.ConnectionError | requests.Timeout | ChunkedEncodingError)


def _may_retry_transport(endpoint: Endpoint, exc: requests.RequestException) -> bool:
    if not _broken(exc):
        return False
    return endpoint.retry is not RetryPolicy.CONNECT_ONLY or _never_sent(exc)


def _may_retry_status(endpoint: Endpoint, error: LineApiError) -> bool:
    if endpoint.retry is RetryPolicy.CONNECT_ONLY:
        return False
    if isinstance(error, LineRateLimited):
        return not error.is_monthly_limit
    return isinstance(error, LineServerError)


def _transport_error(
    exc: requests.RequestException, endpoint: Endpoint, *, url: str, timeout: float
) -> LineTransportError:
    """The error for a call that got no answer, worded without the URL's path.

    requests' own messages quote the full URL, whose path can hold a user id: only the host
    and the endpoint's template are named here.
    """
    host = urlsplit(url).netloc
    if isinstance(exc, requests.ConnectTimeout):
        return LineTimeout(f"connecting to {host} took over {timeout} s", endpoint=endpoint.path)
    if isinstance(exc, requests.Timeout):
        return LineTimeout(f"{host} did not answer within {timeout} s", endpoint=endpoint.path)
    if _never_sent(exc):
        return LineConnectionError(f"could not connect to {host}", endpoint=endpoint.path)
    if _broken(exc):
        cause = exc.args[0] if exc.args else exc
        cause = getattr(cause, "reason", None) or cause
        return LineConnectionError(
            f"connection to {host} broke: {type(cause).__name__}", endpoint=endpoint.path
        )
    return LineTransportError(
        f"request to {host} failed: {type(exc).__name__}", endpoint=endpoint.path
    )


def _api_error(response: requests.Response, endpoint: Endpoint) -> LineApiError:
    """The exception for an error answer, with LINE's message, details and request ids."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        data = {}
    details = [
        ErrorDetail(message=item.get("message"), property=item.get("property"))
        for item in data.get("details") or ()
        if isinstance(item, dict)
    ]
    status = response.status_code
    return error_class_for_status(status)(
        status,
        str(data.get("message") or response.reason or f"HTTP {status}"),
        details,
        _request_id(response),
        response.headers.get(ACCEPTED_REQUEST_ID_HEADER),
        dict(response.headers),
        endpoint=endpoint.path,
    )


def _json(response: requests.Response) -> JSON:
    """The JSON object of an answer; LINE answers ``{}`` or nothing where it has nothing."""
    if not response.content:
        return {}
    data = response.json()
    return data if isinstance(data, dict) else {}


def _request_id(response: requests.Response) -> str | None:
    return response.headers.get(REQUEST_ID_HEADER)


def _rich_menu_id(response: requests.Response) -> RichMenuId:
    return RichMenuId(rich_menu_id=_json(response)["richMenuId"], request_id=_request_id(response))


def _params(**values: Any) -> dict[str, Any]:
    """Query or form parameters without the ones left out (None)."""
    return {key: value for key, value in values.items() if value is not None}


def _yyyymmdd(date: dt.date | None) -> str | None:
    return date.strftime("%Y%m%d") if date is not None else None


def _add_send_options(
    body: JSON, notification_disabled: bool, custom_aggregation_units: Sequence[str]
) -> None:
    if notification_disabled:
        body["notificationDisabled"] = True
    if custom_aggregation_units:
        body["customAggregationUnits"] = list(custom_aggregation_units)


_clients: dict[tuple[Any, ...], LineClient] = {}
_clients_lock = threading.Lock()


def client_for_channel(channel: Channel) -> LineClient:
    """The client of a channel, made once and shared so its connections are reused.

    A new client is made when the token, platform or base URLs change, and in a forked worker
    process (pooled sockets must not be shared across a fork). The replaced client is dropped,
    not closed, since another thread may still be using it.
    """
    from django.conf import settings

    base_urls = channel.base_urls
    token_digest = hashlib.sha256(channel.access_token.encode()).hexdigest()
    key = (
        os.getpid(),
        channel.pk,
        token_digest,
        channel.platform,
        base_urls["api"],
        base_urls["api_data"],
    )
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            for stale in [k for k in _clients if k[1] == channel.pk]:
                del _clients[stale]
            client = LineClient(
                access_token=channel.access_token,
                api_base=base_urls["api"],
                api_data_base=base_urls["api_data"],
                timeout=settings.LINE_API_TIMEOUT,
            )
            _clients[key] = client
        return client
