"""One webhook task also handles other requests' pending events (oldest first, bounded), so the
per-task cost is paid once for many requests; the later tasks of those requests do nothing, and
two workers draining at once never handle one event twice."""

import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from linebot.models import WebhookEvent, WebhookEventStatus
from linebot.tasks import webhook_events_handle
from linebot.webhook import webhook_events_handle_batch
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
