"""Who has a product in their cart or favourites, for price-drop and restock messages.

- Cart: a ``cart_add`` event named with the SKU in the last 30 days, and no ``purchase`` or
  ``cart_cleared`` since (the same notion of a cart as the abandoned-cart rule).
- Favourites: a ``custom`` event named ``favorite`` with the property ``sku``, and no
  ``unfavorite`` custom event for that SKU nor a purchase of it since.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Max, Q

from members.models import EventKind, FriendStatus, MemberEvent

CART_LOOKBACK = dt.timedelta(days=30)
FAVORITE = "favorite"
UNFAVORITE = "unfavorite"


def _latest(events, condition: Q) -> dict[int, dt.datetime]:
    return dict(
        events.filter(condition)
        .order_by()
        .values("member_id")
        .annotate(at=Max("occurred_at"))
        .values_list("member_id", "at")
    )


def product_holders(
    *, channel_id: int, sku: str, now: dt.datetime, member_ids: Iterable[int] | None = None
) -> dict[int, str]:
    """Members (not blocked) with ``sku`` in their cart or favourites: member id -> "cart" or
    "favorite" (the cart when both)."""
    events = MemberEvent.objects.filter(member__channel_id=channel_id, occurred_at__lte=now)
    events = events.exclude(member__friend_status=FriendStatus.BLOCKED)
    if member_ids is not None:
        events = events.filter(member_id__in=list(member_ids))
    carted = _latest(
        events, Q(kind=EventKind.CART_ADD, name=sku, occurred_at__gt=now - CART_LOOKBACK)
    )
    favored = _latest(events, Q(kind=EventKind.CUSTOM, name=FAVORITE, properties__sku=sku))
    ids = set(carted) | set(favored)
    if not ids:
        return {}
    mine = events.filter(member_id__in=ids)
    cart_closed = _latest(mine, Q(kind__in=[EventKind.PURCHASE, EventKind.CART_CLEARED]))
    favorite_closed = _latest(
        mine,
        Q(kind=EventKind.PURCHASE, name=sku)
        | Q(kind=EventKind.CUSTOM, name=UNFAVORITE, properties__sku=sku),
    )
    holders: dict[int, str] = {}
    for member_id, at in favored.items():
        closed = favorite_closed.get(member_id)
        if closed is None or closed < at:
            holders[member_id] = "favorite"
    for member_id, at in carted.items():
        closed = cart_closed.get(member_id)
        if closed is None or closed < at:
            holders[member_id] = "cart"
    return holders
