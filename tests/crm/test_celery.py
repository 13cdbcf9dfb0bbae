import os

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from crm.celery import app as celery_app
from crm.tasks import housekeeping_ping


@pytest.mark.worker
def test_task_runs_in_a_worker_process_through_the_broker(celery_worker_process):
    result = housekeeping_ping.delay().get(timeout=30)

    assert result["pong"] is True
    assert result["database"] == "postgresql"
    assert result["pid"] == celery_worker_process.pid != os.getpid()


def test_tasks_are_routed_to_queues_by_kind():
    router = celery_app.amqp.router

    def queue_of(name):
        return router.route({}, name)["queue"].name

    assert queue_of("crm.tasks.housekeeping_ping") == "housekeeping"
    assert queue_of("campaigns.tasks.send_campaign_batch") == "sending"
    assert queue_of("linebot.tasks.webhook_event_handle") == "webhooks"
    assert queue_of("members.tasks.something_else") == "default"


def test_beat_schedule_entry_created_in_the_admin_is_picked_up_by_beat(admin_client):
    every_ten = IntervalSchedule.objects.create(every=10, period=IntervalSchedule.MINUTES)

    response = admin_client.post(
        "/admin/django_celery_beat/periodictask/add/",
        {
            "name": "Ping workers",
            "regtask": "crm.tasks.housekeeping_ping",
            "interval": every_ten.pk,
            "args": "[]",
            "kwargs": "{}",
            "enabled": "on",
            "headers": "{}",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    task = PeriodicTask.objects.get(name="Ping workers")
    assert task.task == "crm.tasks.housekeeping_ping"
    schedule = DatabaseScheduler(app=celery_app, lazy=True).all_as_schedule()
    assert schedule["Ping workers"].task == "crm.tasks.housekeeping_ping"
    assert schedule["Ping workers"].schedule.run_every.total_seconds() == 600
