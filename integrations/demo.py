"""The demo's integration and the first-party data its "online shop" reports through the API.

Called by crm.demo. The token is kept in ``var/demo-credentials.json`` (never committed) with the
demo's passwords, so the printed token stays valid across runs.
"""

import datetime as dt
import json

from django.conf import settings
from django.utils import timezone

from linebot.models import Channel

from .events import event_batch_record
from .members import member_upsert
from .models import Integration
from .tokens import integration_create, token_generate, token_hash

DEMO_INTEGRATION_NAME = "Demo online shop"


def demo_integration(channel: Channel) -> str:
    """The demo integration's token, creating the integration (again, if revoked) as needed."""
    path = settings.VAR_DIR / "demo-credentials.json"
    credentials = json.loads(path.read_text()) if path.exists() else {}
    token = credentials.get("api_token", "")
    if token and Integration.objects.active().filter(token_sha256=token_hash(token)).exists():
        return token
    token = token_generate()
    integration_create(name=DEMO_INTEGRATION_NAME, channel=channel, token=token)
    credentials["api_token"] = token
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(credentials, indent=2))
    path.chmod(0o600)
    return token


def demo_shop_reports(channel: Channel, line_user_ids: list[str]) -> dict:
    """Customer IDs for the demo friends, and a few purchases, page views and a cart.

    Goes through the same functions as the REST API, so sequences and triggers hear of the
    events as they would from the company's systems. Idempotent by the events' keys.
    """
    for number, line_user_id in enumerate(line_user_ids, start=1):
        member_upsert(
            channel=channel,
            external_id=f"C-{1000 + number}",
            data={"line_user_id": line_user_id, "tags": ["online shop"]},
        )
    now = timezone.now()

    def at(hours_ago: float) -> str:
        return (now - dt.timedelta(hours=hours_ago)).isoformat()

    tomorrow = (now + dt.timedelta(days=1)).isoformat()
    events = [
        {
            "external_id": "C-1001",
            "kind": "purchase",
            "name": "TEA-GREEN-100",
            "value": "1280",
            "properties": {"product_name": "緑茶 100g", "quantity": 2},
            "occurred_at": at(26),
            "idempotency_key": "demo-order-1",
        },
        {
            "external_id": "C-1002",
            "kind": "page_view",
            "name": "/products/sneakers-white",
            "occurred_at": at(5),
            "idempotency_key": "demo-view-1",
        },
        {
            "external_id": "C-1002",
            "kind": "cart_add",
            "name": "SNEAKERS-WHITE-27",
            "value": "8900",
            "properties": {"product_name": "スニーカー ホワイト 27cm"},
            "occurred_at": at(4),
            "idempotency_key": "demo-cart-1",
        },
        {
            "external_id": "C-1003",
            "kind": "reservation",
            "name": "shibuya-fitting",
            "properties": {"store": "渋谷店", "starts_at": tomorrow},
            "occurred_at": at(1),
            "idempotency_key": "demo-reservation-1",
        },
    ]
    return event_batch_record(channel=channel, payload={"events": events})
