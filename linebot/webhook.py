"""Receiving LINE's webhooks: check, store durably, acknowledge; handle later in a worker.

``webhook_receive`` runs in the request and does as little as it can: the signature check on
the raw bytes, a shape check, and one bulk insert. ``webhook_events_handle_batch`` runs in a
worker and calls the handlers other apps registered for the events' types (``linebot`` knows
nothing of members or campaigns; they subscribe with ``webhook_batch_handler`` or, one event at
a time, ``webhook_handler``).
"""

import datetime as dt
import json
import logging
import traceback
from collections.abc import Callable, Hashable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from redis.exceptions import RedisError

from .models import Channel, WebhookEvent, WebhookEventStatus
from .shared_redis import shared_redis
from .signature import signature_is_valid

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
# At most this many events handled in one task's transaction (its own and other pending ones).
DRAIN_MAX_EVENTS = 500
Handler = Callable[[WebhookEvent], None]
BatchHandler = Callable[[list[WebhookEvent]], None]


@dataclass(frozen=True)
class _Registered:
    key: object  # the function as registered: registering it twice has no effect
    run: BatchHandler
    order: int  # registration order: groups of a batch are handled in this order


_handlers: dict[str, list[_Registered]] = {}
_registered: dict[object, _Registered] = {}
_batch_memo: ContextVar[dict | None] = ContextVar("webhook_batch_memo", default=None)


def _register(event_types: tuple[str, ...], key: object, run: BatchHandler) -> None:
    registered = _registered.get(key)
    if registered is None:
        registered = _registered[key] = _Registered(key=key, run=run, order=len(_registered))
    for event_type in event_types:
        handlers = _handlers.setdefault(event_type, [])
        if registered not in handlers:
            handlers.append(registered)


def webhook_batch_handler(*event_types: str) -> Callable[[BatchHandler], BatchHandler]:
    """Register a function that handles a list of events of these types at once (in a worker).

    It gets the task's events of these types, in the order LINE sent them, inside a savepoint of
    the batch's transaction. If it raises, that savepoint is rolled back (its writes and its
    ``transaction.on_commit`` callbacks are dropped) and it is called again with each event
    alone, each in a savepoint of its own: the bad event fails alone, with its error, and the
    others are handled. So it must have no effect outside the database except through
    ``transaction.on_commit``. Types registered by one function form one group (``follow`` and
    ``unfollow`` in one, so a member's events keep their order); groups run in the order their
    functions were registered.
    """

    def register(function: BatchHandler) -> BatchHandler:
        _register(event_types, function, function)
        return function

    return register


def webhook_handler(*event_types: str) -> Callable[[Handler], Handler]:
    """Register a function to handle events of these types one at a time (called in a worker)."""

    def register(function: Handler) -> Handler:
        def each(events: list[WebhookEvent]) -> None:
            for event in events:
                function(event)

        _register(event_types, function, each)
        return function

    return register


def webhook_batch_memo(key: Hashable, load: Callable[[], Any]) -> Any:
    """``load()`` once per batch of webhook events (a channel's rules, say), else every call.

    Handlers and the signal receivers they call read what does not change during a batch once
    for all its events; outside ``webhook_events_handle_batch`` nothing is kept.
    """
    memo = _batch_memo.get()
    if memo is None:
        return load()
    try:
        return memo[key]
    except KeyError:
        value = memo[key] = load()
        return value


class WebhookRejected(Exception):
    """The request is not a genuine, well-formed LINE webhook: answered with ``status``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class WebhookReceipt:
    received: int
    new_event_ids: list[int]


def webhook_parse(*, channel: Channel, body: bytes, signature: str | None) -> list[dict]:
    """Check the request and return its events; raise ``WebhookRejected`` saying what is wrong."""
    if len(body) > MAX_BODY_BYTES:
        raise WebhookRejected(
            413, _("The request body is larger than %(limit)d bytes.") % {"limit": MAX_BODY_BYTES}
        )
    if not signature:
        raise WebhookRejected(401, _("The X-Line-Signature header is missing."))
    # The signature is checked on the raw bytes before anything is parsed.
    if not signature_is_valid(
        channel_secret=channel.channel_secret, body=body, signature=signature
    ):
        raise WebhookRejected(403, _("The X-Line-Signature header does not match the body."))
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise WebhookRejected(
            400, _("The body is not JSON: %(error)s") % {"error": error}
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        raise WebhookRejected(400, _("The body has no 'events' list."))
    if channel.bot_user_id and data.get("destination") not in (None, channel.bot_user_id):
        raise WebhookRejected(400, _("The 'destination' is not this channel's bot."))
    for index, event in enumerate(data["events"]):
        problem = _event_problem(event)
        if problem:
            raise WebhookRejected(400, f"events[{index}]: {problem}")
    return data["events"]


def _event_problem(event) -> str | None:
    if not isinstance(event, dict):
        return _("an event must be an object")
    for field in ("type", "webhookEventId"):
        if not isinstance(event.get(field), str) or not event[field]:
            return _("'%(field)s' is missing") % {"field": field}
    if len(event["webhookEventId"]) > 64:
        return _("'webhookEventId' is too long")
    if not isinstance(event.get("timestamp"), int):
        return _("'timestamp' must be an integer of milliseconds")
    return None


def webhook_receive(*, channel: Channel, body: bytes, signature: str | None) -> WebhookReceipt:
    """Store the request's new events and queue their handling; repeated events are dropped."""
    events = webhook_parse(channel=channel, body=body, signature=signature)
    # The first of repeated ids is kept, in LINE's order: ids follow it, and handling too.
    unique: dict[str, dict] = {}
    for event in events:
        unique.setdefault(event["webhookEventId"], event)
    new_ids = _events_insert_new(channel=channel, events=list(unique.values()))
    if new_ids:
        transaction.on_commit(webhook_drain_request)
    return WebhookReceipt(received=len(events), new_event_ids=new_ids)


# The shared flag "a drain task is queued and has not started yet". It expires, so a queued
# task the broker lost holds nothing up for long (and beat re-queues what stays pending).
DRAIN_FLAG_KEY = "linebot:webhook-drain-queued"
DRAIN_FLAG_TTL = 30


def webhook_drain_request() -> None:
    """Queue a task that handles the pending events, unless one is queued and not started.

    At LINE's pace that is one task for many requests rather than one each: the publish is
    most of a webhook answer's own work, and each task costs the worker a broker round trip
    and a query even when an earlier one already took its events. The flag lives in the
    shared Redis; the task clears it before it reads the queue, so events stored after that
    read always find the flag clear and queue a task of their own. Without a shared Redis, or
    if it cannot be reached, every request queues a task.
    """
    from .tasks import webhook_events_drain

    flag = shared_redis()
    if flag is not None:
        try:
            if not flag.set(DRAIN_FLAG_KEY, 1, nx=True, ex=DRAIN_FLAG_TTL):
                return
        except RedisError as error:
            logger.warning("Webhook drain flag unavailable (%s): queuing a task", error)
    webhook_events_drain.delay()


def webhook_pending_drain() -> list[WebhookEvent]:
    """Handle the oldest pending events (a bounded batch); queue the next drain if more wait."""
    flag = shared_redis()
    if flag is not None:
        try:
            flag.delete(DRAIN_FLAG_KEY)
        except RedisError as error:
            logger.warning("Webhook drain flag unavailable (%s)", error)
    handled = webhook_events_handle_batch([], drain=DRAIN_MAX_EVENTS)
    if len(handled) >= DRAIN_MAX_EVENTS:
        # A full batch: more may be waiting, and later requests may have found the flag set.
        webhook_drain_request()
    return handled


def _events_insert_new(*, channel: Channel, events: list[dict]) -> list[int]:
    """Insert the events not stored yet, in one statement that also says which ones were new.

    ``INSERT ... ON CONFLICT DO NOTHING RETURNING id`` is atomic on its own: no transaction
    block, no read of the ids first, and a concurrent duplicate is simply not returned.
    """
    if not events:
        return []
    ops = connection.ops
    table = WebhookEvent._meta.db_table
    columns = [
        "channel_id",
        "webhook_event_id",
        "event_type",
        "mode",
        "is_redelivery",
        "occurred_at",
        "payload",
        "status",
        "attempts",
        "error",
        "received_at",
    ]
    json_placeholder = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    row_sql = "(" + ", ".join(json_placeholder if c == "payload" else "%s" for c in columns) + ")"
    now = ops.adapt_datetimefield_value(timezone.now())
    params: list = []
    for event in events:
        occurred = dt.datetime.fromtimestamp(event["timestamp"] / 1000, tz=dt.UTC)
        params += [
            channel.pk,
            event["webhookEventId"],
            event["type"][:40],
            str(event.get("mode", "active"))[:16],
            bool((event.get("deliveryContext") or {}).get("isRedelivery")),
            ops.adapt_datetimefield_value(occurred),
            json.dumps(event, ensure_ascii=False),
            WebhookEventStatus.PENDING,
            0,
            "",
            now,
        ]
    # Identifiers come from the model and are quoted; every value is a parameter.
    quoted_columns = ", ".join(map(ops.quote_name, columns))
    values = ", ".join([row_sql] * len(events))
    conflict = ops.quote_name("webhook_event_id")
    sql = f"INSERT INTO {ops.quote_name(table)} ({quoted_columns}) VALUES {values} ON CONFLICT ({conflict}) DO NOTHING RETURNING id"  # noqa: E501, S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(row[0] for row in cursor.fetchall())


class _HandlerFailed(Exception):
    """A handler raised in the optimistic pass: the batch is handled again, isolated."""


def webhook_events_handle_batch(event_ids, *, drain: int = 0) -> list[WebhookEvent]:
    """Run the registered handlers for stored events, each at most once unless retried.

    One transaction for the batch (one locking read, one update per outcome, one commit). The
    events are grouped by their handlers and each group handled at once. The first pass takes
    no savepoints (two round trips per group saved); if a handler raises, that transaction is
    rolled back, with everything it wrote and every ``on_commit`` callback, and the batch is
    handled again with a savepoint per group and, for the group that fails, per event: one bad
    event fails alone (``failed``, with its error, retryable from the admin) and never blocks
    the others. Rows another worker holds are skipped: that worker handles them. Only the event
    rows are locked (``of=("self",)``): locking the joined channel row would make every webhook
    insert, which holds a key-share lock on it, look busy and leave events pending forever.

    With ``drain`` (a bound on the transaction's size), the task also takes other pending
    events, oldest first, up to ``drain`` events in all: the per-task cost (commit, reads of
    the members and rules, the broker's ack) is paid once for many requests. The tasks of the
    requests it took then find nothing pending and return after one query.
    """
    token = _batch_memo.set({})
    claimed: list[int] = []
    try:
        try:
            return _batch_handle(event_ids, isolated=False, drain=drain, claimed=claimed)
        except _HandlerFailed as failure:
            logger.info(
                "A handler failed in a batch of %d events (%s); handling them again, isolated",
                len(claimed),
                type(failure.__cause__).__name__,
            )
            # The same events again (the rollback released them; taken ones are not pending).
            return _batch_handle(claimed, isolated=True, drain=0, claimed=[])
    finally:
        _batch_memo.reset(token)


def _events_claim(event_ids, *, drain: int) -> list[WebhookEvent]:
    """Lock the given pending events and, up to ``drain`` in all, the oldest other pending ones
    (with no ids given: the oldest ``drain`` pending events).

    Oldest first (id order, which is the order received, and LINE's order within a request)
    over all channels, so no channel waits behind another's burst. Rows locked by another
    worker are skipped: a worker never takes an event another one holds. Both reads go through
    the index of pending events; their channels are read once, not joined to every row.
    """
    locked = WebhookEvent.objects.select_for_update(skip_locked=True, no_key=True, of=("self",))
    pending = locked.filter(status=WebhookEventStatus.PENDING).order_by("id")
    event_ids = list(event_ids)
    events = list(pending.filter(pk__in=event_ids)) if event_ids else []
    room = drain - len(events)
    if (events or not event_ids) and room > 0:
        # Given ids that an earlier drain took: a no-op after the one query above (the queue
        # is being emptied by others).
        others = list(pending.exclude(pk__in=[event.pk for event in events])[:room])
        if others:
            events = sorted(events + others, key=lambda event: event.pk)
    channels = Channel.objects.in_bulk({event.channel_id for event in events})
    for event in events:
        event.channel = channels[event.channel_id]
    return events


def _batch_handle(
    event_ids, *, isolated: bool, drain: int, claimed: list[int]
) -> list[WebhookEvent]:
    with transaction.atomic():
        events = _events_claim(event_ids, drain=drain)
        claimed[:] = [event.pk for event in events]
        _events_run_handlers(events, isolated=isolated)
        # One UPDATE per outcome instead of bulk_update's CASE per row and column.
        now = timezone.now()
        for status in (WebhookEventStatus.DONE, WebhookEventStatus.IGNORED):
            ids = [event.pk for event in events if event.status == status]
            if ids:
                WebhookEvent.objects.filter(pk__in=ids).update(
                    attempts=F("attempts") + 1, status=status, error="", handled_at=now
                )
        for event in events:
            if event.status == WebhookEventStatus.FAILED:
                event.save(update_fields=["attempts", "status", "error", "handled_at"])
    return events


def _events_run_handlers(events: list[WebhookEvent], *, isolated: bool) -> None:
    groups: dict[tuple[_Registered, ...], list[WebhookEvent]] = {}
    now = timezone.now()
    for event in events:
        event.attempts += 1
        event.handled_at = now
        event.error = ""
        handlers = tuple(_handlers.get(event.event_type, ()))
        if handlers:
            groups.setdefault(handlers, []).append(event)
        else:
            event.status = WebhookEventStatus.IGNORED
    for handlers, group in sorted(groups.items(), key=lambda item: item[0][0].order):
        if not isolated:
            try:
                for handler in handlers:
                    handler.run(group)
            except Exception as error:
                raise _HandlerFailed from error
            for event in group:
                event.status = WebhookEventStatus.DONE
            continue
        try:
            with transaction.atomic():
                for handler in handlers:
                    handler.run(group)
        except Exception as error:
            if len(group) == 1:
                _event_failed(group[0], error)
                continue
            for event in group:
                try:
                    with transaction.atomic():
                        for handler in handlers:
                            handler.run([event])
                except Exception as event_error:
                    _event_failed(event, event_error)
                else:
                    event.status = WebhookEventStatus.DONE
        else:
            for event in group:
                event.status = WebhookEventStatus.DONE


def _event_failed(event: WebhookEvent, error: Exception) -> None:
    event.status = WebhookEventStatus.FAILED
    event.error = "".join(traceback.format_exception_only(error)).strip()[:4000]
    logger.error(
        "Webhook event %s (%s) failed",
        event.webhook_event_id,
        event.event_type,
        exc_info=error,
    )


def webhook_event_handle(event_id: int) -> WebhookEvent | None:
    """Handle one stored event; None if it is not pending (done, or held by another worker)."""
    handled = webhook_events_handle_batch([event_id])
    return handled[0] if handled else None


def webhook_events_requeue_stale(*, older_than: dt.timedelta) -> int:
    """Queue again events still pending long after they arrived (a lost broker message)."""
    from .tasks import webhook_events_handle

    cutoff = timezone.now() - older_than
    ids = list(
        WebhookEvent.objects.filter(
            status=WebhookEventStatus.PENDING, received_at__lt=cutoff
        ).values_list("id", flat=True)[:10_000]
    )
    for start in range(0, len(ids), 100):
        webhook_events_handle.delay(ids[start : start + 100])
    return len(ids)


def webhook_events_retry(event_ids) -> int:
    """Put failed events back in the queue; returns how many were queued."""
    from .tasks import webhook_events_handle

    with transaction.atomic():
        ids = list(
            WebhookEvent.objects.failed().filter(pk__in=event_ids).values_list("id", flat=True)
        )
        WebhookEvent.objects.filter(pk__in=ids).update(status=WebhookEventStatus.PENDING)
        if ids:
            transaction.on_commit(lambda: webhook_events_handle.delay(ids))
    return len(ids)
