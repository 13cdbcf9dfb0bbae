"""Signals the API sends for other apps to act on (journeys listens to them)."""

from django.dispatch import Signal

# A product's price went down or it came back in stock, inside the upsert's transaction.
# Arguments: product, old_price (Decimal or None), price_dropped (bool), restocked (bool).
product_changed = Signal()
