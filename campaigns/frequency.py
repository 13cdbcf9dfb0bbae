"""A channel's sending policy: the marketing frequency cap and quiet hours.

The cap counts *sends*, not message objects: a campaign of three bubbles is one marketing
message to the member. Every send writes its messages to the conversation log with one
timestamp (``members.conversations``), so distinct timestamps of a member's outbound marketing
messages are their sends. Failed messages do not count.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.db.models import Count, QuerySet
from django.utils import timezone

from linebot.models import Channel
from members.models import Direction, Member, Message, MessageSource, MessageStatus

from .models import SendingPolicy

JAPAN = ZoneInfo("Asia/Tokyo")

# members.MessageSource values that are marketing: they count toward the cap.
MARKETING_SOURCES = (MessageSource.CAMPAIGN.value, MessageSource.STEP.value)


def sending_policy(channel: Channel | int) -> SendingPolicy | None:
    """The channel's policy, or None when it has none (no cap, no quiet hours)."""
    channel_id = channel if isinstance(channel, int) else channel.pk
    return SendingPolicy.objects.filter(channel_id=channel_id).first()


def _marketing_sends(policy: SendingPolicy, now: dt.datetime | None) -> QuerySet:
    since = (now or timezone.now()) - dt.timedelta(days=policy.frequency_cap_days)
    return (
        Message.objects.filter(
            channel_id=policy.channel_id,
            direction=Direction.OUTBOUND,
            source__in=MARKETING_SOURCES,
            created_at__gte=since,
        )
        .exclude(status=MessageStatus.FAILED)
        .values("member_id")
        .annotate(sends=Count("created_at", distinct=True))
        .filter(sends__gte=policy.frequency_cap_count)
    )


def channel_has_frequency_cap(channel: Channel | int) -> bool:
    policy = sending_policy(channel)
    return policy is not None and policy.frequency_cap_count is not None


def over_cap_member_ids(channel: Channel | int, *, now: dt.datetime | None = None) -> QuerySet:
    """Ids of the channel's members at or over its cap, as a subquery for ``id__in``.

    Empty when the channel has no cap.
    """
    policy = sending_policy(channel)
    if policy is None or policy.frequency_cap_count is None:
        return Member.objects.none().values_list("pk", flat=True)
    return _marketing_sends(policy, now).values_list("member_id", flat=True)


def member_is_over_cap(member: Member, *, now: dt.datetime | None = None) -> bool:
    """Whether one more marketing message would take the member past the channel's cap."""
    policy = sending_policy(member.channel_id)
    if policy is None or policy.frequency_cap_count is None:
        return False
    return _marketing_sends(policy, now).filter(member_id=member.pk).exists()


def quiet_hours_end(channel: Channel | int, at: dt.datetime) -> dt.datetime | None:
    """When ``at`` falls in the channel's quiet hours, the (aware) time they end; else None.

    Quiet hours are Japan time, start inclusive, end exclusive, and may span midnight
    (22:00-08:00).
    """
    policy = sending_policy(channel)
    if policy is None or policy.quiet_hours_start is None or policy.quiet_hours_end is None:
        return None
    return quiet_window_end(policy.quiet_hours_start, policy.quiet_hours_end, at)


def quiet_window_end(start: dt.time, end: dt.time, at: dt.datetime) -> dt.datetime | None:
    """The end of the quiet window ``start``-``end`` (Japan time) containing ``at``, if any."""
    local = at.astimezone(JAPAN)
    clock = local.time().replace(tzinfo=None)
    if start < end:
        inside = start <= clock < end
        end_day = local.date()
    else:
        inside = clock >= start or clock < end
        end_day = local.date() + dt.timedelta(days=1) if clock >= start else local.date()
    if not inside:
        return None
    return dt.datetime.combine(end_day, end, tzinfo=JAPAN)
