from celery import shared_task

from linebot.errors import LineNotFound, LineRateLimited, LineServerError, LineTransportError

from .content import message_content_store
from .linking import account_link_start_send, link_rate_snapshot
from .models import Member, Message
from .profiles import member_profile_needed, member_profile_refresh

RETRYABLE = (LineServerError, LineTransportError, LineRateLimited)


@shared_task(
    ignore_result=True, autoretry_for=RETRYABLE, retry_backoff=5, max_retries=5, acks_late=True
)
def webhook_member_profile_refresh(member_id: int) -> None:
    # Kept for tasks queued before the batch version; new follows use the one below.
    webhook_member_profiles_refresh(member_ids=[member_id])


@shared_task(
    ignore_result=True, autoretry_for=RETRYABLE, retry_backoff=5, max_retries=5, acks_late=True
)
def webhook_member_profiles_refresh(member_ids: list[int]) -> None:
    """The profiles of a webhook batch's new followers; a retry skips the ones already fetched."""
    members = Member.objects.select_related("channel").filter(pk__in=member_ids).order_by("pk")
    for member in members:
        if member_profile_needed(member):
            member_profile_refresh(member)


@shared_task(
    ignore_result=True, autoretry_for=RETRYABLE, retry_backoff=5, max_retries=5, acks_late=True
)
def webhook_message_content_fetch(message_id: int) -> None:
    message = Message.objects.select_related("channel").filter(pk=message_id).first()
    if message:
        try:
            message_content_store(message)
        except LineNotFound:
            # Expired or unsent at LINE before we got to it: nothing left to keep.
            return


@shared_task(ignore_result=True)
def send_account_link_start(member_id: int, reply_token: str | None) -> None:
    member = Member.objects.select_related("channel").filter(pk=member_id).first()
    if member:
        account_link_start_send(member=member, reply_token=reply_token)


@shared_task(ignore_result=True)
def housekeeping_link_rate_snapshot() -> None:
    link_rate_snapshot()
