"""Campaign sends through a real worker and the sandbox over HTTP: once each, under faults."""

import json
import time

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from campaigns.delivery import (
    campaign_cancel,
    campaign_pause,
    campaign_prepare,
    campaign_recipients,
    campaign_resume,
    campaign_send,
)
from campaigns.models import (
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    MessageTemplate,
    SendBatch,
    SkipReason,
)
from campaigns.tasks import send_campaign_batch
from linebot.client import client_for_channel
from linebot.shared_redis import shared_redis
from members.conversations import messages_log_sent_each
from members.models import FriendStatus, Member, Message, MessageSource, Segment
from members.timeline import member_timeline
from tests.conftest import wait_for
from tests.factories import ChannelFactory

ALL = {"version": 1, "root": {"type": "group", "op": "and", "rules": []}}
FAULTS = [
    {"kind": "500", "path": "/v2/bot/message/*", "rate": 0.25},
    {"kind": "429", "path": "/v2/bot/message/*", "rate": 0.2},
    {"kind": "drop", "path": "/v2/bot/message/*", "rate": 0.1},
    {"kind": "timeout", "path": "/v2/bot/message/*", "rate": 0.1, "delay": 0.05},
]


def friends(line_app, count, *, prefix="Friend"):
    """``count`` friends of the channel, in the sandbox and as members, without webhooks."""
    channel = line_app.channel
    line_app.control.channel_register(channel.channel_id, webhookActive=False)
    user_ids = [line_app.user(displayName=f"{prefix} {n}") for n in range(count)]
    Member.objects.bulk_create(
        [
            Member(
                channel=channel,
                line_user_id=user_id,
                display_name=f"{prefix} {n}",
                friend_status=FriendStatus.FRIEND,
            )
            for n, user_id in enumerate(user_ids)
        ]
    )
    return user_ids


def campaign_for(channel, messages, **fields):
    template = MessageTemplate.objects.create(name="t", channel=channel, messages=messages)
    campaign = Campaign.objects.create(channel=channel, name="c", template=template, **fields)
    segment = Segment.objects.create(channel=channel, name=f"all {campaign.pk}", definition=ALL)
    campaign.segments.add(segment)
    return campaign


def received(line_app, user_id):
    return line_app.control.messages(line_app.channel.channel_id, user_id)


def finished(campaign, timeout=120):
    def check():
        campaign.refresh_from_db()
        return campaign.status in (CampaignStatus.DONE, CampaignStatus.CANCELLED)

    assert wait_for(check, timeout=timeout), campaign.status
    return campaign


def test_recipients_leave_out_blocked_opted_out_and_excluded(db):
    channel = ChannelFactory()
    rank = {"version": 1, "root": {"type": "group", "op": "and", "rules": [
        {"type": "rank", "values": ["gold"]}
    ]}}  # fmt: skip
    make = iter(range(100))

    def member(**fields):
        return Member.objects.create(
            channel=channel,
            line_user_id=f"U{next(make):032x}",
            friend_status=fields.pop("friend_status", FriendStatus.FRIEND),
            **fields,
        )

    keep, gold = member(), member(rank="gold")
    blocked = member(friend_status=FriendStatus.BLOCKED)
    opted_out = member(marketing_opted_out_at=timezone.now())
    campaign = campaign_for(channel, [{"type": "text", "text": "hi"}])
    campaign.excluded_segments.add(
        Segment.objects.create(channel=channel, name="gold", definition=rank)
    )

    assert set(campaign_recipients(campaign)) == {keep}
    assert campaign_prepare(campaign) == 1
    reasons = dict(Delivery.objects.filter(campaign=campaign).values_list("member_id", "reason"))
    assert reasons == {
        keep.pk: "",
        blocked.pk: SkipReason.BLOCKED,
        opted_out.pk: SkipReason.OPTED_OUT,
    }
    assert gold.pk not in reasons
    # Preparing again writes nothing twice.
    assert campaign_prepare(campaign) == 1
    assert Delivery.objects.filter(campaign=campaign).count() == 3


def test_deleting_a_member_or_a_campaign_deletes_its_deliveries_and_log(db):
    """The tables written per recipient have no foreign keys checked by the database: Django's
    deletion is what removes a member's rows (a right to erasure) and a campaign's."""
    channel = ChannelFactory()
    ann, bob = (
        Member.objects.create(
            channel=channel, line_user_id=f"U{n:032x}", friend_status=FriendStatus.FRIEND
        )
        for n in (1, 2)
    )
    campaign = campaign_for(channel, [{"type": "text", "text": "hi"}])
    campaign_prepare(campaign)
    run = campaign.runs.get()
    assert run.deliveries.count() == 2
    messages_log_sent_each(
        channel_id=channel.pk,
        sent=[
            (ann.pk, [{"type": "text", "text": "hi"}]),
            (bob.pk, [{"type": "text", "text": "hi"}]),
        ],
        source=MessageSource.CAMPAIGN,
        source_id=campaign.pk,
        created_at=timezone.now(),
    )
    assert Message.objects.filter(member=ann).count() == 1

    ann.delete()
    assert not Delivery.objects.filter(member_id=ann.pk).exists()
    assert not Message.objects.filter(member_id=ann.pk).exists()
    assert Message.objects.filter(member=bob).count() == 1

    campaign.delete()
    assert not Delivery.objects.filter(campaign_id=campaign.pk).exists()
    assert not SendBatch.objects.filter(campaign_id=campaign.pk).exists()


def test_multicast_reaches_every_friend_exactly_once_under_faults(line_app):
    channel = line_app.channel
    user_ids = friends(line_app, 1050)
    blocked = line_app.user(displayName="Gone")
    Member.objects.create(channel=channel, line_user_id=blocked, friend_status=FriendStatus.BLOCKED)
    line_app.control.block(channel.channel_id, blocked)
    messages = [{"type": "text", "text": "Sale today"}]
    campaign = campaign_for(channel, messages)
    line_app.control.faults_set(FAULTS, seed=8)

    campaign_send(campaign)
    campaign = finished(campaign)
    line_app.control.faults_set([])

    assert campaign.status == CampaignStatus.DONE
    assert (campaign.sent_count, campaign.failed_count, campaign.skipped_count) == (1050, 0, 1)
    for user_id in user_ids:
        assert [m["message"]["text"] for m in received(line_app, user_id)] == ["Sale today"]
    assert received(line_app, blocked) == []
    accepted = [
        r for r in line_app.control.requests(endpoint="multicast") if r["status"] in (200, 409)
    ]
    assert all(len(r["body"]["to"]) <= 500 for r in accepted)
    assert len({r["headers"].get("X-Line-Retry-Key") for r in accepted}) == 3
    # Logged once per batch; every friend's conversation shows it once.
    logged = Message.objects.filter(source=MessageSource.CAMPAIGN, source_id=campaign.pk)
    assert list(logged.values_list("member", "text")) == [(None, "Sale today")] * 3
    for member in Member.objects.filter(channel=channel, friend_status=FriendStatus.FRIEND):
        assert [entry.message.text for entry in member_timeline(member)] == ["Sale today"]
    assert member_timeline(Member.objects.get(line_user_id=blocked)) == []


def test_personalised_push_reaches_each_member_once_under_faults(line_app):
    user_ids = friends(line_app, 40, prefix="Hanako")
    campaign = campaign_for(
        line_app.channel, [{"type": "text", "text": "Hello {{ member.display_name }}"}]
    )
    line_app.control.faults_set(FAULTS, seed=3)

    campaign_send(campaign)
    campaign = finished(campaign)
    line_app.control.faults_set([])

    assert campaign.sent_count == 40
    for n, user_id in enumerate(user_ids):
        texts = [m["message"]["text"] for m in received(line_app, user_id)]
        assert texts == [f"Hello Hanako {n}"]
    logged = Message.objects.filter(source=MessageSource.CAMPAIGN, source_id=campaign.pk)
    assert sorted(logged.values_list("text", flat=True)) == sorted(
        f"Hello Hanako {n}" for n in range(40)
    )


def test_an_already_accepted_retry_key_counts_as_sent(line_app):
    user_ids = friends(line_app, 3)
    messages = [{"type": "text", "text": "Once"}]
    campaign = campaign_for(line_app.channel, messages, status=CampaignStatus.SENDING)
    campaign_prepare(campaign)
    batch = campaign.batches.get()
    # As if a worker died after LINE accepted the batch and before it stored the outcome.
    client_for_channel(line_app.channel).multicast(
        to=user_ids, messages=messages, retry_key=batch.retry_key
    )

    from campaigns.tasks import send_campaign

    send_campaign.delay(campaign.pk)
    campaign = finished(campaign)

    assert campaign.sent_count == 3
    assert [r["status"] for r in line_app.control.requests(endpoint="multicast")] == [200, 409]
    for user_id in user_ids:
        assert len(received(line_app, user_id)) == 1


def _prepared(line_app, count):
    """A personalised campaign with its deliveries written, its batches not yet sent."""
    user_ids = friends(line_app, count)
    campaign = campaign_for(
        line_app.channel,
        [{"type": "text", "text": "Hi {{ member.display_name }}"}],
        status=CampaignStatus.SENDING,
    )
    campaign_prepare(campaign)
    return campaign, user_ids


def _run_batches(campaign):
    """Queue every batch on the worker and wait until the worker has taken and finished each
    task (the broker holds none of them, neither queued nor unacknowledged)."""
    broker = shared_redis(settings.CELERY_BROKER_URL)
    ids = {send_campaign_batch.delay(campaign.pk, batch.pk).id for batch in campaign.batches.all()}

    def held() -> set[str]:
        return {json.loads(raw)[0]["headers"]["id"] for raw in broker.hvals("unacked")} & ids

    assert wait_for(lambda: broker.llen("sending") == 0 and not held())


def test_a_paused_campaign_sends_nothing_until_resumed(line_app):
    campaign, user_ids = _prepared(line_app, 5)

    assert campaign_pause(campaign)
    _run_batches(campaign)
    time.sleep(0.5)
    assert line_app.control.requests(endpoint="push") == []
    assert Delivery.objects.filter(campaign=campaign, status=DeliveryStatus.PENDING).count() == 5

    assert campaign_resume(campaign)
    campaign = finished(campaign)
    assert campaign.status == CampaignStatus.DONE
    assert campaign.sent_count == 5
    assert all(len(received(line_app, u)) == 1 for u in user_ids)


def test_cancel_skips_what_is_left(line_app):
    campaign, _user_ids = _prepared(line_app, 5)

    assert campaign_cancel(campaign)
    _run_batches(campaign)
    time.sleep(0.5)
    campaign.refresh_from_db()

    assert line_app.control.requests(endpoint="push") == []
    assert campaign.status == CampaignStatus.CANCELLED
    assert (campaign.skipped_count, campaign.remaining_count) == (5, 0)
    assert set(Delivery.objects.filter(campaign=campaign).values_list("reason", flat=True)) == {
        SkipReason.CANCELLED
    }
    assert not campaign_resume(campaign)


def test_the_confirm_page_stops_a_send_over_the_monthly_quota(line_app, admin_client):
    friends(line_app, 3)
    campaign = campaign_for(line_app.channel, [{"type": "text", "text": "Big sale"}])
    line_app.control.quota_set(line_app.channel.channel_id, 10, usage=8)
    url = reverse("admin:campaigns_campaign_send", args=[campaign.pk])

    page = admin_client.get(url)
    check = page.context["check"]
    assert (check.recipients, check.limit, check.used, check.remaining) == (3, 10, 8, 2)
    assert check.over_quota

    admin_client.post(url)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT
    assert line_app.control.requests(endpoint="multicast") == []

    line_app.control.quota_set(line_app.channel.channel_id, None)
    admin_client.post(url)
    campaign = finished(campaign)
    assert campaign.sent_count == 3
