"""One webhook task also handles other requests' pending events (oldest first, bounded), so the
per-task cost is paid once for many requests; the later tasks of those requests do nothing, and
two workers draining at once never handle one event twice. With a shared Redis, a burst of
requests queues one drain task, not one each."""

import json
import socket
import threading

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from linebot import webhook
from linebot.models import WebhookEvent, WebhookEventStatus
from linebot.shared_redis import shared_redis
from linebot.tasks import webhook_events_drain, webhook_events_handle
from linebot.webhook import webhook_events_handle_batch, webhook_pending_drain
from members.models import Message
from tests.factories import ChannelFactory
from tests.members.test_webhook_batch import Events, post, user


def _receive(client, channel, events) -> list[int]:
    assert post(client, channel, events).status_code == 200
    return list(
        WebhookEvent.objects.filter(
            webhook_event_id__in=[event["webhookEventId"] for event in events]
        )
        .order_by("id")
        .values_list("id", flat=True)
    )


@pytest.mark.django_db
def test_one_task_handles_other_requests_pending_events_and_their_tasks_do_nothing(client):
    shop, cafe = ChannelFactory(), ChannelFactory()
    e = Events()
    first = _receive(client, shop, [e.text(user("ann"), "one"), e.text(user("bob"), "hi")])
    second = _receive(client, cafe, [e.text(user("cid"), "menu?")])
    third = _receive(client, shop, [e.text(user("ann"), "two"), e.text(user("ann"), "three")])

    # The first request's task (as the worker runs it) takes every pending event, all channels.
    webhook_events_handle.run(first)
    assert set(WebhookEvent.objects.values_list("status", "attempts")) == {
        (WebhookEventStatus.DONE, 1)
    }
    # Ann's messages across requests are logged in the order they were received.
    assert list(
        Message.objects.filter(member__line_user_id=user("ann"))
        .order_by("id")
        .values_list("text", flat=True)
    ) == ["one", "two", "three"]
    assert Message.objects.filter(member__channel=cafe).count() == 1

    # The tasks of the other requests find nothing and return after one query.
    for ids in (second, third):
        with CaptureQueriesContext(connection) as queries:
            webhook_events_handle.run(ids)
        statements = [q["sql"].split()[0] for q in queries.captured_queries]
        assert [s for s in statements if s not in ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")] == [
            "SELECT"
        ]
    assert Message.objects.count() == 5
    assert set(WebhookEvent.objects.values_list("attempts", flat=True)) == {1}


@pytest.mark.django_db
def test_the_drain_is_bounded_and_takes_the_oldest_first(client):
    channel = ChannelFactory()
    e = Events()
    requests = [
        _receive(client, channel, [e.text(user(f"u{n}"), f"m{n}") for _ in range(1)])
        for n in range(6)
    ]
    handled = webhook_events_handle_batch(requests[3], drain=4)
    # Its own event plus the three oldest others; the rest wait for their own tasks.
    assert sorted(event.pk for event in handled) == sorted(
        requests[0] + requests[1] + requests[2] + requests[3]
    )
    assert WebhookEvent.objects.filter(status=WebhookEventStatus.PENDING).count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_workers_draining_at_once_never_handle_one_event_twice(client):
    channel = ChannelFactory()
    e = Events()
    requests = [
        _receive(client, channel, [e.text(user(f"u{n % 7}"), f"m{n}-{k}") for k in range(5)])
        for n in range(40)
    ]
    taken: dict[str, list[int]] = {"a": [], "b": []}
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def worker(name: str, order: list[list[int]]) -> None:
        try:
            start.wait()
            for ids in order:
                events = webhook_events_handle_batch(ids, drain=15)
                taken[name] += [event.pk for event in events]
        except BaseException as error:  # reported by the test thread
            errors.append(error)
        finally:
            connection.close()  # each thread has its own PostgreSQL connection

    threads = [
        threading.Thread(target=worker, args=("a", requests)),
        threading.Thread(target=worker, args=("b", requests[::-1])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert not set(taken["a"]) & set(taken["b"])
    assert len(taken["a"]) + len(taken["b"]) == 200
    assert set(WebhookEvent.objects.values_list("status", "attempts")) == {
        (WebhookEventStatus.DONE, 1)
    }
    assert Message.objects.count() == 200


def _drains_queued() -> int:
    """Drain tasks waiting in the real broker's ``webhooks`` queue (Redis)."""
    broker = shared_redis(settings.CELERY_BROKER_URL)
    return sum(
        json.loads(raw)["headers"]["task"] == "linebot.tasks.webhook_events_drain"
        for raw in broker.lrange("webhooks", 0, -1)
    )


@pytest.fixture
def broker_queue():
    """The ``webhooks`` queue of the real broker, empty at the start and the end of the test."""
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("counts the messages in a Redis broker")
    broker = shared_redis(settings.CELERY_BROKER_URL)
    broker.delete("webhooks")
    yield
    broker.delete("webhooks")


@pytest.mark.django_db(transaction=True)  # requests commit: their drain requests run
def test_a_burst_of_requests_queues_one_drain_that_handles_them_all(client, broker_queue):
    channel = ChannelFactory()
    e = Events()
    for n in range(8):
        _receive(client, channel, [e.text(user(f"u{n}"), f"m{n}-{k}") for k in range(3)])
    assert _drains_queued() == 1

    # The worker runs the one queued drain: every request's events are handled.
    webhook_events_drain.run()
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"done"}
    assert Message.objects.count() == 24

    # Once a drain has started, the next request queues a drain of its own.
    _receive(client, channel, [e.text(user("late"), "after the drain began")])
    assert _drains_queued() == 2
    webhook_events_drain.run()
    assert Message.objects.filter(text="after the drain began").count() == 1


@pytest.mark.django_db(transaction=True)  # requests commit: their drain requests run
def test_a_full_drain_queues_the_next_one(client, broker_queue, monkeypatch):
    monkeypatch.setattr(webhook, "DRAIN_MAX_EVENTS", 4)
    channel = ChannelFactory()
    e = Events()
    _receive(client, channel, [e.text(user(f"u{n}"), f"m{n}") for n in range(6)])
    assert _drains_queued() == 1

    assert len(webhook_pending_drain()) == 4
    # More may wait (and later requests found the flag set): the next drain is queued.
    assert _drains_queued() == 2
    assert len(webhook_pending_drain()) == 2
    assert _drains_queued() == 2  # a partial batch emptied the queue: nothing more
    assert not WebhookEvent.objects.filter(status=WebhookEventStatus.PENDING).exists()


@pytest.mark.django_db(transaction=True)  # requests commit: their drain requests run
def test_without_a_shared_redis_every_request_queues_its_drain(client, broker_queue, settings):
    settings.SHARED_REDIS_URL = ""
    channel = ChannelFactory()
    e = Events()
    for n in range(3):
        _receive(client, channel, [e.text(user(f"u{n}"), f"m{n}")])
    assert _drains_queued() == 3


@pytest.mark.django_db(transaction=True)  # requests commit: their drain requests run
def test_an_unreachable_shared_redis_still_queues_the_drain(client, broker_queue, settings):
    settings.SHARED_REDIS_URL = f"redis://127.0.0.1:{_closed_port()}/0"
    channel = ChannelFactory()
    response = post(client, channel, [Events().text(user("ann"), "hello")])
    assert response.status_code == 200
    assert _drains_queued() == 1


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
