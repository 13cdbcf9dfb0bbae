"""A member's conversation as a chat timeline, for the admin and the support inbox."""

from dataclasses import dataclass

from markupsafe import Markup

from linebot.preview import render_message

from .conversations import member_shared_messages
from .models import Direction, Member, Message

TIMELINE_LENGTH = 200


@dataclass(frozen=True)
class TimelineEntry:
    message: Message
    html: Markup  # escaped by the renderer; Django templates honour __html__

    @property
    def inbound(self) -> bool:
        return self.message.direction == Direction.INBOUND


def _payload_for_display(message: Message) -> dict:
    """What the member saw: stored media replaces LINE's expiring content URLs."""
    payload = dict(message.payload)
    if message.content and message.message_type in ("image", "video"):
        payload["originalContentUrl"] = payload["previewImageUrl"] = message.content.url
    if message.content and message.message_type in ("audio", "file"):
        payload["originalContentUrl"] = message.content.url
    return payload


def member_timeline(member: Member, *, limit: int = TIMELINE_LENGTH) -> list[TimelineEntry]:
    """The latest messages, oldest first; unsent ones are left out, as LINE asks. The member's
    own entries and those logged once for many members they received (a campaign's multicast)
    are read apart, each by its index, then merged."""
    newest = ("-created_at", "-id")
    own = Message.objects.visible().filter(member=member).select_related("sent_by")
    shared = member_shared_messages(member.pk).visible()
    latest = sorted(
        [*own.order_by(*newest)[:limit], *shared.order_by(*newest)[:limit]],
        key=lambda message: (message.created_at, message.pk),
        reverse=True,
    )[:limit]
    return [
        TimelineEntry(
            message=message,
            html=render_message(
                _payload_for_display(message), sent=message.direction == Direction.OUTBOUND
            ),
        )
        for message in reversed(latest)
    ]
