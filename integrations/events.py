"""Events reported through the API, singly or in batches; all stored by members.events.

Batch semantics: the envelope (``{"events": [...]}``, at most
``settings.INTEGRATIONS_EVENT_BATCH_MAX`` items) is checked first and a bad envelope stores
nothing. Then every item is validated on its own: the valid items are stored, in one
transaction, and each invalid item is reported with its index, the field and the message. So a
client fixes and resends only the failed items; resending the whole batch is also safe, since
the items already stored answer "duplicate" by their idempotency keys.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

from linebot.models import Channel
from members.events import event_record
from members.models import Member, MemberEvent

from .serializers import EventInputSerializer


@dataclass
class BatchReport:
    received: int = 0
    results: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        statuses = [result["status"] for result in self.results]
        return {
            "received": self.received,
            "created": statuses.count("created"),
            "duplicates": statuses.count("duplicate"),
            "failed": statuses.count("failed"),
            "results": self.results,
            "errors": self.errors,
        }


def event_store(*, data: dict) -> tuple[MemberEvent, bool]:
    """Store one validated event (``EventInputSerializer.validated_data``); (event, created)."""
    return event_record(
        member=data["member"],
        kind=data["kind"],
        occurred_at=data["occurred_at"],
        name=data.get("name", ""),
        properties=data.get("properties") or {},
        value=data.get("value"),
        idempotency_key=data["idempotency_key"],
    )


def errors_flatten(detail, path: str | None = None) -> list[tuple[str | None, str]]:
    """DRF's nested error detail as (field path, message) pairs; ``None`` for the whole item."""
    if isinstance(detail, dict):
        pairs = []
        for key, value in detail.items():
            key = None if key == "non_field_errors" else str(key)
            sub = ".".join(part for part in (path, key) if part) or None
            pairs += errors_flatten(value, sub)
        return pairs
    if isinstance(detail, list):
        pairs = []
        for position, value in enumerate(detail):
            if isinstance(value, (dict, list)):
                pairs += errors_flatten(value, f"{path}[{position}]" if path else str(position))
            else:
                pairs += errors_flatten(value, path)
        return pairs
    return [(path, str(detail))]


def _envelope_items(payload) -> list:
    if not isinstance(payload, dict) or "events" not in payload:
        raise ValidationError({"events": [_('Send the events as {"events": [...]}.')]})
    items = payload["events"]
    if not isinstance(items, list):
        raise ValidationError({"events": [_("Expected a list of events.")]})
    if not items:
        raise ValidationError({"events": [_("Send at least one event.")]})
    limit = settings.INTEGRATIONS_EVENT_BATCH_MAX
    if len(items) > limit:
        raise ValidationError(
            {
                "events": [
                    _("At most %(limit)d events per batch; this one has %(count)d.")
                    % {"limit": limit, "count": len(items)}
                ]
            }
        )
    return items


def _members_preload(*, channel: Channel, items: list) -> dict:
    """The batch's members in two queries, keyed as EventInputSerializer looks them up."""
    external_ids = {item.get("external_id") for item in items if isinstance(item, dict)}
    line_user_ids = {item.get("line_user_id") for item in items if isinstance(item, dict)}
    external_ids = {value for value in external_ids if isinstance(value, str) and value}
    line_user_ids = {value for value in line_user_ids if isinstance(value, str) and value}
    known: dict = {("external_id", value): None for value in external_ids}
    known.update({("line_user_id", value): None for value in line_user_ids})
    members = Member.objects.filter(channel=channel)
    for member in members.filter(external_customer_id__in=external_ids):
        known[("external_id", member.external_customer_id)] = member
    for member in members.filter(line_user_id__in=line_user_ids):
        known[("line_user_id", member.line_user_id)] = member
    return known


def event_batch_record(*, channel: Channel, payload) -> dict:
    """Validate each item of a batch, store the valid ones, and report on every item."""
    items = _envelope_items(payload)
    context = {"channel": channel, "members": _members_preload(channel=channel, items=items)}
    report = BatchReport(received=len(items))
    valid = []
    for index, item in enumerate(items):
        serializer = EventInputSerializer(data=item, context=context)
        if serializer.is_valid():
            valid.append((index, serializer.validated_data))
            continue
        report.results.append({"index": index, "status": "failed", "id": None})
        for field_path, message in errors_flatten(serializer.errors):
            report.errors.append({"index": index, "field": field_path, "message": message})
    with transaction.atomic():
        for index, data in valid:
            event, created = event_store(data=data)
            report.results.append(
                {"index": index, "status": "created" if created else "duplicate", "id": event.pk}
            )
    report.results.sort(key=lambda result: result["index"])
    return report.as_dict()
