"""The product catalog through the API: validation, upserts, and which changes count."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.models import MessageTemplate
from integrations.models import Product
from journeys.models import RuleKind, TriggerRule, TriggerSend
from members.events import event_record
from members.models import EventKind

pytestmark = pytest.mark.django_db

SHIRT = {
    "name": "Linen shirt",
    "price": "4900",
    "image_url": "https://shop.example.com/img/1.jpg",
    "url": "https://shop.example.com/p/SKU-1",
    "in_stock": True,
}


def test_a_product_is_created_then_updated_by_sku(api, channel):
    created = api.put("products/SKU-1/", SHIRT)
    assert created.status_code == 201
    assert created.json()["price"] == "4900.00"
    updated = api.put("products/SKU-1/", {**SHIRT, "name": "Linen shirt (white)"})
    assert updated.status_code == 200
    assert api.get("products/SKU-1/").json()["name"] == "Linen shirt (white)"
    assert Product.objects.get(channel=channel, sku="SKU-1").name == "Linen shirt (white)"
    assert api.get("products/SKU-404/").status_code == 404


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({**SHIRT, "price": "-1"}, "price"),
        ({**SHIRT, "price": "cheap"}, "price"),
        ({k: v for k, v in SHIRT.items() if k != "name"}, "name"),
        ({**SHIRT, "image_url": "http://shop.example.com/img/1.jpg"}, "image_url"),
        ({**SHIRT, "url": "not a url"}, "url"),
        ({**SHIRT, "in_stock": "maybe"}, "in_stock"),
    ],
)
def test_bad_products_get_a_400_naming_the_field_and_store_nothing(api, payload, field):
    response = api.put("products/SKU-1/", payload)
    assert response.status_code == 400
    assert field in response.json()
    assert not Product.objects.exists()


def test_a_too_long_sku_is_refused(api):
    response = api.put(f"products/{'X' * 101}/", SHIRT)
    assert response.status_code == 400
    assert "sku" in response.json()


def test_another_channels_product_is_not_visible(api, client):
    from integrations.tokens import integration_create
    from tests.factories import ChannelFactory

    _other, token = integration_create(name="Other shop", channel=ChannelFactory())
    client.put(
        "/api/v1/products/SKU-1/",
        SHIRT,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert api.get("products/SKU-1/").status_code == 404


def test_only_a_price_drop_or_a_restock_sends_and_only_once(api, channel, member):
    TriggerRule.objects.create(
        channel=channel,
        name="Price drop",
        kind=RuleKind.PRICE_DROPPED,
        template=MessageTemplate.objects.create(
            channel=channel, name="drop", messages=[{"type": "text", "text": "cheaper"}]
        ),
    )
    TriggerRule.objects.create(
        channel=channel,
        name="Restock",
        kind=RuleKind.BACK_IN_STOCK,
        template=MessageTemplate.objects.create(
            channel=channel, name="restock", messages=[{"type": "text", "text": "back"}]
        ),
    )
    event_record(
        member=member,
        kind=EventKind.CART_ADD,
        name="SKU-1",
        occurred_at=timezone.now() - dt.timedelta(hours=1),
        idempotency_key="cart-1",
    )
    api.put("products/SKU-1/", SHIRT)
    assert TriggerSend.objects.count() == 0  # new: nothing to compare with

    api.put("products/SKU-1/", {**SHIRT, "price": "3900"})
    api.put("products/SKU-1/", {**SHIRT, "price": "3900"})  # the same again: no change
    api.put("products/SKU-1/", {**SHIRT, "price": "4500"})  # up: nothing
    sends = list(TriggerSend.objects.select_related("rule"))
    assert [s.rule.kind for s in sends] == [RuleKind.PRICE_DROPPED]
    assert sends[0].data["old_price"] == "4900.00"
    assert sends[0].data["new_price"] == "3900.00"
    assert sends[0].data["because"] == "cart"

    api.put("products/SKU-1/", {**SHIRT, "price": "4500", "in_stock": False})
    api.put("products/SKU-1/", {**SHIRT, "price": "4500", "in_stock": False})
    api.put("products/SKU-1/", {**SHIRT, "price": "4500", "in_stock": True})
    api.put("products/SKU-1/", {**SHIRT, "price": "4500", "in_stock": True})
    kinds = sorted(TriggerSend.objects.values_list("rule__kind", flat=True))
    assert kinds == [RuleKind.BACK_IN_STOCK, RuleKind.PRICE_DROPPED]
    assert Product.objects.get(sku="SKU-1").price == Decimal("4500")


def test_product_rules_always_count_as_marketing(channel):
    rule = TriggerRule(
        channel=channel,
        name="Restock",
        kind=RuleKind.BACK_IN_STOCK,
        respects_frequency_cap=False,
        template=MessageTemplate.objects.create(
            channel=channel, name="restock", messages=[{"type": "text", "text": "back"}]
        ),
    )
    rule.full_clean()
    assert rule.respects_frequency_cap is True
