import datetime as dt

from celery import shared_task

from .webhook import (
    DRAIN_MAX_EVENTS,
    webhook_events_handle_batch,
    webhook_events_requeue_stale,
    webhook_pending_drain,
)


@shared_task(ignore_result=True)
def webhook_events_handle(event_ids: list[int]) -> None:
    webhook_events_handle_batch(event_ids, drain=DRAIN_MAX_EVENTS)


@shared_task(ignore_result=True)
def webhook_events_drain() -> None:
    """The oldest pending events, whichever requests brought them (``webhook_drain_request``)."""
    webhook_pending_drain()


@shared_task(ignore_result=True)
def housekeeping_webhook_events_requeue() -> None:
    webhook_events_requeue_stale(older_than=dt.timedelta(minutes=5))
