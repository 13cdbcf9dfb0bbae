"""Frequency cap, quiet hours, sending up to the quota and results by reason, end to end."""

import datetime as dt

from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from campaigns.delivery import campaign_results, campaign_send
from campaigns.frequency import JAPAN
from campaigns.models import CampaignStatus, Delivery, SendingPolicy, SkipReason
from members.models import Direction, FriendStatus, Member, Message, MessageStatus
from tests.campaigns.test_delivery import campaign_for, finished, friends, received
from tests.factories import ChannelFactory


def _step_message(member, *, at):
    Message.objects.create(
        channel_id=member.channel_id,
        member=member,
        direction=Direction.OUTBOUND,
        message_type="text",
        payload={"type": "text", "text": "step"},
        source="step",
        status=MessageStatus.SENT,
        created_at=at,
    )


def test_members_at_the_cap_are_skipped_and_the_campaign_counts_toward_it(line_app):
    user_ids = friends(line_app, 4)
    channel = line_app.channel
    SendingPolicy.objects.create(channel=channel, frequency_cap_count=2, frequency_cap_days=7)
    members = list(Member.objects.filter(channel=channel).order_by("pk"))
    yesterday = timezone.now() - dt.timedelta(days=1)
    # Member 0 had two step messages this week: at the cap. Member 1 had one: under it.
    _step_message(members[0], at=yesterday)
    _step_message(members[0], at=yesterday - dt.timedelta(hours=1))
    _step_message(members[1], at=yesterday)

    first = finished(_send(campaign_for(channel, [{"type": "text", "text": "Sale 1"}])))
    assert (first.sent_count, first.skipped_count) == (3, 1)
    skipped = Delivery.objects.get(campaign=first, status="skipped")
    assert (skipped.member_id, skipped.reason) == (members[0].pk, SkipReason.FREQUENCY_CAP)
    assert received(line_app, user_ids[0]) == []

    # The campaign itself counted: member 1 is now at the cap too.
    second = finished(_send(campaign_for(channel, [{"type": "text", "text": "Sale 2"}])))
    assert second.sent_count == 2
    assert [m["message"]["text"] for m in received(line_app, user_ids[1])] == ["Sale 1"]
    assert [m["message"]["text"] for m in received(line_app, user_ids[2])] == ["Sale 1", "Sale 2"]

    # A campaign that ignores the cap (say, a service notice) reaches everyone.
    notice = campaign_for(channel, [{"type": "text", "text": "Notice"}], apply_frequency_cap=False)
    assert finished(_send(notice)).sent_count == 4


def _send(campaign):
    assert campaign_send(campaign).outcome == "started"
    return campaign


def test_a_send_in_quiet_hours_waits_for_their_end(db):
    channel = ChannelFactory()
    now = dt.datetime(2026, 6, 1, 23, 0, tzinfo=JAPAN)
    SendingPolicy.objects.create(
        channel=channel, quiet_hours_start=dt.time(21), quiet_hours_end=dt.time(9)
    )
    campaign = campaign_for(channel, [{"type": "text", "text": "Good morning"}])

    start = campaign_send(campaign, now=now)

    morning = dt.datetime(2026, 6, 2, 9, 0, tzinfo=JAPAN)
    assert (start.outcome, start.until) == ("deferred", morning)
    campaign.refresh_from_db()
    assert (campaign.status, campaign.scheduled_at) == (CampaignStatus.SCHEDULED, morning)
    assert PeriodicTask.objects.get().clocked.clocked_time == morning
    # Outside the quiet hours it goes at once, and so does a campaign that ignores them.
    assert campaign_send(campaign, now=morning).outcome == "started"
    other = campaign_for(channel, [{"type": "text", "text": "Now"}], respect_quiet_hours=False)
    assert campaign_send(other, now=now).outcome == "started"


def test_staff_can_send_up_to_the_remaining_quota(line_app, admin_client):
    admin_client.cookies["django_language"] = "en"
    user_ids = friends(line_app, 5)
    campaign = campaign_for(line_app.channel, [{"type": "text", "text": "Limited"}])
    line_app.control.quota_set(line_app.channel.channel_id, 10, usage=7)
    url = reverse("admin:campaigns_campaign_send", args=[campaign.pk])

    page = admin_client.get(url)
    assert b"Send to the first 3 recipients only" in page.content

    response = admin_client.post(url, {"up_to_quota": "1"})
    assert response.status_code == 302
    campaign = finished(campaign)

    assert (campaign.sent_count, campaign.skipped_count) == (3, 2)
    # The first members (by when they became members) got it; the rest were skipped.
    assert [len(received(line_app, user_id)) for user_id in user_ids] == [1, 1, 1, 0, 0]
    reasons = Delivery.objects.filter(campaign=campaign, status="skipped")
    assert set(reasons.values_list("reason", flat=True)) == {SkipReason.QUOTA}
    change = admin_client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
    assert b"Beyond the monthly quota" in change.content


def test_results_group_skips_and_line_errors_by_reason(line_app, admin_client):
    admin_client.cookies["django_language"] = "en"
    friends(line_app, 2)
    channel = line_app.channel
    # Two members LINE does not know (left long ago): their pushes fail with LINE's message.
    for n in range(2):
        Member.objects.create(
            channel=channel, line_user_id=f"U{n + 1:032x}", friend_status=FriendStatus.FRIEND
        )
    Member.objects.create(
        channel=channel, line_user_id=f"U{9:032x}", friend_status=FriendStatus.BLOCKED
    )
    campaign = campaign_for(channel, [{"type": "text", "text": "Hi {{ member.display_name }}"}])

    campaign = finished(_send(campaign))

    results = campaign_results(campaign)
    assert results.sent == 2
    assert results.skipped == [("Blocked the account", 1)]
    assert results.failed == [("400 Failed to send messages", 2)]
    page = admin_client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
    assert b"Results of run 1" in page.content
    assert b"400 Failed to send messages" in page.content
