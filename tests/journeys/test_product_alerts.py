"""Price drops and restocks end to end: the company's system PUTs a product through the API, a
real worker sends to the members with it in their cart or favourites, the sandbox is the phone."""

import datetime as dt

from integrations.tokens import integration_create
from journeys.models import RuleKind, SendStatus, TriggerRule, TriggerSend
from members.events import event_record
from members.models import EventKind, Message, MessageSource
from tests.conftest import wait_for

from .conftest import friends, phone, template, text

SHIRT = {
    "name": "Linen shirt",
    "price": "4900",
    "image_url": "https://shop.example.com/img/1.jpg",
    "url": "https://shop.example.com/p/SKU-1",
    "in_stock": True,
}


def _put(client, token, sku, data):
    return client.put(
        f"/api/v1/products/{sku}/",
        data,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_a_price_drop_reaches_carts_and_favourites_but_not_buyers(journeys, clock, client):
    channel = journeys.channel
    _integration, token = integration_create(name="Online shop", channel=channel)
    TriggerRule.objects.create(
        channel=channel,
        name="Price drop",
        kind=RuleKind.PRICE_DROPPED,
        template=template(
            channel,
            text(
                "{{ member.display_name }}: {{ data.product_name }} is now "
                "{{ data.new_price_text }} (was {{ data.old_price_text }})"
            ),
        ),
    )
    assert _put(client, token, "SKU-1", SHIRT).status_code == 201
    shopper, fan, buyer, stranger = friends(journeys, 4)
    earlier = clock.now - dt.timedelta(hours=3)
    for member in (shopper, buyer):
        event_record(
            member=member,
            kind=EventKind.CART_ADD,
            name="SKU-1",
            occurred_at=earlier,
            idempotency_key=f"cart-{member.pk}",
        )
    event_record(
        member=fan,
        kind=EventKind.CUSTOM,
        name="favorite",
        properties={"sku": "SKU-1"},
        occurred_at=earlier,
        idempotency_key="fav-1",
    )
    event_record(
        member=buyer,
        kind=EventKind.PURCHASE,
        name="SKU-1",
        occurred_at=earlier + dt.timedelta(hours=1),
        idempotency_key="order-1",
    )

    assert _put(client, token, "SKU-1", {**SHIRT, "price": "3900"}).status_code == 200

    for member, name in ((shopper, "Friend 0"), (fan, "Friend 1")):
        received = wait_for(lambda member=member: phone(journeys, member))
        assert received[0] == {
            "type": "text",
            "text": f"{name}: Linen shirt is now ¥3,900 (was ¥4,900)",
        }
        bubble = received[1]["contents"]["contents"][0]
        assert bubble["hero"]["url"] == SHIRT["image_url"]
        assert bubble["footer"]["contents"][0]["action"]["uri"] == SHIRT["url"]
    # The same price again is no change: nothing more is sent.
    assert _put(client, token, "SKU-1", {**SHIRT, "price": "3900"}).status_code == 200
    assert not wait_for(
        lambda: (
            TriggerSend.objects.exclude(status=SendStatus.SENT).exists()
            or TriggerSend.objects.count() != 2
        ),
        timeout=3,
    )
    assert len(phone(journeys, shopper)) == 2
    assert phone(journeys, buyer) == []
    assert phone(journeys, stranger) == []
    assert Message.objects.filter(member=shopper, source=MessageSource.TRIGGER).count() == 2


def test_a_restock_waits_out_quiet_hours_and_respects_the_frequency_cap(journeys, clock, client):
    from campaigns.models import SendingPolicy

    channel = journeys.channel
    _integration, token = integration_create(name="Online shop", channel=channel)
    TriggerRule.objects.create(
        channel=channel,
        name="Restock",
        kind=RuleKind.BACK_IN_STOCK,
        template=template(channel, text("{{ data.product_name }} is back")),
    )
    # 10:00 in Japan; quiet from 09:00 to 11:00; one marketing message a week at most.
    SendingPolicy.objects.create(
        channel=channel,
        quiet_hours_start=dt.time(9),
        quiet_hours_end=dt.time(11),
        frequency_cap_count=1,
        frequency_cap_days=7,
    )
    _put(client, token, "SKU-1", {**SHIRT, "in_stock": False})
    shopper, capped = friends(journeys, 2)
    Message.objects.create(
        channel=channel,
        member=capped,
        direction="out",
        message_type="text",
        text="a campaign",
        source=MessageSource.CAMPAIGN,
        status="sent",
        created_at=clock.now - dt.timedelta(days=1),
    )
    for member in (shopper, capped):
        event_record(
            member=member,
            kind=EventKind.CART_ADD,
            name="SKU-1",
            occurred_at=clock.now - dt.timedelta(hours=1),
            idempotency_key=f"cart-{member.pk}",
        )
    _put(client, token, "SKU-1", SHIRT)
    assert not wait_for(lambda: phone(journeys, shopper), timeout=3)
    clock.advance(hours=1, minutes=1)
    received = wait_for(lambda: phone(journeys, shopper))
    assert received[0] == {"type": "text", "text": "Linen shirt is back"}
    skipped = wait_for(
        lambda: TriggerSend.objects.filter(member=capped, status=SendStatus.SKIPPED).first()
    )
    assert skipped.reason == "over the frequency cap"
    assert phone(journeys, capped) == []
