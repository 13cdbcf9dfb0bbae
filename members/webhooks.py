"""Handling LINE webhook events for members: who follows, blocks, writes, taps.

Handlers run in a worker inside the event's transaction (see ``linebot.webhook``). They only
touch the database; calls to LINE (profile, content, replies) run as tasks after commit.
"""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from linebot.models import WebhookEvent
from linebot.webhook import webhook_handler

from . import signals
from .conversations import message_record_inbound
from .models import FriendStatus, Member, Message

MEDIA_TYPES = {"image", "video", "audio", "file"}


def _event_time(event: WebhookEvent) -> dt.datetime:
    return event.occurred_at


def member_for_event(event: WebhookEvent, *, lock: bool = True) -> Member | None:
    """The member a 1:1 event is from, created on first sight (unknown friend status)."""
    source = event.payload.get("source") or {}
    user_id = source.get("userId")
    if source.get("type") != "user" or not user_id:
        return None
    member, _created = Member.objects.get_or_create(channel=event.channel, line_user_id=user_id)
    if lock:
        member = Member.objects.select_for_update().get(pk=member.pk)
    return member


@webhook_handler("follow")
def handle_follow(event: WebhookEvent) -> None:
    from .tasks import webhook_member_profile_refresh

    member = member_for_event(event)
    if member is None:
        return
    when = _event_time(event)
    is_unblocked = bool((event.payload.get("follow") or {}).get("isUnblocked"))
    if member.followed_at is None or when >= member.followed_at:
        member.friend_status = FriendStatus.FRIEND
        member.followed_at = when
    member.first_followed_at = member.first_followed_at or when
    member.save(update_fields=["friend_status", "followed_at", "first_followed_at", "updated_at"])
    member_id = member.pk
    transaction.on_commit(lambda: webhook_member_profile_refresh.delay(member_id))
    signals.member_followed.send(
        sender=Member, member=member, event=event.payload, is_unblocked=is_unblocked
    )


@webhook_handler("unfollow")
def handle_unfollow(event: WebhookEvent) -> None:
    member = member_for_event(event)
    if member is None:
        return
    when = _event_time(event)
    # An older unfollow delivered late must not undo a newer follow.
    if member.followed_at is None or when >= member.followed_at:
        member.friend_status = FriendStatus.BLOCKED
        member.blocked_at = when
        member.save(update_fields=["friend_status", "blocked_at", "updated_at"])
    signals.member_blocked.send(sender=Member, member=member, event=event.payload)


@webhook_handler("message")
def handle_message(event: WebhookEvent) -> None:
    from .tasks import webhook_message_content_fetch

    member = member_for_event(event, lock=False)
    if member is None:
        return
    message = message_record_inbound(member=member, event=event.payload)
    provider = (event.payload["message"].get("contentProvider") or {}).get("type", "line")
    if message.message_type in MEDIA_TYPES and provider == "line":
        message_id = message.pk
        transaction.on_commit(lambda: webhook_message_content_fetch.delay(message_id))
    signals.message_received.send(
        sender=Member, member=member, message=message, event=event.payload
    )


@webhook_handler("postback")
def handle_postback(event: WebhookEvent) -> None:
    member = member_for_event(event, lock=False)
    if member is None:
        return
    message_record_inbound(member=member, event=event.payload)
    postback = event.payload.get("postback") or {}
    signals.postback_received.send(
        sender=Member,
        member=member,
        data=postback.get("data", ""),
        params=postback.get("params") or {},
        event=event.payload,
    )


@webhook_handler("unsend")
def handle_unsend(event: WebhookEvent) -> None:
    """LINE asks that an unsent message be hidden: drop its text, payload and content."""
    message_id = (event.payload.get("unsend") or {}).get("messageId")
    messages = Message.objects.filter(channel=event.channel, line_message_id=message_id or "-")
    for message in messages.select_for_update():
        if message.content:
            message.content.delete(save=False)
        message.payload = {"type": message.message_type}
        message.text = ""
        message.unsent_at = timezone.now()
        message.save(update_fields=["payload", "text", "unsent_at", "content"])


@webhook_handler("accountLink")
def handle_account_link(event: WebhookEvent) -> None:
    link = event.payload.get("link") or {}
    signals.account_link_received.send(
        sender=Member,
        channel=event.channel,
        line_user_id=(event.payload.get("source") or {}).get("userId"),
        result=link.get("result"),
        nonce=link.get("nonce"),
        event=event.payload,
    )


# Types LINE sends that need no action for a 1:1 CRM: stored and marked handled, not failed.
webhook_handler(
    "join",
    "leave",
    "memberJoined",
    "memberLeft",
    "videoPlayComplete",
    "beacon",
    "membership",
    "messageEdited",
    "things",
    "module",
    "activated",
    "deactivated",
    "botSuspended",
    "botResumed",
)(lambda event: None)
