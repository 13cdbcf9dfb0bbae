"""Narrowcast: recipients uploaded as an audience, one narrowcast, progress followed to the end."""

from django.urls import reverse
from django.utils import translation

from campaigns.delivery import campaign_send
from campaigns.models import DeliveryStatus
from campaigns.narrowcast import narrowcast_error_text
from linebot.types import NarrowcastProgress
from members.models import FriendStatus, Member, Message, MessageSource
from members.timeline import member_timeline
from tests.campaigns.test_delivery import campaign_for, finished, friends, received


def test_a_narrowcast_reaches_each_recipient_once_through_faults(line_app, admin_client):
    admin_client.cookies["django_language"] = "en"
    user_ids = friends(line_app, 60)
    blocked = line_app.user(displayName="Gone")
    Member.objects.create(
        channel=line_app.channel, line_user_id=blocked, friend_status=FriendStatus.BLOCKED
    )
    campaign = campaign_for(
        line_app.channel, [{"type": "text", "text": "Big news"}], use_narrowcast=True
    )
    confirm = admin_client.get(reverse("admin:campaigns_campaign_send", args=[campaign.pk]))
    assert b"narrowcast to the recipients uploaded as a LINE audience" in confirm.content
    line_app.control.faults_set(
        [
            {"kind": "500", "path": "/v2/bot/message/narrowcast", "rate": 0.5},
            {"kind": "drop", "path": "/v2/bot/message/progress/narrowcast", "rate": 0.3},
        ],
        seed=4,
    )

    campaign_send(campaign)
    campaign = finished(campaign)
    line_app.control.faults_set([])

    assert (campaign.sent_count, campaign.skipped_count) == (60, 1)
    for user_id in user_ids:
        assert [m["message"]["text"] for m in received(line_app, user_id)] == ["Big news"]
    assert received(line_app, blocked) == []
    accepted = [
        r for r in line_app.control.requests(endpoint="narrowcast") if r["status"] in (202, 409)
    ]
    assert len({r["headers"].get("X-Line-Retry-Key") for r in accepted}) == 1
    audiences = line_app.control.audiences(line_app.channel.channel_id)
    assert len(audiences) == 1
    batch = campaign.batches.get()
    assert batch.audience_group_id == audiences[0]["audienceGroupId"]
    assert batch.deliveries.filter(status=DeliveryStatus.SENT).count() == 60
    logged = Message.objects.filter(source=MessageSource.CAMPAIGN, source_id=campaign.pk)
    assert list(logged.values_list("member", "audience_key")) == [(None, batch.retry_key)]
    for member in Member.objects.filter(line_user_id__in=user_ids):
        assert [entry.message.text for entry in member_timeline(member)] == ["Big news"]


def test_narrowcast_error_codes_read_as_sentences():
    progress = NarrowcastProgress(
        phase="failed", error_code=4, failed_description="audience too small"
    )
    with translation.override("en"):
        text = narrowcast_error_text(progress)
    assert text == (
        "narrowcast failed (errorCode 4): An audience of fewer than 50 recipients was part of "
        "the conditions. audience too small"
    )
