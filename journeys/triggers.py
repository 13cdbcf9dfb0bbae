"""Trigger notifications and abandonment rules: a message because of an event.

- ``event`` rules: a receipt when a purchase arrives, a reminder a set time before (or after)
  a time in the event (``starts_at`` of a reservation), a "points changed" note. The event's
  data is the template's ``{{ data.* }}``.
- ``cart_abandoned``: a cart add with no purchase (or cleared cart) within N hours; the cart's
  products are appended as a Flex carousel.
- ``product_browsed``: one product viewed K times in D days without buying it; once per
  product and window.
- ``price_dropped`` / ``back_in_stock``: a product of the catalog (``integrations.Product``)
  got cheaper or came back in stock; sent at once to the members with it in their cart or
  favourites (``catalog.product_holders``), once per member and change, always as marketing.

Each send is a ``TriggerSend`` row, unique per rule and cause, due at a time and carrying its
retry key before the push. Marketing rules (``respects_frequency_cap``) wait out the channel's
quiet hours and are skipped for members over the frequency cap.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.db.models import F

from campaigns.frequency import member_is_over_cap, quiet_hours_end
from campaigns.personalize import personalize_for_member
from campaigns.ratelimit import rate_limit_wait
from linebot.client import client_for_channel
from linebot.errors import LineApiError
from members.conversations import messages_record_outbound
from members.models import EventKind, FriendStatus, Member, MemberEvent, MessageSource

from .catalog import product_holders
from .clock import clock_now
from .models import PRODUCT_RULE_KINDS, RuleKind, SendStatus, TriggerRule, TriggerSend
from .sequences import event_data, event_matches, parse_time
from .stepsend import is_transient, retry_delay

logger = logging.getLogger(__name__)

# A reminder whose time passed longer ago than this is not sent at all.
LATE_GRACE = dt.timedelta(hours=1)
# Cart products from this far back still count as "in the cart".
CART_LOOKBACK = dt.timedelta(days=30)
CAROUSEL_MAX = 10


def _rules(channel_id: int, kind: str):
    return TriggerRule.objects.filter(channel_id=channel_id, kind=kind, is_active=True)


def _create(**fields) -> TriggerSend | None:
    """The send, or None when the rule already has one for this cause."""
    try:
        with transaction.atomic():
            return TriggerSend.objects.create(**fields)
    except IntegrityError:
        return None


def triggers_on_event(event: MemberEvent, *, now: dt.datetime | None = None) -> list[TriggerSend]:
    """Rules answering one new event: sends created (due now or later)."""
    now = now or clock_now()
    member = event.member
    created: list[TriggerSend] = []
    for rule in _rules(member.channel_id, RuleKind.EVENT).filter(event_kind=event.kind):
        if not event_matches(
            event, kind=rule.event_kind, name=rule.event_name, properties=rule.event_filter or {}
        ):
            continue
        send = _event_send(rule, event, now)
        if send is not None:
            created.append(send)
    if event.kind == EventKind.CART_ADD:
        created.extend(_cart_added(event, now))
    if event.kind in (EventKind.PURCHASE, EventKind.CART_CLEARED):
        _cart_closed(event, now)
    if event.kind == EventKind.PAGE_VIEW and event.name:
        created.extend(_product_viewed(event, now))
    return created


def _event_send(rule: TriggerRule, event: MemberEvent, now: dt.datetime) -> TriggerSend | None:
    fields = {
        "rule": rule,
        "member": event.member,
        "event": event,
        "cause": f"event:{event.pk}",
        "data": event_data(event),
    }
    if rule.time_property:
        base = parse_time((event.properties or {}).get(rule.time_property))
        if base is None:
            return _create(
                **fields,
                due_at=now,
                status=SendStatus.SKIPPED,
                reason=f"the event has no time in {rule.time_property}"[:200],
            )
    else:
        base = event.occurred_at
    due = base + dt.timedelta(minutes=rule.offset_minutes)
    if due < now - LATE_GRACE and rule.offset_minutes != 0:
        return _create(**fields, due_at=due, status=SendStatus.SKIPPED, reason="too late")
    return _create(**fields, due_at=max(due, now))


def _cart_added(event: MemberEvent, now: dt.datetime) -> list[TriggerSend]:
    """Start (or push back) the abandoned-cart wait of each cart rule."""
    created = []
    for rule in _rules(event.member.channel_id, RuleKind.CART_ABANDONED):
        due = event.occurred_at + dt.timedelta(hours=rule.hours)
        moved = TriggerSend.objects.filter(
            rule=rule, member=event.member, status=SendStatus.PENDING
        ).update(due_at=due)
        if not moved:
            send = _create(
                rule=rule,
                member=event.member,
                event=event,
                cause=f"cart:{event.pk}",
                due_at=due,
                data={"cart_since": event.occurred_at.isoformat()},
            )
            if send is not None:
                created.append(send)
    return created


def _cart_closed(event: MemberEvent, now: dt.datetime) -> None:
    TriggerSend.objects.filter(
        rule__kind=RuleKind.CART_ABANDONED,
        member=event.member,
        status=SendStatus.PENDING,
        event__occurred_at__lte=event.occurred_at,
    ).update(status=SendStatus.SKIPPED, reason=f"{event.kind} followed", sent_at=now)


def _product_viewed(event: MemberEvent, now: dt.datetime) -> list[TriggerSend]:
    created = []
    member = event.member
    for rule in _rules(member.channel_id, RuleKind.PRODUCT_BROWSED):
        since = event.occurred_at - dt.timedelta(days=rule.days)
        events = MemberEvent.objects.filter(
            member=member, name=event.name, occurred_at__gt=since, occurred_at__lte=now
        )
        views = events.filter(kind=EventKind.PAGE_VIEW).count()
        if views < rule.views or events.filter(kind=EventKind.PURCHASE).exists():
            continue
        # Once per product and window of D days.
        window = int(event.occurred_at.timestamp() // (rule.days * 86400))
        send = _create(
            rule=rule,
            member=member,
            event=event,
            cause=f"browse:{event.name}:{window}"[:200],
            due_at=now,
            data={**event_data(event), "views": views, "products": [_product(event)]},
        )
        if send is not None:
            created.append(send)
    return created


def triggers_on_product_change(
    product, *, old_price, price_dropped: bool, restocked: bool, now: dt.datetime | None = None
) -> list[int]:
    """Sends of the channel's price-drop and restock rules for one product change: the ids
    of those pending (all due now). Asking twice for the same change creates nothing more."""
    now = now or clock_now()
    kinds = [RuleKind.PRICE_DROPPED] if price_dropped else []
    kinds += [RuleKind.BACK_IN_STOCK] if restocked else []
    rules = list(
        TriggerRule.objects.filter(channel_id=product.channel_id, kind__in=kinds, is_active=True)
    )
    if not rules:
        return []
    holders = product_holders(channel_id=product.channel_id, sku=product.sku, now=now)
    new_price = str(product.price)
    before = str(old_price) if old_price is not None else new_price
    data = {
        "sku": product.sku,
        "product_name": product.name,
        "name": product.name,
        "old_price": before,
        "new_price": new_price,
        "price": new_price,
        "old_price_text": _price_text(before),
        "new_price_text": _price_text(new_price),
        "image_url": product.image_url,
        "url": product.url,
        "in_stock": product.in_stock,
        "products": [
            {
                "name": product.name[:80],
                "image_url": product.image_url,
                "url": product.url,
                "price": new_price,
            }
        ],
    }
    prefix = f"product:{product.pk}:{product.changes}:"
    TriggerSend.objects.bulk_create(
        [
            TriggerSend(
                rule=rule,
                member_id=member_id,
                cause=f"{prefix}{member_id}",
                due_at=now,
                data={**data, "because": because},
            )
            for rule in rules
            for member_id, because in holders.items()
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )
    return list(
        TriggerSend.objects.filter(
            rule__in=rules, cause__startswith=prefix, status=SendStatus.PENDING
        ).values_list("pk", flat=True)
    )


def _product(event: MemberEvent) -> dict:
    properties = event.properties if isinstance(event.properties, dict) else {}
    price = properties.get("price", event.value)
    return {
        "name": str(properties.get("product_name") or event.name)[:80],
        "image_url": str(properties.get("image_url") or ""),
        "url": str(properties.get("url") or properties.get("product_url") or ""),
        "price": str(price) if price not in (None, "") else "",
    }


def cart_products(member: Member, *, since: dt.datetime, until: dt.datetime) -> list[dict]:
    """The products added to the cart since the last purchase or clearing, newest first."""
    closed = (
        MemberEvent.objects.filter(
            member=member,
            kind__in=[EventKind.PURCHASE, EventKind.CART_CLEARED],
            occurred_at__lte=until,
        )
        .order_by("-occurred_at")
        .values_list("occurred_at", flat=True)
        .first()
    )
    start = max(since - CART_LOOKBACK, closed) if closed else since - CART_LOOKBACK
    products, seen = [], set()
    for event in MemberEvent.objects.filter(
        member=member, kind=EventKind.CART_ADD, occurred_at__gt=start, occurred_at__lte=until
    ).order_by("-occurred_at", "-id"):
        product = _product(event)
        if product["name"] in seen:
            continue
        seen.add(product["name"])
        products.append(product)
    return products[:CAROUSEL_MAX]


def _price_text(price: str) -> str:
    try:
        return f"¥{int(float(price)):,}"
    except ValueError:
        return price


def product_carousel(products: list[dict], *, alt_text: str) -> dict:
    """A Flex carousel, one bubble per product: image, name, price and a button to its page."""
    bubbles = []
    for product in products[:CAROUSEL_MAX]:
        body = [
            {"type": "text", "text": product["name"] or "-", "weight": "bold", "wrap": True},
        ]
        if product["price"]:
            body.append({"type": "text", "text": _price_text(product["price"]), "color": "#888888"})
        bubble: dict = {
            "type": "bubble",
            "body": {"type": "box", "layout": "vertical", "contents": body},
        }
        if product["image_url"].startswith("https://"):
            bubble["hero"] = {
                "type": "image",
                "url": product["image_url"],
                "size": "full",
                "aspectMode": "cover",
                "aspectRatio": "1:1",
            }
        if product["url"].startswith(("https://", "http://")):
            bubble["footer"] = {
                "type": "box",
                "layout": "vertical",
                "contents": [
                    {
                        "type": "button",
                        "style": "primary",
                        "action": {"type": "uri", "label": "View", "uri": product["url"]},
                    }
                ],
            }
        bubbles.append(bubble)
    return {
        "type": "flex",
        "altText": alt_text[:400],
        "contents": {"type": "carousel", "contents": bubbles},
    }


def trigger_send_deliver(send_id: int, *, now: dt.datetime | None = None) -> str:
    """Send one due trigger message once: "sent", "failed", "skipped", "deferred" or "busy"."""
    now = now or clock_now()
    with transaction.atomic():
        send = (
            TriggerSend.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("rule__template", "member__channel")
            .filter(pk=send_id)
            .first()
        )
        if send is None:
            return "busy"
        if send.status != SendStatus.PENDING:
            return send.status
        if send.due_at > now:
            return "deferred"
        rule, member = send.rule, send.member
        outcome = _deliver(send, rule, member, now)
        send.save(
            update_fields=["status", "reason", "sent_at", "request_id", "error", "due_at", "data"]
        )
    return outcome


def _skip(send: TriggerSend, reason: str, now: dt.datetime) -> str:
    send.status, send.reason, send.sent_at = SendStatus.SKIPPED, reason, now
    return "skipped"


def _deliver(send: TriggerSend, rule: TriggerRule, member: Member, now: dt.datetime) -> str:
    if not rule.is_active:
        return _skip(send, "rule inactive", now)
    if member.friend_status == FriendStatus.BLOCKED:
        return _skip(send, "blocked", now)
    if rule.respects_frequency_cap or rule.kind in PRODUCT_RULE_KINDS:
        if member.marketing_opted_out_at is not None:
            return _skip(send, "opted out", now)
        quiet_end = quiet_hours_end(member.channel_id, now)
        if quiet_end is not None:
            send.due_at = quiet_end
            return "deferred"
        if member_is_over_cap(member, now=now):
            return _skip(send, "over the frequency cap", now)
    data = dict(send.data or {})
    extra: list[dict] = []
    if rule.kind == RuleKind.CART_ABANDONED:
        since = parse_time(data.get("cart_since")) or send.created_at
        bought = MemberEvent.objects.filter(
            member=member,
            kind__in=[EventKind.PURCHASE, EventKind.CART_CLEARED],
            occurred_at__gte=since,
            occurred_at__lte=now,
        ).exists()
        if bought:
            return _skip(send, "purchased or cleared", now)
        products = cart_products(member, since=since, until=now)
        if not products:
            return _skip(send, "empty cart", now)
        data["products"] = products
        data.setdefault("product_name", products[0]["name"])
        data["product_count"] = len(products)
        send.data = data
    if rule.kind in PRODUCT_RULE_KINDS:
        sku = str(data.get("sku", ""))
        holders = product_holders(
            channel_id=member.channel_id, sku=sku, now=now, member_ids=[member.pk]
        )
        if member.pk not in holders:
            return _skip(send, "no longer in the cart or favourites", now)
    if data.get("products") and rule.kind in (
        RuleKind.CART_ABANDONED,
        RuleKind.PRODUCT_BROWSED,
        *PRODUCT_RULE_KINDS,
    ):
        extra = [product_carousel(data["products"], alt_text=_alt_text(rule))]
    template = list(rule.template.messages)[: 5 - len(extra)]
    messages, problems = personalize_for_member([*template, *extra], member=member, data=data)
    if problems:
        send.status, send.sent_at = SendStatus.FAILED, now
        send.error = "; ".join(f"{p.path}: {p.message}" for p in problems)
        return "failed"
    rate_limit_wait(channel_id=member.channel.channel_id, endpoint="push")
    try:
        result = client_for_channel(member.channel).push(
            to=member.line_user_id, messages=messages, retry_key=send.retry_key
        )
    except LineApiError as error:
        send.error = str(error)
        if is_transient(error):
            TriggerSend.objects.filter(pk=send.pk).update(attempts=F("attempts") + 1)
            send.due_at = now + retry_delay(send.attempts)
            return "deferred"
        send.status, send.sent_at = SendStatus.FAILED, now
        send.request_id = getattr(error, "request_id", None) or ""
        return "failed"
    send.status, send.sent_at = SendStatus.SENT, now
    send.request_id = result.effective_request_id or ""
    messages_record_outbound(
        member=member,
        messages=messages,
        source=MessageSource.TRIGGER,
        source_id=rule.pk,
        status="sent",
    )
    return "sent"


def _alt_text(rule: TriggerRule) -> str:
    from django.utils.translation import gettext

    if rule.kind == RuleKind.CART_ABANDONED:
        return gettext("Items in your cart")
    if rule.kind == RuleKind.PRICE_DROPPED:
        return gettext("A price drop")
    if rule.kind == RuleKind.BACK_IN_STOCK:
        return gettext("Back in stock")
    return gettext("Products you looked at")


def trigger_sends_due(*, now: dt.datetime | None = None, limit: int = 1000) -> list[int]:
    """Ids of the pending trigger sends due by ``now``."""
    now = now or clock_now()
    return list(
        TriggerSend.objects.filter(status=SendStatus.PENDING, due_at__lte=now)
        .order_by("due_at")
        .values_list("pk", flat=True)[:limit]
    )
