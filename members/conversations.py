"""The conversation log: writing what members sent us and what we send them.

Every outbound message of every feature goes through ``message_send`` (or, for senders with
their own pipeline, ``messages_record_outbound`` and, in bulk, ``messages_log_sent_each`` per
member and ``messages_log_shared`` or ``messages_log_shared_sql`` once for many), so a
member's page shows their whole history.
"""

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from linebot.client import client_for_channel
from linebot.errors import LineApiError, LineBadRequest
from linebot.validation import validate_messages

from .bulk import rows_copy, rows_insert_new, rows_insert_select
from .models import Direction, FriendStatus, Member, Message, MessageSource, MessageStatus

logger = logging.getLogger(__name__)

# LINE's reply token lives one minute; leave room for the request itself.
REPLY_TOKEN_TTL = dt.timedelta(seconds=50)

_LABELS = {
    "sticker": "[Sticker]",
    "image": "[Image]",
    "video": "[Video]",
    "audio": "[Audio]",
    "file": "[File]",
    "imagemap": "[Imagemap]",
}


def message_readable_text(message: dict) -> str:
    """A one-line text for lists, search and notifications; never the raw JSON."""
    kind = message.get("type", "")
    if kind == "text":
        return message.get("text", "")
    if kind == "location":
        return " ".join(filter(None, ["[Location]", message.get("title"), message.get("address")]))
    if kind == "file":
        return f"[File] {message.get('fileName', '')}".strip()
    if kind in ("template", "flex"):
        return message.get("altText", f"[{kind.title()}]")
    if kind == "postback":
        return f"[Postback] {message.get('data', '')}"
    return _LABELS.get(kind, f"[{kind}]")


def _inbound_payload(event: dict) -> dict:
    if event["type"] == "postback":
        return {"type": "postback", **event["postback"]}
    return event["message"]


def messages_record_inbound(items: Sequence[tuple[Member, dict]]) -> list[Message | None]:
    """Store members' messages (or postbacks) from webhook events, at most once per event.

    ``items`` are (member, raw LINE event) pairs. One ``INSERT ... ON CONFLICT DO NOTHING`` for
    all of them: an event already in the log (a redelivery) is not written again and gives
    ``None`` in its place, so its handling has no second effect.
    """
    rows, messages = [], []
    for member, event in items:
        payload = _inbound_payload(event)
        row = {
            "channel_id": member.channel_id,
            "member_id": member.pk,
            "direction": Direction.INBOUND,
            "message_type": payload.get("type", ""),
            "payload": payload,
            "text": message_readable_text(payload),
            "source": MessageSource.USER,
            "status": MessageStatus.RECEIVED,
            "line_message_id": str(payload.get("id", "")),
            "quote_token": payload.get("quoteToken", ""),
            "webhook_event_id": event["webhookEventId"],
            "created_at": dt.datetime.fromtimestamp(event["timestamp"] / 1000, tz=dt.UTC),
        }
        rows.append(row)
        fields = {name: value for name, value in row.items() if name != "member_id"}
        messages.append(Message(member=member, **fields))
    inserted = dict(
        (event_id, pk)
        for pk, event_id in rows_insert_new(
            Message,
            rows,
            # The partial unique index ``message_unique_webhook_event`` needs its predicate.
            conflict="(webhook_event_id) WHERE webhook_event_id <> ''",
            returning=("id", "webhook_event_id"),
        )
    )
    result: list[Message | None] = []
    for message in messages:
        pk = inserted.pop(message.webhook_event_id, None)
        if pk is None:
            result.append(None)  # already stored, or twice in this call: only the first counts
        else:
            message.pk = pk
            message._state.adding = False
            message._state.db = "default"
            result.append(message)
    return result


def message_record_inbound(*, member: Member, event: dict) -> Message:
    """Store a member's message (or postback) from a webhook event; once per event."""
    message = messages_record_inbound([(member, event)])[0]
    return message or Message.objects.get(webhook_event_id=event["webhookEventId"])


def messages_record_outbound(
    *,
    member: Member,
    messages: Sequence[dict],
    source: str,
    source_id: int | None = None,
    sent_by=None,
    status: str = MessageStatus.PENDING,
) -> list[Message]:
    now = timezone.now()
    return Message.objects.bulk_create(
        [
            Message(
                channel_id=member.channel_id,
                member=member,
                direction=Direction.OUTBOUND,
                message_type=payload.get("type", ""),
                payload=payload,
                text=message_readable_text(payload),
                source=source,
                source_id=source_id,
                sent_by=sent_by,
                status=status,
                created_at=now,
            )
            for payload in messages
        ]
    )


def _outbound_row(payload: dict, *, channel_id: int, source: str, source_id, created_at) -> dict:
    return {
        "channel_id": channel_id,
        "direction": Direction.OUTBOUND,
        "message_type": payload.get("type", ""),
        "payload": payload,
        "text": message_readable_text(payload),
        "source": source,
        "source_id": source_id,
        "status": MessageStatus.SENT,
        "created_at": created_at,
    }


def messages_log_shared(
    *,
    channel_id: int,
    audience_key: uuid.UUID,
    messages: Sequence[dict],
    source: str,
    source_id: int | None,
    created_at: dt.datetime,
) -> int:
    """Log the same messages sent to many members at once (a multicast batch) as one entry per
    message object, with no member and the send's ``audience_key``: writing a row per member
    was the largest cost of a send (bench/README.md, fanout). The sender keeps who received
    them and answers for it through ``shared_log_register``; a member's timeline reads these
    entries with their own. Returns rows written.

    One send's messages share ``created_at``, which is how the frequency cap counts sends.
    """
    rows = [
        Message(
            audience_key=audience_key,
            **_outbound_row(
                payload,
                channel_id=channel_id,
                source=source,
                source_id=source_id,
                created_at=created_at,
            ),
        )
        for payload in messages
    ]
    return len(Message.objects.bulk_create(rows))


def messages_log_shared_sql(
    *,
    channel_id: int,
    audience_key: uuid.UUID,
    messages: Sequence[dict],
    source: str,
    source_id: int | None,
    created_at: dt.datetime,
    condition: str = "TRUE",
) -> tuple[str, list]:
    """PostgreSQL: ``messages_log_shared`` as a statement (and its parameters) for a larger one
    to include, writing only where the SQL ``condition`` holds (a multicast logs its messages
    in the statement that marks its deliveries sent, if it marked any). The message objects
    travel as three array parameters, so the text is the same for every send and PostgreSQL
    plans it once per connection."""
    from psycopg.types.json import Jsonb

    row = _outbound_row(
        {}, channel_id=channel_id, source=source, source_id=source_id, created_at=created_at
    )
    per_message = {"message_type": "m.message_type", "payload": "m.payload", "text": "m.text"}
    for name in per_message:
        row.pop(name)
    sql, params = rows_insert_select(
        Message,
        source=(
            "unnest(%s::varchar[], %s::jsonb[], %s::text[]) AS m(message_type, payload, text) "
            f"WHERE {condition}"
        ),
        expressions=per_message,
        row={**row, "member_id": None, "audience_key": audience_key},
    )
    params += [
        [payload.get("type", "") for payload in messages],
        [Jsonb(payload) for payload in messages],
        [message_readable_text(payload) for payload in messages],
    ]
    return sql, params


@dataclass(frozen=True)
class SharedLogReader:
    """How a sender that logs a send once for many members (``messages_log_shared``) answers who
    received it: ``audience_keys(member_id)`` the keys of the sends a member received (a query
    of one column), ``received(source_id)`` the members who received that source's messages
    (a ``Q`` on members, for segments)."""

    audience_keys: Callable[[int], QuerySet]
    received: Callable[[int], Q]


_shared_log_readers: dict[str, SharedLogReader] = {}


def shared_log_register(source: str, reader: SharedLogReader) -> None:
    """Called by the app that logs ``source``'s sends once for many (campaigns, at ready)."""
    _shared_log_readers[source] = reader


def shared_log_readers() -> dict[str, SharedLogReader]:
    return dict(_shared_log_readers)


def member_shared_messages(member_id: int) -> QuerySet:
    """The entries logged once for many members that this member received."""
    received = Q(pk__in=[])
    for reader in _shared_log_readers.values():
        received |= Q(audience_key__in=reader.audience_keys(member_id))
    return Message.objects.filter(received, member__isnull=True)


def messages_log_sent_each(
    *,
    channel_id: int,
    sent: Sequence[tuple[int, Sequence[dict]]],
    source: str,
    source_id: int | None,
    created_at: dt.datetime,
) -> int:
    """Log what each member was sent, ``sent`` being (member id, their messages) pairs: personal
    pushes, in one bulk write (``COPY`` on PostgreSQL). Returns rows written."""
    described: dict[int, list[dict]] = {}

    def rows_of(messages) -> list[dict]:
        # Members sent the very same list (a step without variables) share its description.
        key = id(messages)
        if key not in described:
            described[key] = [
                _outbound_row(
                    payload,
                    channel_id=channel_id,
                    source=source,
                    source_id=source_id,
                    created_at=created_at,
                )
                for payload in messages
            ]
        return described[key]

    return rows_copy(
        Message,
        (
            {**row, "member_id": member_id}
            for member_id, messages in sent
            for row in rows_of(messages)
        ),
    )


class MessagesInvalid(ValueError):
    """Messages LINE would refuse; nothing was recorded or sent. ``problems`` name each path."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in self.problems))


def reply_token_usable(*, event_time: dt.datetime | None, now: dt.datetime | None = None) -> bool:
    if event_time is None:
        return False
    return (now or timezone.now()) - event_time < REPLY_TOKEN_TTL


def message_send(
    *,
    member: Member,
    messages: Sequence[dict],
    source: str,
    source_id: int | None = None,
    sent_by=None,
    reply_token: str | None = None,
    retry_key: uuid.UUID | None = None,
) -> list[Message]:
    """Send messages to one member and log them: by reply while the token is valid, else push.

    Messages are checked against LINE's rules first (``MessagesInvalid``, nothing written).
    Rows are written (and committed) as pending before LINE is called, then marked sent or
    failed with LINE's error. Push carries ``retry_key`` (a fresh one if not given), so a
    retried call after a timeout never sends twice.
    """
    problems = validate_messages(list(messages))
    if problems:
        raise MessagesInvalid(problems)
    with transaction.atomic():
        rows = messages_record_outbound(
            member=member, messages=messages, source=source, source_id=source_id, sent_by=sent_by
        )
    client = client_for_channel(member.channel)
    result = None
    error: Exception | str | None = None
    if reply_token:
        try:
            result = client.reply(reply_token=reply_token, messages=messages)
        except LineBadRequest as bad_token:
            # An expired or used token: push instead (it counts against the quota).
            logger.info("Reply refused (%s); pushing instead", bad_token.message)
        except LineApiError as failure:
            error = failure
    if result is None and error is None:
        if member.friend_status == FriendStatus.BLOCKED:
            error = "The member has blocked the account."
        else:
            try:
                result = client.push(
                    to=member.line_user_id, messages=messages, retry_key=retry_key or uuid.uuid4()
                )
            except LineApiError as failure:
                error = failure
    if result is not None:
        sent = list(result.sent_messages)
        for index, row in enumerate(rows):
            row.status = MessageStatus.SENT
            if index < len(sent):
                row.line_message_id = sent[index].id
                row.quote_token = sent[index].quote_token or ""
    else:
        for row in rows:
            row.status = MessageStatus.FAILED
            row.error = str(error)
    Message.objects.bulk_update(rows, ["status", "error", "line_message_id", "quote_token"])
    return rows
