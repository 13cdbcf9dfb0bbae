import os
import subprocess
import sys
import time
import uuid
from urllib.parse import quote

import pytest
from django.db import connection

from crm.celery import app as celery_app

pytest_plugins = ["tests.sandbox_fixtures"]

ALL_QUEUES = "default,sending,webhooks,housekeeping"


def _test_database_url() -> str:
    """The URL of the database this test run uses, for processes the test starts."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"])
    host = db["HOST"] or "127.0.0.1"
    port = db["PORT"] or 5432
    return f"postgres://{credentials}@{host}:{port}/{db['NAME']}"


@pytest.fixture(autouse=True)
def _webhook_drain_flag_cleared():
    """Every test starts with no webhook drain marked as queued (the flag lives in Redis, which
    outlives a test: a flag left by one test would keep the next from queuing its drain)."""
    from linebot.shared_redis import shared_redis
    from linebot.webhook import DRAIN_FLAG_KEY

    client = shared_redis()
    if client is not None:
        client.delete(DRAIN_FLAG_KEY)


@pytest.fixture
def celery_worker_process(transactional_db, sandbox_server, settings, tmp_path):
    """A real Celery worker in its own process, on the test database, through the real broker.

    It talks to the test's sandbox as LINE and stores media under the test's MEDIA_ROOT.
    """
    settings.MEDIA_ROOT = tmp_path / "media"
    name = f"test-{uuid.uuid4().hex[:8]}@localhost"
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "LINE_SANDBOX_URL": sandbox_server.url,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "crm",
            "worker",
            "--pool=solo",
            "--purge",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-Q",
            ALL_QUEUES,
            "-n",
            name,
            "--loglevel=WARNING",
        ],
        env=env,
    )
    deadline = time.monotonic() + 60
    while not celery_app.control.ping(destination=[name], timeout=0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("The Celery worker did not start.")
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def line_app(live_server, sandbox, settings, celery_worker_process):
    """The whole thing over HTTP: the app served live, a worker, and the sandbox as LINE.

    The sandbox posts signed webhooks to the channel's real webhook URL on the live server.
    """
    from linebot.models import Channel, Platform

    settings.SITE_URL = live_server.url
    settings.LINE_PLATFORMS = {
        **settings.LINE_PLATFORMS,
        "sandbox": {"api": sandbox.url, "api_data": sandbox.url, "access": sandbox.url},
    }
    channel = Channel.objects.create(
        name="Test shop",
        channel_id="1650001234",
        channel_secret="0123456789abcdef0123456789abcdef",
        access_token="sandbox-access-token-for-tests",
        platform=Platform.SANDBOX,
    )
    registered = sandbox.control.channel_register(
        channel.channel_id,
        accessToken=channel.access_token,
        channelSecret=channel.channel_secret,
        webhookUrl=channel.webhook_url,
        name=channel.name,
    )
    channel.bot_user_id = registered["botUserId"]
    channel.save()
    return LineApp(channel=channel, sandbox=sandbox)


class LineApp:
    def __init__(self, *, channel, sandbox):
        self.channel = channel
        self.sandbox = sandbox
        self.control = sandbox.control

    def user(self, *, follow=True, **profile):
        """A simulated LINE user of the channel (a friend unless ``follow=False``)."""
        answer = self.control.user_create(self.channel.channel_id, follow=follow, **profile)
        return answer["user"]["userId"]


def wait_for(check, *, timeout=20.0, interval=0.05):
    """Poll until ``check()`` is truthy (work done by the worker process) and return it."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


LOGIN_CHANNEL_ID = "2000009999"
LOGIN_CHANNEL_SECRET = "fedcba9876543210fedcba9876543210"


@pytest.fixture
def line_login(line_app, live_server):
    """LINE Login configured: a SocialApp tied to the channel, and the sandbox's Login channel."""
    from allauth.socialaccount.models import SocialApp
    from django.contrib.sites.models import Site

    app = SocialApp.objects.create(
        provider="line", name="LINE Login", client_id=LOGIN_CHANNEL_ID, secret=LOGIN_CHANNEL_SECRET
    )
    app.sites.add(Site.objects.get_current())
    line_app.channel.login_app = app
    line_app.channel.save()
    line_app.control.login_channel_register(
        LOGIN_CHANNEL_ID,
        channel_secret=LOGIN_CHANNEL_SECRET,
        messaging_channel_id=line_app.channel.channel_id,
        callback_urls=[f"{live_server.url}/accounts/line/login/callback/"],
    )
    return line_app
