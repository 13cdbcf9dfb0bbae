"""A worker killed with SIGKILL in the middle of a send: restarted, it finishes exactly once."""

import os
import signal
import subprocess
import sys
import uuid

import pytest

from campaigns.delivery import campaign_send
from campaigns.models import CampaignStatus
from crm.celery import app as celery_app
from members.models import Message, MessageSource
from tests.campaigns.test_delivery import campaign_for, finished, friends, received
from tests.conftest import ALL_QUEUES, _test_database_url, wait_for


@pytest.fixture
def short_visibility(monkeypatch):
    """Workers started after this give an unacknowledged task back to the queue in seconds."""
    monkeypatch.setenv("CELERY_VISIBILITY_TIMEOUT", "3")
    monkeypatch.setenv("CELERY_UNACKED_RESTORE_INTERVAL", "1")


def start_worker(sandbox_url: str, media_root) -> subprocess.Popen:
    name = f"test-{uuid.uuid4().hex[:8]}@localhost"
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "LINE_SANDBOX_URL": sandbox_url,
        "MEDIA_ROOT": str(media_root),
    }
    command = [sys.executable, "-m", "celery", "-A", "crm", "worker", "--pool=solo"]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    command += ["-Q", ALL_QUEUES, "-n", name, "--loglevel=WARNING"]
    process = subprocess.Popen(command, env=env)
    assert wait_for(
        lambda: process.poll() is None and celery_app.control.ping(destination=[name], timeout=0.5),
        timeout=60,
    ), "The second Celery worker did not start."
    return process


def test_a_worker_killed_mid_send_and_restarted_messages_everyone_exactly_once(
    short_visibility, line_app, celery_worker_process, settings
):
    user_ids = friends(line_app, 300, prefix="Member")
    campaign = campaign_for(
        line_app.channel, [{"type": "text", "text": "For you, {{ member.display_name }}"}]
    )
    # Slow pushes, so the kill lands inside a batch of 100 (three batches in all): the second
    # batch's 100 pushes, PUSH_CONCURRENCY (32) at a time, take four rounds of 0.2 s, and its
    # outcomes are written only when all have been answered; the kill comes at its 50th.
    line_app.control.faults_set(
        [{"kind": "slow", "path": "/v2/bot/message/push", "rate": 1.0, "delay": 0.2}]
    )

    campaign_send(campaign)
    assert wait_for(
        lambda: len(line_app.control.requests(endpoint="push")) >= 150, timeout=120, interval=0.1
    )
    celery_worker_process.send_signal(signal.SIGKILL)
    celery_worker_process.wait(timeout=10)
    line_app.control.faults_set([])

    replacement = start_worker(line_app.sandbox.url, settings.MEDIA_ROOT)
    try:
        campaign = finished(campaign, timeout=180)
    finally:
        replacement.terminate()
        replacement.wait(timeout=20)

    assert campaign.status == CampaignStatus.DONE
    assert (campaign.sent_count, campaign.failed_count, campaign.skipped_count) == (300, 0, 0)
    for n, user_id in enumerate(user_ids):
        texts = [m["message"]["text"] for m in received(line_app, user_id)]
        assert texts == [f"For you, Member {n}"], user_id
    # The batch cut short was sent again with the same retry keys: LINE answered 409 for the
    # pushes it had already accepted, and nobody got a second copy.
    statuses = [r["status"] for r in line_app.control.requests(endpoint="push")]
    assert statuses.count(409) >= 1
    assert statuses.count(200) == 300
    logged = Message.objects.filter(source=MessageSource.CAMPAIGN, source_id=campaign.pk)
    assert logged.count() == 300
    assert logged.values("member").distinct().count() == 300
