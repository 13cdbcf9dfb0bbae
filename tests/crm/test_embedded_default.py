"""The set-based SQL of the hot paths also runs on the embedded default (SQLite), which the run
command uses: the rest of the suite runs on PostgreSQL only, and these statements are written
by hand (INSERT ... SELECT with window functions, UPDATE ... FROM, ON CONFLICT)."""

import json

from tests.crm.test_settings import run_django

SCRIPT = """
import datetime as dt, json, django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.utils import timezone
from campaigns.delivery import campaign_prepare
from campaigns.models import Campaign, CampaignStatus, Delivery, MessageTemplate, SendBatch
from linebot.models import Channel, WebhookEvent
from linebot.signature import signature_create
from linebot.webhook import webhook_events_handle_batch, webhook_receive
from members.bulk import rows_update
from members.conversations import messages_log_shared
from members.models import FriendStatus, Member, MemberEvent, Message, MessageSource, Segment
from members.segments import segment_count
from members.timeline import member_timeline

channel = Channel.objects.create(
    name="Shop", channel_id="1650000001", channel_secret="s" * 32, access_token="t"
)
def member(n, **fields):
    fields.setdefault("friend_status", FriendStatus.FRIEND)
    return Member.objects.create(channel=channel, line_user_id=f"U{n:032x}", **fields)
friends = [member(n) for n in range(5)]
blocked = member(5, friend_status=FriendStatus.BLOCKED)
opted_out = member(6, marketing_opted_out_at=timezone.now())
template = MessageTemplate.objects.create(
    name="t", channel=channel, messages=[{"type": "text", "text": "Sale"}]
)
campaign = Campaign.objects.create(
    channel=channel, name="c", template=template, all_friends=True, status=CampaignStatus.SENDING
)
to_send = campaign_prepare(campaign)
run = campaign.runs.get()
rows = list(Delivery.objects.filter(run=run).order_by("member_id").values_list(
    "status", "reason", "batch_number"))

logged = messages_log_shared(
    channel_id=channel.pk, audience_key=SendBatch.objects.get(run=run).retry_key,
    messages=[{"type": "text", "text": "Sale"}],
    source=MessageSource.CAMPAIGN, source_id=campaign.pk, created_at=timezone.now(),
)
updated = rows_update(
    Delivery,
    [{"pk": d.pk, "status": "sent", "request_id": f"r{d.member_id}"}
     for d in Delivery.objects.filter(run=run, status="pending")],
    ["status", "request_id"],
)

events = [
    {"type": "message", "mode": "active", "timestamp": 1790000000000 + n,
     "webhookEventId": f"01HSQLITE{n:017d}", "replyToken": "r" * 32,
     "deliveryContext": {"isRedelivery": False},
     "source": {"type": "user", "userId": f"U{100 + n:032x}"},
     "message": {"type": "text", "id": str(n), "text": f"hello {n}"}}
    for n in range(3)
]
body = json.dumps({"destination": None, "events": events}).encode()
signature = signature_create(channel_secret=channel.channel_secret, body=body)
receipt = webhook_receive(channel=channel, body=body, signature=signature)
again = webhook_receive(channel=channel, body=body, signature=signature)
handled = webhook_events_handle_batch(receipt.new_event_ids)

for n, value in enumerate((40000, 30000, 5000)):
    MemberEvent.objects.create(member=friends[n], kind="purchase", value=value,
                               occurred_at=timezone.now() - dt.timedelta(days=n))
MemberEvent.objects.create(member=friends[0], kind="purchase", value=25000,
                           occurred_at=timezone.now() - dt.timedelta(days=100))
spenders = Segment.objects.create(channel=channel, name="spenders", definition={
    "version": 1, "root": {"type": "group", "op": "and", "rules": [
        {"type": "event", "kind": "purchase", "days": 90, "measure": "sum",
         "op": "gte", "value": 30000}]}})
lifetime = Segment.objects.create(channel=channel, name="lifetime", definition={
    "version": 1, "root": {"type": "group", "op": "and", "rules": [
        {"type": "event", "kind": "purchase", "days": 0, "measure": "sum",
         "op": "gte", "value": 60000}]}})

print(json.dumps({
    "to_send": to_send, "rows": rows, "batches": SendBatch.objects.filter(run=run).count(),
    "logged": logged, "updated": updated,
    "sent_ids": sorted(Delivery.objects.filter(status="sent").values_list("request_id", flat=True)),
    "events": [receipt.received, len(receipt.new_event_ids), len(again.new_event_ids)],
    "handled": sorted(e.status for e in handled),
    "inbound": sorted(Message.objects.filter(direction="in").values_list("text", flat=True)),
    "timeline": [entry.message.text for entry in member_timeline(friends[0])],
    "received": segment_count(Segment.objects.create(channel=channel, name="got it", definition={
        "version": 1, "root": {"type": "group", "op": "and", "rules": [
            {"type": "received_campaign", "campaign": campaign.pk}]}})),
    "spenders": segment_count(spenders), "lifetime": segment_count(lifetime),
}))
"""


def test_hot_paths_run_on_the_embedded_sqlite_default(tmp_path):
    result = run_django(SCRIPT, env={}, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    values = json.loads(result.stdout.strip().splitlines()[-1])

    # One INSERT ... SELECT wrote every delivery: friends pending in batch 1, the rest skipped.
    assert values["to_send"] == 5
    assert values["rows"] == [["pending", "", 1]] * 5 + [
        ["skipped", "blocked", None],
        ["skipped", "opted_out", None],
    ]
    assert values["batches"] == 1
    # The multicast's log (once for the batch) and the pushes' outcomes; the members who were
    # sent it see it in their conversation and are found by "received the campaign".
    assert values["logged"] == 1 and values["updated"] == 5
    assert values["timeline"] == ["Sale"]
    assert values["received"] == 5
    assert values["sent_ids"] == sorted(f"r{n}" for n in range(1, 6))
    # Webhooks: stored once (the repeat stores nothing), handled as one batch.
    assert values["events"] == [3, 3, 0]
    assert values["handled"] == ["done"] * 3
    assert values["inbound"] == ["hello 0", "hello 1", "hello 2"]
    # Event sums add up the events themselves here (no totals kept without PostgreSQL).
    assert values["spenders"] == 2  # 40,000 and 30,000 in 90 days; 5,000 is not enough
    assert values["lifetime"] == 1  # 40,000 + 25,000 ever
