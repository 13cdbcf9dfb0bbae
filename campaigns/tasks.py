from celery import shared_task
from django.db import OperationalError

from members.models import Member

from .autoreplies import autoreply_send
from .delivery import (
    BatchRetry,
    campaign_finish_if_done,
    campaign_fire,
    campaign_prepare,
    campaign_send_batch,
    campaign_send_pending,
    campaign_senders,
)
from .models import AutoReply, Campaign, CampaignStatus


@shared_task(ignore_result=True, acks_late=True)
def send_auto_reply(
    rule_id: int, member_id: int, reply_token: str | None, event_ms: int, event_id: str
) -> None:
    rule = AutoReply.objects.filter(pk=rule_id).first()
    member = Member.objects.select_related("channel").filter(pk=member_id).first()
    if rule and member:
        autoreply_send(
            rule=rule, member=member, reply_token=reply_token, event_ms=event_ms, event_id=event_id
        )


# A preparer that meets a deadlock or a lost connection carries on where it stopped.
@shared_task(
    ignore_result=True,
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=8,
)
def send_campaign(campaign_id: int) -> None:
    """Resolve the recipients (once) and queue the senders of the pending batches as soon as
    the first are written; safe to run again (a resumed campaign comes back here, and a
    preparer that stopped is carried on)."""
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None or campaign.status != CampaignStatus.SENDING:
        return
    queued = False

    def senders_queue() -> None:
        nonlocal queued
        if not queued:
            queued = True
            for _ in range(campaign_senders(campaign)):
                send_campaign_batches.delay(campaign_id)

    # Senders start on the first batches while the rest of the recipients are written.
    campaign_prepare(campaign, on_batches=senders_queue)
    campaign_finish_if_done(campaign_id)
    senders_queue()


def _retry_later(task, error: BatchRetry):
    countdown = min(2 ** min(task.request.retries, 6), 60)
    return task.retry(exc=error, countdown=countdown)


@shared_task(bind=True, ignore_result=True, acks_late=True, max_retries=None)
def send_campaign_batches(self, campaign_id: int) -> None:
    """A sender: the campaign's pending batches one after another, then again if time ran
    out; LINE still unavailable after the client's retries: again, later."""
    try:
        outcome = campaign_send_pending(campaign_id=campaign_id)
    except BatchRetry as error:
        raise _retry_later(self, error) from error
    if outcome == "more":
        send_campaign_batches.delay(campaign_id)


@shared_task(bind=True, ignore_result=True, acks_late=True, max_retries=None)
def send_campaign_batch(self, campaign_id: int, batch_id: int) -> None:
    """Send one given batch (a sender takes whichever is next)."""
    try:
        campaign_send_batch(campaign_id=campaign_id, batch_id=batch_id)
    except BatchRetry as error:
        raise _retry_later(self, error) from error
    campaign_finish_if_done(campaign_id)


@shared_task(bind=True, ignore_result=True, acks_late=True)
def send_scheduled_campaign(self, campaign_id: int) -> None:
    """Fired by the campaign's beat task (its time, its crontab, or the end of quiet hours).

    The message's id names the run, so a redelivered firing starts no second run.
    """
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is not None:
        campaign_fire(campaign, trigger=self.request.id or "")
