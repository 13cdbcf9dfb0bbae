"""The campaign admin pages: list, form with recipient preview, confirm, progress, controls."""

import pytest
from django.urls import reverse

from campaigns.models import Campaign, CampaignStatus, MessageTemplate
from members.models import FriendStatus, Member, Segment
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db
ALL = {"version": 1, "root": {"type": "group", "op": "and", "rules": []}}


@pytest.fixture
def admin_client(admin_client):
    admin_client.cookies["django_language"] = "en"
    return admin_client


@pytest.fixture
def campaign():
    channel = ChannelFactory()
    for n in range(3):
        Member.objects.create(
            channel=channel,
            line_user_id=f"U{n:032x}",
            friend_status=FriendStatus.BLOCKED if n == 2 else FriendStatus.FRIEND,
        )
    template = MessageTemplate.objects.create(
        name="t", channel=channel, messages=[{"type": "text", "text": "hi"}]
    )
    campaign = Campaign.objects.create(channel=channel, name="Autumn sale", template=template)
    campaign.segments.add(Segment.objects.create(channel=channel, name="all", definition=ALL))
    return campaign


def test_pages_render_with_the_recipient_count(admin_client, campaign):
    assert admin_client.get(reverse("admin:campaigns_campaign_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:campaigns_campaign_add")).status_code == 200
    page = admin_client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
    assert b"2 members would receive it now." in page.content

    confirm = admin_client.get(reverse("admin:campaigns_campaign_send", args=[campaign.pk]))
    assert confirm.status_code == 200
    assert confirm.context["check"].recipients == 2
    assert b"Confirm and send now" in confirm.content


def test_progress_and_controls(admin_client, campaign):
    Campaign.objects.filter(pk=campaign.pk).update(
        status=CampaignStatus.SENDING, total_count=10, sent_count=4, skipped_count=1
    )
    progress = admin_client.get(reverse("admin:campaigns_campaign_progress", args=[campaign.pk]))
    assert progress.json() == {
        "status": "sending",
        "statusLabel": "Sending",
        "total": 10,
        "sent": 4,
        "failed": 0,
        "skipped": 1,
        "remaining": 5,
    }
    control = reverse("admin:campaigns_campaign_control", args=[campaign.pk])
    assert admin_client.post(control, {"action": "pause"}).status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PAUSED
    page = admin_client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
    assert b'value="resume"' in page.content
    admin_client.post(control, {"action": "cancel"})
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED
