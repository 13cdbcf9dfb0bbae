from celery import shared_task

from members.models import Member

from .autoreplies import autoreply_send
from .delivery import (
    BatchRetry,
    campaign_finish_if_done,
    campaign_fire,
    campaign_pending_batches,
    campaign_prepare,
    campaign_send_batch,
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


@shared_task(ignore_result=True, acks_late=True)
def send_campaign(campaign_id: int) -> None:
    """Resolve the recipients (once) and queue every pending batch; safe to run again."""
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None or campaign.status != CampaignStatus.SENDING:
        return
    campaign_prepare(campaign)
    campaign_finish_if_done(campaign_id)
    for batch_id in campaign_pending_batches(campaign):
        send_campaign_batch.delay(campaign_id, batch_id)


@shared_task(bind=True, ignore_result=True, acks_late=True, max_retries=None)
def send_campaign_batch(self, campaign_id: int, batch_id: int) -> None:
    """Send one batch; LINE still unavailable after the client's retries: again, later."""
    try:
        campaign_send_batch(campaign_id=campaign_id, batch_id=batch_id)
    except BatchRetry as error:
        countdown = min(2 ** min(self.request.retries, 6), 60)
        raise self.retry(exc=error, countdown=countdown) from error


@shared_task(bind=True, ignore_result=True, acks_late=True)
def send_scheduled_campaign(self, campaign_id: int) -> None:
    """Fired by the campaign's beat task (its time, its crontab, or the end of quiet hours).

    The message's id names the run, so a redelivered firing starts no second run.
    """
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is not None:
        campaign_fire(campaign, trigger=self.request.id or "")
