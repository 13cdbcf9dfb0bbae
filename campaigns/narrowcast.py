"""Narrowcast for very large identical sends: upload the recipients as an audience, narrowcast
to it, and follow LINE's progress endpoint until it is done.

One batch holds the run's recipients (up to the 1.5 million ids an audience file takes). The
batch stores the audience id and then LINE's request id before anything else happens, and the
narrowcast carries the batch's retry key, so a crash or a retry never sends twice. LINE does not
say which member a failure hit, so the outcome applies to every member of the batch.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from linebot.client import client_for_channel
from linebot.types import NarrowcastProgress

from .models import Campaign, DeliveryStatus, SendBatch

# LINE's upload of an audience by file takes up to 1.5 million user ids.
NARROWCAST_BATCH_SIZE = 1_500_000

# LINE's errorCode of a failed narrowcast (GET /v2/bot/message/progress/narrowcast).
ERROR_CODES = {
    1: _("LINE had an internal error."),
    2: _("There were not enough recipients."),
    3: _("The same request had already been accepted."),
    4: _("An audience of fewer than 50 recipients was part of the conditions."),
    5: _("Cancelled so as not to reach only part of the audience."),
}
ALREADY_ACCEPTED = 3


class NarrowcastWaiting(Exception):
    """LINE accepted the narrowcast and is still sending: ask again later."""


def narrowcast_error_text(progress: NarrowcastProgress) -> str:
    """The failure as staff read it: LINE's code, its meaning, and LINE's description."""
    meaning = ERROR_CODES.get(progress.error_code or 0, _("Unknown error."))
    text = f"narrowcast failed (errorCode {progress.error_code}): {meaning}"
    if progress.failed_description:
        text += f" {progress.failed_description}"
    return text


def narrowcast_send_batch(campaign: Campaign, batch: SendBatch, messages: list) -> str:
    """Move the batch on: upload the audience, narrowcast, then check LINE's progress.

    Answers "" when LINE sent it, else the failure to record on each delivery; raises
    ``NarrowcastWaiting`` while LINE is sending; a ``LineApiError`` goes to the caller.
    """
    client = client_for_channel(campaign.channel)
    pending = batch.deliveries.filter(status=DeliveryStatus.PENDING)
    if not batch.request_id:
        if batch.audience_group_id is None:
            user_ids = pending.values_list("member__line_user_id", flat=True).order_by("pk")
            audience = client.audience_create_by_file(
                description=f"campaign {campaign.pk} run {batch.run.number} batch {batch.number}",
                user_ids=user_ids.iterator(chunk_size=10_000),
            )
            batch.audience_group_id = audience.audience_group_id
            SendBatch.objects.filter(pk=batch.pk).update(
                audience_group_id=audience.audience_group_id
            )
        result = client.narrowcast(
            messages=messages,
            recipient={"type": "audience", "audienceGroupId": batch.audience_group_id},
            retry_key=batch.retry_key,
        )
        batch.request_id = result.effective_request_id or ""
        SendBatch.objects.filter(pk=batch.pk).update(request_id=batch.request_id)
    progress = client.narrowcast_progress(request_id=batch.request_id)
    if not progress.is_finished:
        raise NarrowcastWaiting(f"narrowcast {progress.phase}")
    if progress.phase == "succeeded" or progress.error_code == ALREADY_ACCEPTED:
        return ""
    return narrowcast_error_text(progress)
