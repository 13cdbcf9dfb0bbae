"""Click tracking: rewrite the links of LINE messages to go through our redirect, and record
the clicks.

``track_links`` replaces every http(s) URI action of the messages (text quick replies,
templates, imagemaps, Flex, including ``altUri.desktop`` and an imagemap video's external link)
with ``SITE_URL/l/<token>``: 16 random characters, so the URI stays far below LINE's
1,000-character limit whatever the destination. The redirect leads only to the URL stored for
the token, so it cannot be used as an open redirect. Other actions (postback, message, tel:,
line://...) are left alone.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Count, Q
from django.urls import reverse

from .models import LinkClick, Member, TrackedLink
from .models.tracking import URL_MAX_LENGTH, tracked_link_token

__all__ = [
    "has_trackable_links",
    "link_click_counts",
    "link_click_record",
    "link_request_is_preview",
    "track_links",
    "tracked_link_url",
]

LINE_URI_MAX_LENGTH = 1000  # LINE's limit for uri, linkUri and altUri.desktop


def _is_web_url(value) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return urlsplit(value.strip()).scheme.lower() in ("http", "https")
    except ValueError:
        return False


def _redirect_prefix() -> str:
    return settings.SITE_URL + reverse("tracking:redirect", args=["x"])[:-1]


def _uri_slots(node, path: str) -> Iterator[tuple[dict, str, str]]:
    """Every (dict, key, path) of a message tree that holds a URI a tap opens."""
    if isinstance(node, list):
        for index, child in enumerate(node):
            yield from _uri_slots(child, f"{path}[{index}]")
        return
    if not isinstance(node, dict):
        return
    if node.get("type") == "uri":
        # A URI action (templates, quick replies, Flex) or an imagemap URI action (linkUri).
        for key in ("uri", "linkUri"):
            if key in node:
                yield node, key, f"{path}.{key}"
        alt = node.get("altUri")
        if isinstance(alt, dict) and "desktop" in alt:
            yield alt, "desktop", f"{path}.altUri.desktop"
    for key, child in node.items():
        if key == "externalLink" and isinstance(child, dict) and "linkUri" in child:
            yield child, "linkUri", f"{path}.externalLink.linkUri"
        elif isinstance(child, dict | list) and key != "altUri":
            yield from _uri_slots(child, f"{path}.{key}")


def _trackable_slots(messages: list[dict]) -> Iterator[tuple[dict, str, str]]:
    prefix = _redirect_prefix()
    for slot in _uri_slots(messages, "messages"):
        value = slot[0][slot[1]]
        if _is_web_url(value) and not value.startswith(prefix):
            yield slot


def has_trackable_links(messages: list[dict]) -> bool:
    """Whether any message has an http(s) link a tap opens that is not tracked yet."""
    return next(_trackable_slots(messages), None) is not None


def tracked_link_url(link: TrackedLink) -> str:
    """The absolute redirect URL that goes into the message."""
    return settings.SITE_URL + reverse("tracking:redirect", args=[link.token])


def _links_for(
    urls: set[str], *, source: str, source_id: int, member: Member | None
) -> dict[str, TrackedLink]:
    """One TrackedLink per URL for this source and member: the existing ones, the rest made."""
    same = Q(source=source, source_id=source_id) & (
        Q(member=member) if member is not None else Q(member__isnull=True)
    )
    links = {link.url: link for link in TrackedLink.objects.filter(same, url__in=urls)}
    missing = urls - links.keys()
    if missing:
        # A concurrent send may create the same link: the unique constraint keeps one, and
        # the second read picks up whichever won.
        TrackedLink.objects.bulk_create(
            [
                TrackedLink(url=url, source=source, source_id=source_id, member=member)
                for url in missing
            ],
            ignore_conflicts=True,
        )
        links.update({link.url: link for link in TrackedLink.objects.filter(same, url__in=missing)})
    return links


def track_links(
    messages: list[dict], *, source: str, source_id: int, member: Member | None = None
) -> list[dict]:
    """A copy of the LINE message objects whose http(s) links go through our click redirect.

    With ``member`` the clicks are counted for that member (one link per member); without it,
    for whoever clicks. Sending the same message again reuses the same links. Raises
    ValueError naming the place of a destination longer than we store.
    """
    messages = copy.deepcopy(messages)
    slots = list(_trackable_slots(messages))
    if not slots:
        return messages
    if len(_redirect_prefix()) + len(tracked_link_token()) > LINE_URI_MAX_LENGTH:
        raise ValueError(
            f"{slots[0][2]}: a tracked link would be longer than LINE allows "
            f"({LINE_URI_MAX_LENGTH} characters); shorten SITE_URL"
        )
    for holder, key, path in slots:
        holder[key] = holder[key].strip()
        if len(holder[key]) > URL_MAX_LENGTH:
            raise ValueError(
                f"{path}: the link is longer than {URL_MAX_LENGTH} characters and cannot be tracked"
            )
    links = _links_for(
        {holder[key] for holder, key, _path in slots},
        source=source,
        source_id=source_id,
        member=member,
    )
    for holder, key, _path in slots:
        holder[key] = tracked_link_url(links[holder[key]])
    return messages


# Link preview fetchers (LINE's own, chat apps, search engines) open links nobody clicked.
PREVIEW_USER_AGENT = re.compile(
    r"bot\b|bot/|crawler|spider|preview|facebookexternalhit|line-poker|embedly|slurp|"
    r"whatsapp|skypeuripreview|bitlybot|vkshare|outbrain|pinterest|headless",
    re.IGNORECASE,
)
PREFETCH_HEADERS = ("HTTP_PURPOSE", "HTTP_SEC_PURPOSE", "HTTP_X_PURPOSE", "HTTP_X_MOZ")


def link_request_is_preview(*, method: str, meta: dict) -> bool:
    """Whether a request for a tracked link is a preview or prefetch rather than a click."""
    if method != "GET":
        return True
    if any(
        "prefetch" in meta.get(h, "").lower() or "preview" in meta.get(h, "").lower()
        for h in PREFETCH_HEADERS
    ):
        return True
    return bool(PREVIEW_USER_AGENT.search(meta.get("HTTP_USER_AGENT", "")))


def link_click_record(link: TrackedLink) -> LinkClick:
    """Record one click on a tracked link (for its member, if it was sent to one)."""
    return LinkClick.objects.create(
        link=link,
        member_id=link.member_id,
        source=link.source,
        source_id=link.source_id,
        url=link.url,
    )


def link_click_counts(*, source: str, source_ids) -> dict[int, dict[str, int]]:
    """Clicks and distinct clicking members per source id: ``{id: {"clicks", "members"}}``."""
    rows = (
        LinkClick.objects.filter(source=source, source_id__in=list(source_ids))
        .order_by()
        .values("source_id")
        .annotate(clicks=Count("*"), members=Count("member_id", distinct=True))
    )
    return {row["source_id"]: {"clicks": row["clicks"], "members": row["members"]} for row in rows}
