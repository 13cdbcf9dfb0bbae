"""The product catalog fed by the company's systems: upsert by SKU, and tell price drops and
restocks to whoever listens (``signals.product_changed``).

An upsert that changes nothing sends nothing, so a system resending its whole catalog is safe.
"""

from django.db import IntegrityError, transaction

from linebot.models import Channel

from .models import Product
from .signals import product_changed

FIELDS = ("name", "price", "image_url", "url", "in_stock")


def product_upsert(*, channel: Channel, sku: str, data: dict) -> tuple[Product, bool]:
    """Create or update the channel's product ``sku`` with validated ``data``; (product, created).

    A lower price than before, or in stock after out of stock, counts as a change (``changes``
    goes up by one) and sends ``product_changed`` in the same transaction.
    """
    try:
        with transaction.atomic():
            return _upsert(channel, sku, data)
    except IntegrityError:
        # Two first PUTs of one SKU at once: the loser updates the winner's row.
        with transaction.atomic():
            return _upsert(channel, sku, data)


def _upsert(channel: Channel, sku: str, data: dict) -> tuple[Product, bool]:
    product = Product.objects.select_for_update().filter(channel=channel, sku=sku).first()
    if product is None:
        product = Product.objects.create(channel=channel, sku=sku, **data)
        return product, True
    old_price, was_in_stock = product.price, product.in_stock
    changed = [name for name in FIELDS if name in data and getattr(product, name) != data[name]]
    if not changed:
        return product, False
    for name in changed:
        setattr(product, name, data[name])
    price_dropped = product.in_stock and product.price < old_price
    restocked = product.in_stock and not was_in_stock
    if price_dropped or restocked:
        product.changes += 1
        changed.append("changes")
    product.save(update_fields=[*changed, "updated_at"])
    if price_dropped or restocked:
        product_changed.send(
            sender=Product,
            product=product,
            old_price=old_price,
            price_dropped=price_dropped,
            restocked=restocked,
        )
    return product, False
