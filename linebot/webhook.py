"""Receiving LINE's webhooks: check, store durably, acknowledge; handle later in a worker.

``webhook_receive`` runs in the request and does as little as it can: the signature check on
the raw bytes, a shape check, and one bulk insert. ``webhook_event_handle`` runs in a worker and
calls the handlers other apps registered for the event's type (``linebot`` knows nothing of
members or campaigns; they subscribe with ``webhook_handler``).
"""

import datetime as dt
import json
import logging
import traceback
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Channel, WebhookEvent, WebhookEventStatus
from .signature import signature_is_valid

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
Handler = Callable[[WebhookEvent], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)


def webhook_handler(*event_types: str) -> Callable[[Handler], Handler]:
    """Register a function to handle events of these types (called in a worker, in order)."""

    def register(function: Handler) -> Handler:
        for event_type in event_types:
            if function not in _handlers[event_type]:
                _handlers[event_type].append(function)
        return function

    return register


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
    from .tasks import webhook_events_handle

    events = webhook_parse(channel=channel, body=body, signature=signature)
    if not events:
        return WebhookReceipt(received=0, new_event_ids=[])
    rows = {}
    for event in events:
        rows.setdefault(
            event["webhookEventId"],
            WebhookEvent(
                channel=channel,
                webhook_event_id=event["webhookEventId"],
                event_type=event["type"][:40],
                mode=str(event.get("mode", "active"))[:16],
                is_redelivery=bool((event.get("deliveryContext") or {}).get("isRedelivery")),
                occurred_at=dt.datetime.fromtimestamp(event["timestamp"] / 1000, tz=dt.UTC),
                payload=event,
            ),
        )
    with transaction.atomic():
        seen = set(
            WebhookEvent.objects.filter(webhook_event_id__in=rows).values_list(
                "webhook_event_id", flat=True
            )
        )
        new = [row for key, row in rows.items() if key not in seen]
        WebhookEvent.objects.bulk_create(new, ignore_conflicts=True)
        new_ids = list(
            WebhookEvent.objects.filter(
                webhook_event_id__in=[row.webhook_event_id for row in new],
                status=WebhookEventStatus.PENDING,
                attempts=0,
            ).values_list("id", flat=True)
        )
        if new_ids:
            # One task per request keeps the broker light; events are still handled one by one.
            transaction.on_commit(lambda: webhook_events_handle.delay(new_ids))
    return WebhookReceipt(received=len(events), new_event_ids=new_ids)


def webhook_event_handle(event_id: int) -> WebhookEvent | None:
    """Run the registered handlers for one stored event, at most once unless retried.

    The row is locked for the duration, so two workers given the same event cannot both run it;
    each event has its own transaction, so one bad event never blocks the others.
    """
    with transaction.atomic():
        event = (
            WebhookEvent.objects.select_for_update(skip_locked=True)
            .select_related("channel")
            .filter(pk=event_id, status=WebhookEventStatus.PENDING)
            .first()
        )
        if event is None:
            return None
        event.attempts += 1
        handlers = _handlers.get(event.event_type, [])
        try:
            with transaction.atomic():
                for handler in handlers:
                    handler(event)
        except Exception as error:
            event.status = WebhookEventStatus.FAILED
            event.error = "".join(traceback.format_exception_only(error)).strip()[:4000]
            logger.exception(
                "Webhook event %s (%s) failed", event.webhook_event_id, event.event_type
            )
        else:
            event.status = WebhookEventStatus.DONE if handlers else WebhookEventStatus.IGNORED
            event.error = ""
        event.handled_at = timezone.now()
        event.save(update_fields=["attempts", "status", "error", "handled_at"])
    return event


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
