from celery import shared_task

from .webhook import webhook_event_handle


@shared_task(ignore_result=True)
def webhook_events_handle(event_ids: list[int]) -> None:
    for event_id in event_ids:
        webhook_event_handle(event_id)
