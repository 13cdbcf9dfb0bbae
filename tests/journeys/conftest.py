"""Journeys through the real thing: a worker and beat in their own processes, the sandbox as
LINE over HTTP, and a clock file every process reads, so days pass without sleeping."""

import datetime as dt
import os
import subprocess
import sys
import time

import pytest

from journeys.clock import clock_set
from linebot.models import Channel
from members.models import FriendStatus, Member
from tests.conftest import _test_database_url


class Clock:
    def __init__(self, path):
        self.path = path
        self.now = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)  # 10:00 in Japan
        clock_set(path, self.now)

    def set(self, at: dt.datetime) -> None:
        self.now = at
        clock_set(self.path, at)

    def advance(self, **delta) -> dt.datetime:
        self.set(self.now + dt.timedelta(**delta))
        return self.now


@pytest.fixture
def clock(tmp_path, settings, monkeypatch):
    """The time journeys run on, in every process: set it before starting any process."""
    path = tmp_path / "clock"
    clock = Clock(path)
    settings.JOURNEYS_CLOCK_FILE = str(path)
    monkeypatch.setenv("JOURNEYS_CLOCK_FILE", str(path))
    return clock


def _celery(args, env, name):
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "crm", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE if os.environ.get("JOURNEYS_TEST_QUIET") else None,
    )


def _stop(process):
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def beat(clock, celery_worker_process, sandbox_server, tmp_path):
    """Celery beat (django-celery-beat's database scheduler) ticking the journeys every second."""
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "LINE_SANDBOX_URL": sandbox_server.url,
        "JOURNEYS_TICK_SECONDS": "1",
    }
    process = _celery(
        [
            "beat",
            "-S",
            "django_celery_beat.schedulers:DatabaseScheduler",
            "--max-interval",
            "1",
            "--pidfile",
            str(tmp_path / "beat.pid"),
            "--loglevel=WARNING",
        ],
        env,
        "beat",
    )
    time.sleep(1)
    if process.poll() is not None:
        pytest.fail("Celery beat did not start.")
    yield process
    _stop(process)


@pytest.fixture
def journeys(clock, line_app, beat):
    """The app, a worker, beat and the sandbox, on the test clock."""
    return line_app


def friends(line_app, count, *, prefix="Friend") -> list[Member]:
    """``count`` friends of the channel, in the sandbox and as members, without webhooks."""
    channel: Channel = line_app.channel
    line_app.control.channel_register(channel.channel_id, webhookActive=False)
    user_ids = [line_app.user(displayName=f"{prefix} {n}") for n in range(count)]
    members = Member.objects.bulk_create(
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
    line_app.control.channel_register(channel.channel_id, webhookActive=True)
    return members


def phone(line_app, member) -> list[dict]:
    """What the member's simulated phone received from the account, oldest first."""
    return [
        entry["message"]
        for entry in line_app.control.messages(line_app.channel.channel_id, member.line_user_id)
    ]


def texts(line_app, member) -> list[str]:
    return [m.get("text") or m.get("altText", "") for m in phone(line_app, member)]


@pytest.fixture
def line_channel(sandbox, settings, clock, transactional_db):
    """A channel on the sandbox, for tests that call the services in this process."""
    from tests.conftest import LineApp

    settings.LINE_PLATFORMS = {
        **settings.LINE_PLATFORMS,
        "sandbox": {"api": sandbox.url, "api_data": sandbox.url, "access": sandbox.url},
    }
    channel = Channel.objects.create(
        name="Test shop",
        channel_id="1650004321",
        channel_secret="0123456789abcdef0123456789abcdef",
        access_token="sandbox-access-token-for-journeys",
        platform="sandbox",
    )
    sandbox.control.channel_register(
        channel.channel_id,
        accessToken=channel.access_token,
        channelSecret=channel.channel_secret,
        webhookUrl="http://127.0.0.1:9/unused",
        name=channel.name,
    )
    return LineApp(channel=channel, sandbox=sandbox)


def template(channel, *messages, name="t"):
    from campaigns.models import MessageTemplate

    return MessageTemplate.objects.create(name=name, channel=channel, messages=list(messages))


def text(value):
    return {"type": "text", "text": value}


@pytest.fixture
def second_worker_process(celery_worker_process, sandbox_server, settings):
    """Another worker on the same queues: two schedulers really run at once."""
    import uuid

    from crm.celery import app as celery_app

    name = f"test-second-{uuid.uuid4().hex[:8]}@localhost"
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "LINE_SANDBOX_URL": sandbox_server.url,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    process = _celery(
        [
            "worker",
            "--pool=solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-Q",
            "default,sending,webhooks,housekeeping",
            "-n",
            name,
            "--loglevel=WARNING",
        ],
        env,
        name,
    )
    deadline = time.monotonic() + 60
    while not celery_app.control.ping(destination=[name], timeout=0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("The second Celery worker did not start.")
    yield process
    _stop(process)
