"""A channel's sending policy: the marketing frequency cap and quiet hours.

The cap counts *sends*, not message objects: a campaign of three bubbles is one marketing
message to the member. Every send writes its messages to the conversation log with one
timestamp (``members.conversations``), and a campaign's deliveries carry the same time, so
distinct timestamps of a member's marketing messages and campaign deliveries are their sends
(a multicast is logged once for all its members: its deliveries count it). Failed messages do
not count.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from linebot.models import Channel
from members.models import Direction, Member, Message, MessageSource, MessageStatus

from .models import CampaignRun, Delivery, DeliveryStatus, SendingPolicy

JAPAN = ZoneInfo("Asia/Tokyo")

# members.MessageSource values that are marketing: they count toward the cap.
MARKETING_SOURCES = (MessageSource.CAMPAIGN.value, MessageSource.STEP.value)


def sending_policy(channel: Channel | int) -> SendingPolicy | None:
    """The channel's policy, or None when it has none (no cap, no quiet hours)."""
    channel_id = channel if isinstance(channel, int) else channel.pk
    return SendingPolicy.objects.filter(channel_id=channel_id).first()


def _over_cap_sql(
    policy: SendingPolicy, now: dt.datetime | None, member_id: int | None = None
) -> RawSQL:
    """Ids of members with at least the cap's number of sends in its window: the distinct
    times of their marketing messages logged per member (steps, campaign pushes) together
    with the times their campaign deliveries were sent (a multicast is logged once for all
    its members; a push's delivery and log entry share their time, so it counts once)."""
    since = (now or timezone.now()) - dt.timedelta(days=policy.frequency_cap_days)
    logged = Message.objects.filter(
        channel_id=policy.channel_id,
        direction=Direction.OUTBOUND,
        source__in=MARKETING_SOURCES,
        member__isnull=False,
        created_at__gte=since,
    ).exclude(status=MessageStatus.FAILED)
    # Runs that can have sent in the window; their deliveries are read by run.
    runs = CampaignRun.objects.filter(campaign__channel_id=policy.channel_id).filter(
        Q(finished_at__isnull=True) | Q(finished_at__gte=since)
    )
    delivered = Delivery.objects.filter(
        run__in=runs.values("pk"), status=DeliveryStatus.SENT, sent_at__gte=since
    )
    if member_id is not None:
        logged = logged.filter(member_id=member_id)
        delivered = delivered.filter(member_id=member_id)
    logged_sql, logged_params = (
        logged.order_by().values_list("member_id", "created_at").query.sql_with_params()
    )
    sent_sql, sent_params = (
        delivered.order_by().values_list("member_id", "sent_at").query.sql_with_params()
    )
    # Both queries are Django's own SQL (the UNION drops a push counted twice); the cap is a
    # parameter.
    return RawSQL(  # noqa: S611
        f"SELECT sends.member_id FROM ({logged_sql} UNION {sent_sql}) sends "  # noqa: S608
        "GROUP BY sends.member_id HAVING COUNT(*) >= %s",
        (*logged_params, *sent_params, policy.frequency_cap_count),
    )


def _cap_policy(channel: Channel | int) -> SendingPolicy | None:
    """The channel's policy if it caps marketing messages, else None."""
    policy = sending_policy(channel)
    return policy if policy is not None and policy.frequency_cap_count is not None else None


def channel_has_frequency_cap(channel: Channel | int) -> bool:
    return _cap_policy(channel) is not None


def over_cap_member_ids(channel: Channel | int, *, now: dt.datetime | None = None) -> QuerySet:
    """Ids of the channel's members at or over its cap, as a subquery for ``id__in``.

    Empty when the channel has no cap.
    """
    policy = _cap_policy(channel)
    if policy is None:
        return Member.objects.none().values_list("pk", flat=True)
    return Member.objects.filter(id__in=_over_cap_sql(policy, now)).values_list("pk", flat=True)


def member_is_over_cap(member: Member, *, now: dt.datetime | None = None) -> bool:
    """Whether one more marketing message would take the member past the channel's cap."""
    policy = _cap_policy(member.channel_id)
    if policy is None:
        return False
    over = _over_cap_sql(policy, now, member_id=member.pk)
    return Member.objects.filter(pk=member.pk, id__in=over).exists()


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
