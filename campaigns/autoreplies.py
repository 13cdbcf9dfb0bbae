"""Auto-replies: the welcome message on follow, and keyword rules on a member's text."""

import datetime as dt
import re
import uuid
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction

from linebot.webhook import webhook_batch_memo
from members.conversations import message_send, reply_token_usable
from members.models import Member, MessageSource

from .models import AutoReply, AutoReplyTrigger, MatchType

# Derives a retry key per (rule, event): a re-run of the task never pushes twice.
RETRY_KEY_NAMESPACE = uuid.UUID("6f6e1c52-3f7d-4c55-9c39-8a0b2b0a1f11")


def autoreply_is_open(rule: AutoReply, *, at: dt.datetime) -> bool:
    """Inside the rule's active hours (Japan time); a window may wrap past midnight."""
    if rule.active_from is None or rule.active_until is None:
        return True
    local = at.astimezone(ZoneInfo(settings.TIME_ZONE)).time()
    if rule.active_from <= rule.active_until:
        return rule.active_from <= local < rule.active_until
    return local >= rule.active_from or local < rule.active_until


def autoreply_matches(rule: AutoReply, text: str) -> bool:
    text = text.strip()
    for keyword in rule.keyword_list():
        if rule.match_type == MatchType.EXACT and text.casefold() == keyword.casefold():
            return True
        if rule.match_type == MatchType.CONTAINS and keyword.casefold() in text.casefold():
            return True
        if rule.match_type == MatchType.REGEX and re.search(keyword, text):
            return True
    return False


def autoreply_rules(*, channel_id: int, trigger: str) -> list[AutoReply]:
    """A channel's active rules of one trigger, by priority.

    All of the channel's active rules are read once per batch of webhook events
    (``webhook_batch_memo``), not once per message or trigger; a rule saved in the admin
    applies from the next batch.
    """
    rules = webhook_batch_memo(
        ("campaigns.autoreply_rules", channel_id),
        lambda: list(
            AutoReply.objects.active().filter(channel_id=channel_id).order_by("priority", "id")
        ),
    )
    return [rule for rule in rules if rule.trigger == trigger]


def autoreply_for_text(*, channel_id: int, text: str, at: dt.datetime) -> AutoReply | None:
    """The first active keyword rule (by priority) that matches the text now."""
    for rule in autoreply_rules(channel_id=channel_id, trigger=AutoReplyTrigger.KEYWORD):
        if autoreply_is_open(rule, at=at) and autoreply_matches(rule, text):
            return rule
    return None


def autoreply_welcome(*, channel_id: int, at: dt.datetime) -> AutoReply | None:
    for rule in autoreply_rules(channel_id=channel_id, trigger=AutoReplyTrigger.WELCOME):
        if autoreply_is_open(rule, at=at):
            return rule
    return None


def autoreply_schedule(*, rule: AutoReply, member: Member, event: dict) -> None:
    """Send the rule's messages after the webhook's transaction commits (in a worker)."""
    from .tasks import send_auto_reply

    if event.get("mode") == "standby":
        return  # Another channel module owns the chat: LINE says not to answer.
    args = (
        rule.pk,
        member.pk,
        event.get("replyToken"),
        event["timestamp"],
        event["webhookEventId"],
    )
    transaction.on_commit(lambda: send_auto_reply.delay(*args))


def autoreply_send(
    *, rule: AutoReply, member: Member, reply_token: str | None, event_ms: int, event_id: str
) -> None:
    event_time = dt.datetime.fromtimestamp(event_ms / 1000, tz=dt.UTC)
    message_send(
        member=member,
        messages=rule.messages,
        source=MessageSource.AUTO_REPLY,
        source_id=rule.pk,
        reply_token=reply_token if reply_token_usable(event_time=event_time) else None,
        retry_key=uuid.uuid5(RETRY_KEY_NAMESPACE, f"{rule.pk}:{event_id}"),
    )
