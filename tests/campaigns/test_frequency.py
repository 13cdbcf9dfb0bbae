"""The sending policy: frequency cap counted across campaigns and steps, quiet hours in JST."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from campaigns.frequency import (
    MARKETING_SOURCES,
    member_is_over_cap,
    over_cap_member_ids,
    quiet_hours_end,
)
from campaigns.models import (
    Campaign,
    CampaignRun,
    Delivery,
    DeliveryStatus,
    MessageTemplate,
    SendingPolicy,
)
from members.models import Direction, FriendStatus, Member, Message, MessageStatus
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db
JST = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def channel():
    return ChannelFactory()


def member(channel, n):
    return Member.objects.create(
        channel=channel, line_user_id=f"U{n:032x}", friend_status=FriendStatus.FRIEND
    )


def sent(member, *, source, at, bubbles=1, status=MessageStatus.SENT):
    """One send to ``member``: ``bubbles`` message objects logged with one timestamp."""
    for _ in range(bubbles):
        Message.objects.create(
            channel_id=member.channel_id,
            member=member,
            direction=Direction.OUTBOUND,
            message_type="text",
            payload={"type": "text", "text": "x"},
            source=source,
            status=status,
            created_at=at,
        )


def test_the_cap_counts_campaign_and_step_sends_in_the_window(channel):
    SendingPolicy.objects.create(channel=channel, frequency_cap_count=2, frequency_cap_days=7)
    now = timezone.now()
    capped, under, old, not_marketing, failed = (member(channel, n) for n in range(5))
    sent(capped, source="campaign", at=now - dt.timedelta(days=1), bubbles=3)
    sent(capped, source="step", at=now - dt.timedelta(days=6))
    sent(under, source="campaign", at=now - dt.timedelta(hours=1), bubbles=2)
    sent(old, source="campaign", at=now - dt.timedelta(days=8))
    sent(old, source="step", at=now - dt.timedelta(days=1))
    sent(not_marketing, source="agent", at=now)
    sent(not_marketing, source="auto_reply", at=now)
    sent(not_marketing, source="campaign", at=now)
    sent(failed, source="campaign", at=now, status=MessageStatus.FAILED)
    sent(failed, source="campaign", at=now - dt.timedelta(minutes=1))

    assert MARKETING_SOURCES == ("campaign", "step")
    assert set(over_cap_member_ids(channel, now=now)) == {capped.pk}
    everyone = Member.objects.filter(channel=channel)
    assert set(everyone.exclude(id__in=over_cap_member_ids(channel))) == {
        under,
        old,
        not_marketing,
        failed,
    }
    assert member_is_over_cap(capped, now=now)
    assert not member_is_over_cap(under, now=now)
    # Seen from a week later, the old sends have left the window.
    assert not member_is_over_cap(capped, now=now + dt.timedelta(days=7))


def test_no_policy_or_no_cap_caps_nobody(channel):
    someone = member(channel, 1)
    sent(someone, source="campaign", at=timezone.now())
    assert list(over_cap_member_ids(channel)) == []
    assert not member_is_over_cap(someone)
    SendingPolicy.objects.create(channel=channel, frequency_cap_count=None)
    assert list(over_cap_member_ids(channel)) == []
    assert not member_is_over_cap(someone)


def test_a_multicast_logged_once_for_all_counts_for_each_member(channel):
    """A multicast batch's log entry has no member: its deliveries count the send. A push's
    delivery and its log entry share their time, so the push counts once."""
    SendingPolicy.objects.create(channel=channel, frequency_cap_count=2, frequency_cap_days=7)
    now = timezone.now()
    multicast, pushed, finished_long_ago = (member(channel, n) for n in range(3))
    template = MessageTemplate.objects.create(
        name="t", channel=channel, messages=[{"type": "text", "text": "x"}]
    )
    campaign = Campaign.objects.create(channel=channel, name="c", template=template)
    recent = CampaignRun.objects.create(campaign=campaign, number=1)
    old = CampaignRun.objects.create(
        campaign=campaign, number=2, finished_at=now - dt.timedelta(days=9)
    )

    def delivered(member, run, at):
        Delivery.objects.create(
            campaign=campaign, run=run, member=member, status=DeliveryStatus.SENT, sent_at=at
        )

    delivered(multicast, recent, now - dt.timedelta(days=2))
    sent(multicast, source="step", at=now - dt.timedelta(days=1))
    push_time = now - dt.timedelta(days=3)
    delivered(pushed, recent, push_time)
    sent(pushed, source="campaign", at=push_time)
    delivered(finished_long_ago, old, now - dt.timedelta(days=10))
    sent(finished_long_ago, source="step", at=now - dt.timedelta(days=1))

    assert set(over_cap_member_ids(channel, now=now)) == {multicast.pk}
    assert member_is_over_cap(multicast, now=now)
    assert not member_is_over_cap(pushed, now=now)


def test_quiet_hours_across_midnight_end_the_next_morning_in_japan(channel):
    assert quiet_hours_end(channel, timezone.now()) is None
    SendingPolicy.objects.create(
        channel=channel, quiet_hours_start=dt.time(22), quiet_hours_end=dt.time(8)
    )

    late = dt.datetime(2026, 5, 1, 23, 30, tzinfo=JST)
    early = dt.datetime(2026, 5, 2, 7, 59, tzinfo=JST)
    assert quiet_hours_end(channel, late) == dt.datetime(2026, 5, 2, 8, tzinfo=JST)
    assert quiet_hours_end(channel, early) == dt.datetime(2026, 5, 2, 8, tzinfo=JST)
    # The same instant given in UTC.
    assert quiet_hours_end(channel, late.astimezone(dt.UTC)) == dt.datetime(
        2026, 5, 2, 8, tzinfo=JST
    )
    assert quiet_hours_end(channel, dt.datetime(2026, 5, 2, 8, tzinfo=JST)) is None
    assert quiet_hours_end(channel, dt.datetime(2026, 5, 1, 21, 59, tzinfo=JST)) is None


def test_quiet_hours_within_one_day(channel):
    SendingPolicy.objects.create(
        channel=channel, quiet_hours_start=dt.time(12), quiet_hours_end=dt.time(13, 30)
    )
    assert quiet_hours_end(channel, dt.datetime(2026, 5, 1, 12, 15, tzinfo=JST)) == (
        dt.datetime(2026, 5, 1, 13, 30, tzinfo=JST)
    )
    assert quiet_hours_end(channel, dt.datetime(2026, 5, 1, 13, 30, tzinfo=JST)) is None
    assert quiet_hours_end(channel, dt.datetime(2026, 5, 1, 11, 0, tzinfo=JST)) is None


def test_quiet_hours_need_both_ends_at_different_times(channel):
    # The site's language is Japanese; the messages are read in English.
    with translation.override("en"):
        with pytest.raises(ValidationError, match="both ends"):
            SendingPolicy(channel=channel, quiet_hours_start=dt.time(22)).full_clean()
        with pytest.raises(ValidationError, match="another time"):
            SendingPolicy(
                channel=channel, quiet_hours_start=dt.time(22), quiet_hours_end=dt.time(22)
            ).full_clean()


def test_the_policy_admin_edits_a_channels_cap(admin_client, channel):
    admin_client.cookies["django_language"] = "en"
    response = admin_client.post(
        "/admin/campaigns/sendingpolicy/add/",
        {
            "channel": channel.pk,
            "frequency_cap_count": "3",
            "frequency_cap_days": "7",
            "quiet_hours_start": "21:00",
            "quiet_hours_end": "09:00",
        },
    )
    assert response.status_code == 302, response.content
    policy = SendingPolicy.objects.get(channel=channel)
    assert (policy.frequency_cap_count, policy.quiet_hours_start) == (3, dt.time(21))
    assert admin_client.get("/admin/campaigns/sendingpolicy/").status_code == 200
