"""Journeys' Celery tasks: thin wrappers; the work is in ``stepsend`` and ``triggers``."""

from celery import shared_task
from django.conf import settings

from .models import Sequence, SequenceTrigger
from .sequences import sequences_enter_segment_members
from .stepsend import CHUNK, step_sends_deliver, steps_claim_due
from .triggers import trigger_send_deliver, trigger_sends_due


@shared_task(ignore_result=True)
def send_due_steps(fanout: int | None = None) -> dict:
    """Beat, every few seconds: send every due step, then queue the due trigger messages.

    When a full chunk is due, ``fanout - 1`` helpers (``fanout=1``) are queued so that all
    sending workers share the work; skip-locked claims keep them on separate members.
    """
    fanout = settings.JOURNEYS_SEND_FANOUT if fanout is None else fanout
    totals = {"sent": 0, "failed": 0, "deferred": 0, "skipped": 0, "chunks": 0}
    while True:
        claimed, ids = steps_claim_due()
        if not claimed:
            break
        if totals["chunks"] == 0 and claimed >= CHUNK:
            for _helper in range(fanout - 1):
                send_due_steps.delay(fanout=1)
        totals["chunks"] += 1
        if ids:
            for key, value in step_sends_deliver(ids).items():
                totals[key] += value
    if fanout > 1:
        for send_id in trigger_sends_due():
            send_trigger.delay(send_id)
    return totals


@shared_task(ignore_result=True)
def send_trigger(send_id: int) -> None:
    trigger_send_deliver(send_id)


@shared_task(ignore_result=True)
def housekeeping_sequence_segments() -> None:
    """Enter the members who joined a segment-triggered sequence's segment."""
    for sequence in Sequence.objects.filter(
        trigger=SequenceTrigger.SEGMENT_ENTERED, is_active=True
    ).select_related("trigger_segment"):
        sequences_enter_segment_members(sequence)
