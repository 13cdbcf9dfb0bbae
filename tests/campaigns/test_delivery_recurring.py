"""Repeating campaigns: a crontab beat task the campaign owns; each run messages a member once."""

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from campaigns import tasks
from campaigns.delivery import campaign_cancel, campaign_schedule_recurring
from campaigns.models import Campaign, CampaignStatus, Delivery, MessageTemplate
from tests.campaigns.test_delivery import campaign_for, friends, received
from tests.conftest import _test_database_url, wait_for
from tests.factories import ChannelFactory


@pytest.fixture
def beat_process(celery_worker_process, tmp_path):
    """A real celery beat on the test database, with the database scheduler."""
    env = {**os.environ, "DATABASE_URL": _test_database_url()}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "crm",
            "beat",
            "--scheduler=django_celery_beat.schedulers:DatabaseScheduler",
            f"--pidfile={tmp_path / 'beat.pid'}",
            "--loglevel=WARNING",
        ],
        env=env,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def test_beat_fires_a_repeating_campaign_once_per_minute_and_cancel_stops_it(
    line_app, beat_process
):
    user_ids = friends(line_app, 3)
    campaign = campaign_for(
        line_app.channel, [{"type": "text", "text": "Daily deal"}], crontab="* * * * *"
    )
    campaign_schedule_recurring(campaign)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SCHEDULED

    def two_runs_done():
        return campaign.runs.filter(finished_at__isnull=False).count() >= 2

    assert wait_for(two_runs_done, timeout=150, interval=1)
    assert campaign_cancel(campaign)
    campaign.refresh_from_db()

    assert campaign.status == CampaignStatus.CANCELLED
    assert not PeriodicTask.objects.filter(name__startswith=f"campaign {campaign.pk}").exists()
    runs = campaign.runs.count()
    assert runs >= 2
    for run in campaign.runs.filter(finished_at__isnull=False):
        assert (run.sent_count, run.failed_count, run.skipped_count) == (3, 0, 0)
    # Every run reached every member once: one message per member per finished run.
    finished_runs = campaign.runs.filter(finished_at__isnull=False, sent_count=3).count()
    for user_id in user_ids:
        texts = [m["message"]["text"] for m in received(line_app, user_id)]
        assert texts == ["Daily deal"] * finished_runs
    assert Delivery.objects.filter(campaign=campaign, status="sent").count() == 3 * finished_runs


@pytest.fixture
def campaign(db):
    channel = ChannelFactory()
    template = MessageTemplate.objects.create(
        name="t", channel=channel, messages=[{"type": "text", "text": "hi"}]
    )
    return Campaign.objects.create(channel=channel, name="c", template=template, all_friends=True)


def test_editing_the_crontab_moves_the_same_task_and_deleting_removes_it(campaign):
    campaign.crontab = "0 10 * * 1"
    campaign.save()
    campaign_schedule_recurring(campaign)
    task = PeriodicTask.objects.get()
    assert (task.crontab.hour, task.crontab.day_of_week, str(task.crontab.timezone)) == (
        "10",
        "1",
        "Asia/Tokyo",
    )

    Campaign.objects.filter(pk=campaign.pk).update(crontab="30 18 * * *")
    campaign_schedule_recurring(campaign)
    task = PeriodicTask.objects.get()
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("30", "18", "*")
    campaign.refresh_from_db()
    assert campaign.schedule_task == task

    campaign.refresh_from_db()
    campaign.delete()
    assert not PeriodicTask.objects.exists()


def test_a_redelivered_firing_starts_no_second_run(
    campaign, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(tasks.send_campaign, "delay", lambda pk: None)
    campaign.crontab = "0 10 * * *"
    campaign.save()
    campaign_schedule_recurring(campaign)

    with django_capture_on_commit_callbacks(execute=True):
        tasks.send_scheduled_campaign.apply(args=[campaign.pk], task_id="beat-message-1")
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SCHEDULED)
    tasks.send_scheduled_campaign.apply(args=[campaign.pk], task_id="beat-message-1")

    assert list(campaign.runs.values_list("number", "trigger")) == [(1, "beat-message-1")]


def test_a_bad_crontab_is_refused_naming_the_field(campaign):
    campaign.crontab = "0 25 * * *"
    with pytest.raises(ValidationError, match="hour"):
        campaign.full_clean()
    campaign.crontab = "0 10 * *"
    with pytest.raises(ValidationError, match="five fields"):
        campaign.full_clean()


def test_the_admin_form_schedules_a_repeating_campaign(admin_client, campaign):
    admin_client.cookies["django_language"] = "en"
    url = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    form = {
        "channel": campaign.channel_id,
        "name": "Weekly",
        "template": campaign.template_id,
        "crontab": "0 9 * * 1",
        "respect_quiet_hours": "on",
        "all_friends": "on",
        "apply_frequency_cap": "on",
        "holdout_percent": "0",
        "variants-TOTAL_FORMS": "0",
        "variants-INITIAL_FORMS": "0",
    }
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SCHEDULED
    assert campaign.schedule_task.crontab.hour == "9"
    listing = admin_client.get(reverse("admin:campaigns_campaign_changelist"))
    assert b"Repeats: 0 9 * * 1" in listing.content
