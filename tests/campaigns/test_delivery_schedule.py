"""Scheduled campaigns: the campaign owns a one-off django-celery-beat task at its time."""

import datetime as dt

import pytest
from django.utils import timezone
from django_celery_beat.models import ClockedSchedule, PeriodicTask

from campaigns import tasks
from campaigns.delivery import campaign_cancel, campaign_schedule, campaign_send
from campaigns.models import Campaign, CampaignStatus, MessageTemplate
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign():
    channel = ChannelFactory()
    template = MessageTemplate.objects.create(
        name="t", channel=channel, messages=[{"type": "text", "text": "hi"}]
    )
    return Campaign.objects.create(channel=channel, name="c", template=template, all_friends=True)


@pytest.fixture
def queued(monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.send_campaign, "delay", sent.append)
    return sent


def test_scheduling_creates_moves_and_beat_sees_one_task(campaign):
    at = timezone.now() + dt.timedelta(hours=2)
    campaign_schedule(campaign, at=at)
    campaign_schedule(campaign, at=at + dt.timedelta(hours=1))
    campaign.refresh_from_db()

    assert campaign.status == CampaignStatus.SCHEDULED
    assert campaign.scheduled_at == at + dt.timedelta(hours=1)
    task = PeriodicTask.objects.get()
    assert task == campaign.schedule_task
    assert (task.task, task.args, task.one_off) == (
        "campaigns.tasks.send_scheduled_campaign",
        f"[{campaign.pk}]",
        True,
    )
    assert task.clocked.clocked_time == at + dt.timedelta(hours=1)


def test_the_beat_task_starts_the_send_and_sending_now_drops_the_schedule(
    campaign, queued, django_capture_on_commit_callbacks
):
    campaign_schedule(campaign, at=timezone.now() + dt.timedelta(minutes=5))

    with django_capture_on_commit_callbacks(execute=True):
        tasks.send_scheduled_campaign(campaign.pk)
    campaign.refresh_from_db()

    assert campaign.status == CampaignStatus.SENDING
    assert queued == [campaign.pk]
    assert not PeriodicTask.objects.exists()
    assert not ClockedSchedule.objects.exists()
    # A second firing does nothing.
    tasks.send_scheduled_campaign(campaign.pk)
    campaign_send(campaign)
    assert queued == [campaign.pk]


def test_cancelling_a_scheduled_campaign_removes_its_beat_task(campaign):
    campaign_schedule(campaign, at=timezone.now() + dt.timedelta(days=1))

    assert campaign_cancel(campaign)

    assert not PeriodicTask.objects.exists()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED
