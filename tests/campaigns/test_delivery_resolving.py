"""Recipients resolved a chunk at a time: senders start on the first batches while the rest is
written; every target gets exactly one delivery and every batch is whole, whatever happens to
the preparer in between."""

import pytest
from django.utils import timezone

from campaigns import delivery
from campaigns.delivery import campaign_cancel, campaign_prepare, campaign_send
from campaigns.models import (
    CampaignRun,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    SendBatch,
    SendBatchStatus,
    SendingPolicy,
    SkipReason,
)
from members.models import FriendStatus, Member
from tests.campaigns.test_delivery import campaign_for
from tests.factories import ChannelFactory


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 5 then 8 targets and batches of 4, so that 30 targets take five chunks and
    batches straddle chunks (the production sizes need thousands of members to show it)."""
    monkeypatch.setattr(delivery, "RESOLVE_CHUNK_FIRST", 5)
    monkeypatch.setattr(delivery, "RESOLVE_CHUNK_MAX", 8)
    monkeypatch.setattr(delivery, "MAX_MULTICAST_RECIPIENTS", 4)


def targets(channel, count=30):
    """Friends, with every seventh blocked and every eleventh opted out: 30 make 23 to send."""
    members = [
        Member(
            channel=channel,
            line_user_id=f"U{n:032x}",
            friend_status=FriendStatus.BLOCKED if n % 7 == 3 else FriendStatus.FRIEND,
            marketing_opted_out_at=timezone.now() if n % 11 == 5 else None,
        )
        for n in range(count)
    ]
    return Member.objects.bulk_create(members)


def batches_of(campaign):
    """Each batch's number and its pending members' ids, in batch order."""
    rows = Delivery.objects.filter(campaign=campaign, status=DeliveryStatus.PENDING)
    by_batch = {}
    for number, member_id in rows.order_by("member_id").values_list("batch_number", "member_id"):
        by_batch.setdefault(number, []).append(member_id)
    return [by_batch[number] for number in sorted(by_batch)]


def test_sending_can_start_before_every_recipient_is_written(db, small_chunks):
    channel = ChannelFactory()
    members = targets(channel)
    campaign = campaign_for(channel, [{"type": "text", "text": "hi"}])
    campaign_send(campaign, send_limit=21)  # the rest of the monthly quota
    seen = []

    def on_batches():
        run = campaign.runs.get()
        seen.append((run.prepared_at, list(run.batches.values_list("number", flat=True))))

    assert campaign_prepare(campaign, on_batches=on_batches) == 21

    # After the first chunk (5 targets, 4 to send) batch 1 was ready and the run still open.
    assert seen == [(None, [1])]
    eligible = [
        m.pk for m in members if m.friend_status == "friend" and not m.marketing_opted_out_at
    ]
    # Batches of 4 in member id order, the last one partial; the quota's last two skipped.
    assert batches_of(campaign) == [eligible[n : min(n + 4, 21)] for n in range(0, 21, 4)]
    assert list(SendBatch.objects.filter(campaign=campaign).values_list("number", "status")) == [
        (n, SendBatchStatus.PENDING) for n in range(1, 7)
    ]
    reasons = dict(Delivery.objects.filter(campaign=campaign).values_list("member_id", "reason"))
    assert len(reasons) == 30  # one delivery per target, none twice
    assert [pk for pk, reason in reasons.items() if reason == SkipReason.QUOTA] == eligible[21:]
    assert sum(reason == SkipReason.BLOCKED for reason in reasons.values()) == 4
    assert sum(reason == SkipReason.OPTED_OUT for reason in reasons.values()) == 3
    run = campaign.runs.get()
    assert (run.total_count, run.skipped_count, run.resolved_count) == (30, 9, 21)
    assert run.prepared_at is not None
    campaign.refresh_from_db()
    assert (campaign.status, campaign.total_count, campaign.skipped_count) == (
        CampaignStatus.SENDING,
        30,
        9,
    )


def test_a_preparer_that_stopped_is_carried_on_without_writing_anyone_twice(db, small_chunks):
    channel = ChannelFactory()
    targets(channel)
    campaign = campaign_for(channel, [{"type": "text", "text": "hi"}])
    campaign_send(campaign)

    def crash():
        raise RuntimeError("worker lost")

    with pytest.raises(RuntimeError):
        campaign_prepare(campaign, on_batches=crash)
    run = CampaignRun.objects.get(campaign=campaign)
    assert run.prepared_at is None
    assert Delivery.objects.filter(run=run).count() == 5  # the first chunk stayed written

    assert campaign_prepare(campaign) == 23
    assert [len(batch) for batch in batches_of(campaign)] == [4, 4, 4, 4, 4, 3]
    assert Delivery.objects.filter(run=run).count() == 30
    assert campaign_prepare(campaign) == 23  # resolved: nothing more is written
    assert Delivery.objects.filter(run=run).count() == 30
    campaign.refresh_from_db()
    assert (campaign.total_count, campaign.skipped_count) == (30, 7)


def test_cancelling_while_recipients_are_written_stops_the_preparer(db, small_chunks):
    channel = ChannelFactory()
    targets(channel)
    campaign = campaign_for(channel, [{"type": "text", "text": "hi"}])
    campaign_send(campaign)

    campaign_prepare(campaign, on_batches=lambda: campaign_cancel(campaign))

    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED
    # Only the first chunk was written, and nothing of it is left to send.
    rows = Delivery.objects.filter(campaign=campaign)
    assert rows.count() == 5
    assert not rows.filter(status=DeliveryStatus.PENDING).exists()
    assert rows.filter(reason=SkipReason.CANCELLED).count() == 4
    assert not SendBatch.objects.filter(campaign=campaign, status=SendBatchStatus.PENDING).exists()


def test_a_send_under_a_frequency_cap_is_resolved_in_one_statement(db, small_chunks):
    """The cap's subquery reads the channel's recent marketing messages: once, not per chunk."""
    channel = ChannelFactory()
    targets(channel)
    SendingPolicy.objects.create(channel=channel, frequency_cap_count=3, frequency_cap_days=7)
    campaign = campaign_for(channel, [{"type": "text", "text": "hi"}])
    campaign_send(campaign)
    seen = []

    campaign_prepare(campaign, on_batches=lambda: seen.append(campaign.runs.get().prepared_at))

    assert len(seen) == 1 and seen[0] is not None  # the first batches came with the last
    assert [len(batch) for batch in batches_of(campaign)] == [4, 4, 4, 4, 4, 3]
