import os
import subprocess
import sys
import time
import uuid
from urllib.parse import quote

import pytest
from django.db import connection

from crm.celery import app as celery_app

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


@pytest.fixture
def celery_worker_process(transactional_db):
    """A real Celery worker in its own process, on the test database, through the real broker."""
    name = f"test-{uuid.uuid4().hex[:8]}@localhost"
    env = {**os.environ, "DATABASE_URL": _test_database_url()}
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
