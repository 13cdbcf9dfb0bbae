"""Sending a campaign: recipients by one query, Delivery rows in bulk, then LINE requests.

Identical content goes by multicast, 500 members a request, each batch with a retry key stored
before the call; personalised content goes by push, with each delivery's own stored key. A
batch is sent inside a transaction holding its row lock: a crash rolls back its status, and the
repeat carries the same keys, so LINE answers 409 ("already accepted") instead of sending twice.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from linebot.client import client_for_channel
from linebot.endpoints import MAX_MULTICAST_RECIPIENTS
from linebot.errors import LineApiError, LineRateLimited, LineServerError, LineTransportError
from members.conversations import message_readable_text
from members.models import Direction, FriendStatus, Member, Message, MessageSource, MessageStatus
from members.segments import segment_compile

from .models import (
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    SendBatch,
    SendBatchStatus,
    SkipReason,
)
from .personalize import personalize_for_member, template_variables
from .ratelimit import rate_limit_wait

logger = logging.getLogger(__name__)

# Members per push batch: one task's worth of work, small enough to pause promptly.
PUSH_BATCH_SIZE = 100
WRITE_CHUNK = 2000


@dataclass(frozen=True)
class QuotaCheck:
    """What a send would use against the channel's monthly quota (``remaining`` None: no limit)."""

    recipients: int
    used: int | None = None
    limit: int | None = None
    remaining: int | None = None
    error: str = ""

    @property
    def over_quota(self) -> bool:
        return self.remaining is not None and self.recipients > self.remaining


def campaign_quota_check(campaign: Campaign) -> QuotaCheck:
    """Recipients now against LINE's quota and consumption (one message per recipient)."""
    recipients = campaign_recipients(campaign).count()
    try:
        client = client_for_channel(campaign.channel)
        quota, consumption = client.quota(), client.quota_consumption()
    except LineApiError as error:
        return QuotaCheck(recipients=recipients, error=str(error))
    used = consumption.total_usage
    if quota.type != "limited":
        return QuotaCheck(recipients=recipients, used=used)
    limit = quota.value or 0
    return QuotaCheck(recipients=recipients, used=used, limit=limit, remaining=max(limit - used, 0))


class BatchRetry(Exception):
    """LINE stayed unavailable (429, 5xx, no answer) through the client's retries: try later."""


def campaign_targets(campaign: Campaign) -> QuerySet[Member]:
    """Members the campaign aims at, before friendship and opt-out are checked (one query)."""
    members = Member.objects.filter(channel_id=campaign.channel_id)
    if not campaign.all_friends:
        segments = list(campaign.segments.all())
        if not segments:
            return members.none()
        include = Q()
        for segment in segments:
            include |= segment_compile(segment.definition)
        members = members.filter(include)
    for segment in campaign.excluded_segments.all():
        members = members.exclude(segment_compile(segment.definition))
    return members


def campaign_recipients(campaign: Campaign) -> QuerySet[Member]:
    """Who will be messaged: targets who are friends and did not opt out of marketing."""
    return campaign_targets(campaign).filter(
        friend_status=FriendStatus.FRIEND, marketing_opted_out_at__isnull=True
    )


def campaign_is_personalized(campaign: Campaign) -> bool:
    return bool(template_variables(campaign.template.messages))


def _chunks(values: Iterable, size: int) -> Iterator[list]:
    iterator = iter(values)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _skip_reason(friend_status: str, opted_out_at) -> str:
    if friend_status == FriendStatus.BLOCKED:
        return SkipReason.BLOCKED
    if friend_status != FriendStatus.FRIEND:
        return SkipReason.NOT_FRIEND
    return SkipReason.OPTED_OUT


def campaign_prepare(campaign: Campaign) -> int:
    """Resolve the recipients once and write their Delivery rows and batches, in chunks.

    Targets who blocked us, are not friends or opted out get a skipped row with the reason.
    Runs once per campaign (``prepared_at``); returns the number of recipients.
    """
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.prepared_at is not None:
            return campaign.total_count - campaign.skipped_count
        size = PUSH_BATCH_SIZE if campaign_is_personalized(campaign) else MAX_MULTICAST_RECIPIENTS
        recipients = campaign_recipients(campaign).order_by("pk").values_list("pk", flat=True)
        count = 0
        for number, member_ids in enumerate(
            _chunks(recipients.iterator(chunk_size=WRITE_CHUNK), size), start=1
        ):
            batch = SendBatch.objects.create(campaign=campaign, number=number)
            Delivery.objects.bulk_create(
                [Delivery(campaign=campaign, member_id=pk, batch=batch) for pk in member_ids]
            )
            count += len(member_ids)
        recipient_ids = campaign_recipients(campaign).filter(pk=OuterRef("pk"))
        skipped = (
            campaign_targets(campaign)
            .filter(~Exists(recipient_ids))
            .order_by("pk")
            .values_list("pk", "friend_status", "marketing_opted_out_at")
        )
        skipped_count = 0
        for rows in _chunks(skipped.iterator(chunk_size=WRITE_CHUNK), WRITE_CHUNK):
            Delivery.objects.bulk_create(
                [
                    Delivery(
                        campaign=campaign,
                        member_id=pk,
                        status=DeliveryStatus.SKIPPED,
                        reason=_skip_reason(status, opted_out_at),
                    )
                    for pk, status, opted_out_at in rows
                ]
            )
            skipped_count += len(rows)
        now = timezone.now()
        Campaign.objects.filter(pk=campaign.pk).update(
            prepared_at=now,
            started_at=now,
            status=CampaignStatus.SENDING,
            total_count=count + skipped_count,
            skipped_count=skipped_count,
        )
    return count


def campaign_pending_batches(campaign: Campaign) -> list[int]:
    """Ids of the batches still to send (a few thousand at most: 500 members each)."""
    return list(
        campaign.batches.filter(status=SendBatchStatus.PENDING)
        .order_by("number")
        .values_list("pk", flat=True)
    )


def _log_messages(campaign: Campaign, rows: Sequence[tuple[int, Sequence[dict]]], now) -> None:
    """Write what each member received to their conversation log, in one insert."""
    Message.objects.bulk_create(
        [
            Message(
                channel_id=campaign.channel_id,
                member_id=member_id,
                direction=Direction.OUTBOUND,
                message_type=payload.get("type", ""),
                payload=payload,
                text=message_readable_text(payload),
                source=MessageSource.CAMPAIGN,
                source_id=campaign.pk,
                status=MessageStatus.SENT,
                created_at=now,
            )
            for member_id, messages in rows
            for payload in messages
        ],
        batch_size=WRITE_CHUNK,
    )


def _is_transient(error: LineApiError) -> bool:
    if isinstance(error, LineRateLimited):
        return not error.is_monthly_limit
    return isinstance(error, LineServerError | LineTransportError)


def _campaign_is_sending(campaign_id: int) -> bool:
    status = Campaign.objects.filter(pk=campaign_id).values_list("status", flat=True).first()
    return status == CampaignStatus.SENDING


def campaign_send_batch(*, campaign_id: int, batch_id: int) -> str:
    """Send one pending batch, unless the campaign is no longer sending.

    Answers ``done``, ``stopped`` (paused or cancelled: rows stay pending), or ``busy`` (another
    worker holds the batch). Raises ``BatchRetry`` when LINE stayed unavailable.
    """
    with transaction.atomic():
        batch = (
            SendBatch.objects.select_for_update(skip_locked=True)
            .select_related("campaign__channel", "campaign__template")
            .filter(pk=batch_id, campaign_id=campaign_id)
            .first()
        )
        if batch is None:
            return "busy"
        if batch.status != SendBatchStatus.PENDING:
            return "done"
        SendBatch.objects.filter(pk=batch.pk).update(attempts=F("attempts") + 1)
        campaign = batch.campaign
        if not _campaign_is_sending(campaign.pk):
            return "stopped"
        retry: BatchRetry | None = None
        try:
            if campaign_is_personalized(campaign):
                finished = _send_pushes(campaign, batch)
            else:
                finished = _send_multicast(campaign, batch)
        except BatchRetry as error:
            # Committed with what went out so far; the repeat sends the rest with the same keys.
            SendBatch.objects.filter(pk=batch.pk).update(error=str(error))
            retry = error
            finished = False
        if finished:
            SendBatch.objects.filter(pk=batch.pk).update(
                status=SendBatchStatus.DONE, sent_at=timezone.now()
            )
    if retry is not None:
        raise retry
    if not finished:
        return "stopped"
    campaign_finish_if_done(campaign_id)
    return "done"


def _count(campaign: Campaign, *, sent: int = 0, failed: int = 0, skipped: int = 0) -> None:
    Campaign.objects.filter(pk=campaign.pk).update(
        sent_count=F("sent_count") + sent,
        failed_count=F("failed_count") + failed,
        skipped_count=F("skipped_count") + skipped,
    )


def _send_multicast(campaign: Campaign, batch: SendBatch) -> bool:
    deliveries = batch.deliveries.filter(status=DeliveryStatus.PENDING)
    rows = list(deliveries.values_list("pk", "member_id", "member__line_user_id"))
    if not rows:
        return True
    messages = campaign.template.messages
    client = client_for_channel(campaign.channel)
    rate_limit_wait(channel_id=campaign.channel.channel_id, endpoint="multicast")
    now = timezone.now()
    try:
        result = client.multicast(
            to=[user_id for _pk, _member, user_id in rows],
            messages=messages,
            retry_key=batch.retry_key,
        )
    except LineApiError as error:
        if _is_transient(error):
            raise BatchRetry(str(error)) from error
        deliveries.update(status=DeliveryStatus.FAILED, error=str(error), request_id=_rid(error))
        SendBatch.objects.filter(pk=batch.pk).update(error=str(error), request_id=_rid(error))
        _count(campaign, failed=len(rows))
        return True
    request_id = result.effective_request_id or ""
    deliveries.update(status=DeliveryStatus.SENT, sent_at=now, request_id=request_id)
    SendBatch.objects.filter(pk=batch.pk).update(request_id=request_id)
    _log_messages(campaign, [(member_id, messages) for _pk, member_id, _u in rows], now)
    _count(campaign, sent=len(rows))
    return True


def _rid(error: LineApiError) -> str:
    return getattr(error, "request_id", None) or ""


def _send_pushes(campaign: Campaign, batch: SendBatch) -> bool:
    """Push to each pending member of the batch; False if the campaign stopped meanwhile."""
    client = client_for_channel(campaign.channel)
    pending = (
        batch.deliveries.filter(status=DeliveryStatus.PENDING)
        .select_related("member")
        .order_by("pk")
    )
    sent_rows: list[tuple[int, Sequence[dict]]] = []
    sent = failed = skipped = 0
    finished = True
    try:
        for delivery in pending:
            if not _campaign_is_sending(campaign.pk):
                finished = False
                break
            member = delivery.member
            messages, problems = personalize_for_member(campaign.template.messages, member=member)
            if problems:
                Delivery.objects.filter(pk=delivery.pk).update(
                    status=DeliveryStatus.SKIPPED,
                    reason=SkipReason.INVALID,
                    error="; ".join(f"{p.path}: {p.message}" for p in problems),
                )
                skipped += 1
                continue
            rate_limit_wait(channel_id=campaign.channel.channel_id, endpoint="push")
            try:
                result = client.push(
                    to=member.line_user_id, messages=messages, retry_key=delivery.retry_key
                )
            except LineApiError as error:
                if _is_transient(error):
                    raise BatchRetry(str(error)) from error
                Delivery.objects.filter(pk=delivery.pk).update(
                    status=DeliveryStatus.FAILED, error=str(error), request_id=_rid(error)
                )
                failed += 1
                continue
            Delivery.objects.filter(pk=delivery.pk).update(
                status=DeliveryStatus.SENT,
                sent_at=timezone.now(),
                request_id=result.effective_request_id or "",
            )
            sent_rows.append((member.pk, messages))
            sent += 1
    except BatchRetry:
        _log_messages(campaign, sent_rows, timezone.now())
        _count(campaign, sent=sent, failed=failed, skipped=skipped)
        raise
    _log_messages(campaign, sent_rows, timezone.now())
    _count(campaign, sent=sent, failed=failed, skipped=skipped)
    return finished


def campaign_finish_if_done(campaign_id: int) -> bool:
    """Mark a sending campaign done once no delivery is pending."""
    pending = Delivery.objects.filter(campaign_id=campaign_id, status=DeliveryStatus.PENDING)
    return bool(
        Campaign.objects.filter(pk=campaign_id, status=CampaignStatus.SENDING)
        .exclude(Exists(pending))
        .update(status=CampaignStatus.DONE, finished_at=timezone.now())
    )


def campaign_schedule(campaign: Campaign, *, at) -> None:
    """Send at ``at`` through django-celery-beat; the campaign owns its one-off beat task.

    Scheduling again moves the time of the same task.
    """
    from django_celery_beat.models import ClockedSchedule, PeriodicTask

    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED):
            raise ValueError(f"campaign {campaign.pk} is {campaign.status}: too late to schedule")
        task = campaign.schedule_task
        if task is None:
            task = PeriodicTask.objects.create(
                name=f"campaign {campaign.pk}",
                task="campaigns.tasks.send_scheduled_campaign",
                args=json.dumps([campaign.pk]),
                clocked=ClockedSchedule.objects.create(clocked_time=at),
                one_off=True,
            )
        else:
            ClockedSchedule.objects.filter(pk=task.clocked_id).update(clocked_time=at)
            # Beat notices changes by this row's save (PeriodicTasks.changed).
            task.enabled = True
            task.save()
        Campaign.objects.filter(pk=campaign.pk).update(
            status=CampaignStatus.SCHEDULED, scheduled_at=at, schedule_task=task
        )


def campaign_unschedule(campaign: Campaign) -> None:
    """Remove the campaign's beat task (and its clocked time), if it has one."""
    from django_celery_beat.models import ClockedSchedule, PeriodicTask

    with transaction.atomic():
        task_id = Campaign.objects.filter(pk=campaign.pk).values("schedule_task_id")
        task = PeriodicTask.objects.filter(pk__in=task_id).first()
        if task is not None:
            clocked_id = task.clocked_id
            task.delete()
            ClockedSchedule.objects.filter(pk=clocked_id).delete()
        Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.SCHEDULED).update(
            status=CampaignStatus.DRAFT
        )


def campaign_send(campaign: Campaign) -> None:
    """Start sending now: the worker resolves the recipients and fans out the batches."""
    from .tasks import send_campaign

    with transaction.atomic():
        campaign_unschedule(campaign)
        updated = Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.DRAFT).update(
            status=CampaignStatus.SENDING
        )
        if updated:
            transaction.on_commit(lambda: send_campaign.delay(campaign.pk))


def campaign_pause(campaign: Campaign) -> bool:
    """Stop before the next LINE call; pending deliveries wait for ``campaign_resume``."""
    return bool(
        Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.SENDING).update(
            status=CampaignStatus.PAUSED
        )
    )


def campaign_resume(campaign: Campaign) -> bool:
    """Carry on a paused campaign: its pending batches are queued again."""
    from .tasks import send_campaign

    updated = Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.PAUSED).update(
        status=CampaignStatus.SENDING
    )
    if updated:
        transaction.on_commit(lambda: send_campaign.delay(campaign.pk))
    return bool(updated)


def campaign_cancel(campaign: Campaign) -> bool:
    """Stop for good: what is still pending is skipped as cancelled."""
    with transaction.atomic():
        updated = Campaign.objects.filter(
            pk=campaign.pk,
            status__in=[
                CampaignStatus.DRAFT,
                CampaignStatus.SCHEDULED,
                CampaignStatus.SENDING,
                CampaignStatus.PAUSED,
            ],
        ).update(status=CampaignStatus.CANCELLED, finished_at=timezone.now())
        if not updated:
            return False
        campaign_unschedule(campaign)
        skipped = Delivery.objects.filter(
            campaign_id=campaign.pk, status=DeliveryStatus.PENDING
        ).update(status=DeliveryStatus.SKIPPED, reason=SkipReason.CANCELLED)
        SendBatch.objects.filter(campaign_id=campaign.pk).update(status=SendBatchStatus.DONE)
        _count(campaign, skipped=skipped)
    return True
