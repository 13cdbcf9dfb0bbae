import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.utils import timezone

from members.models import EventKind, MemberEvent, Segment
from members.segments import segment_contains, segment_count, segment_validate
from members.signals import member_event_recorded

pytestmark = pytest.mark.django_db


def purchase(**overrides):
    return {
        "external_id": "C-1001",
        "kind": "purchase",
        "name": "SKU-42",
        "properties": {"product_name": "Green tea", "quantity": 2},
        "value": "1280.00",
        "occurred_at": "2026-11-20T10:15:00+09:00",
        "idempotency_key": "order-5001",
        **overrides,
    }


def test_an_event_is_stored_and_answered_with_201(api, member):
    response = api.post("events/", purchase())

    assert response.status_code == 201
    body = response.json()
    assert body["external_id"] == "C-1001"
    assert body["kind"] == "purchase"
    assert body["value"] == "1280.00"
    event = MemberEvent.objects.get(member=member)
    assert body["id"] == event.pk
    assert event.properties == {"product_name": "Green tea", "quantity": 2}
    assert event.occurred_at.isoformat() == "2026-11-20T01:15:00+00:00"


def test_an_event_can_name_its_member_by_line_user_id(api, member):
    event = purchase(line_user_id=member.line_user_id, kind="page_view")
    del event["external_id"]

    response = api.post("events/", event)

    assert response.status_code == 201
    assert MemberEvent.objects.get().kind == EventKind.PAGE_VIEW


def test_a_retried_event_is_stored_once_and_answered_200_with_the_first(api, member):
    first = api.post("events/", purchase())
    retry = api.post("events/", purchase(value="9999.00"))

    assert first.status_code == 201
    assert retry.status_code == 200
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert MemberEvent.objects.filter(member=member).count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "refund"}, "kind"),
        ({"occurred_at": None}, "occurred_at"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at"),
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"value": "12.345"}, "value"),
        ({"properties": "not an object"}, "properties"),
        ({"properties": {"blob": "x" * 20000}}, "properties"),
        ({"kind": "custom", "name": ""}, "name"),
        ({"line_user_id": "U" + "a" * 32}, "external_id"),
        ({"external_id": "C-404"}, "external_id"),
    ],
)
def test_a_bad_event_is_a_400_naming_the_field(api, member, change, field):
    response = api.post("events/", {k: v for k, v in purchase(**change).items() if v is not None})

    assert response.status_code == 400
    assert field in response.json()
    assert not MemberEvent.objects.exists()


def test_a_body_that_is_not_json_is_a_400(api, member):
    response = api.client.post(
        "/api/v1/events/",
        "kind=purchase",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Bearer {api.token}",
    )

    assert response.status_code == 415


def test_an_event_for_another_channels_member_is_refused(api, other_channel_member):
    response = api.post("events/", purchase())

    assert response.status_code == 400
    assert response.json() == {"external_id": ["No member of this channel has this customer ID."]}
    assert not MemberEvent.objects.exists()


def test_a_batch_stores_the_good_items_and_reports_each_bad_one(api, member):
    api.post("events/", purchase())
    batch = [
        purchase(idempotency_key="order-5002"),
        purchase(),  # already stored: a duplicate
        purchase(kind="refund", idempotency_key="order-5003"),
        purchase(kind="cart_add", name="SKU-7", value=None, idempotency_key="cart-1"),
        "not an event",
        purchase(external_id="C-404", idempotency_key="order-5004"),
        purchase(idempotency_key="order-5002"),  # repeated within the batch
    ]
    batch[3].pop("value")

    response = api.post("events/batch/", {"events": batch})

    assert response.status_code == 200
    report = response.json()
    assert (report["received"], report["created"], report["duplicates"], report["failed"]) == (
        7,
        2,
        2,
        3,
    )
    assert [result["status"] for result in report["results"]] == [
        "created",
        "duplicate",
        "failed",
        "created",
        "failed",
        "failed",
        "duplicate",
    ]
    assert report["results"][6]["id"] == report["results"][0]["id"]
    assert report["errors"] == [
        {"index": 2, "field": "kind", "message": '"refund" is not a valid choice.'},
        {
            "index": 4,
            "field": None,
            "message": "Invalid data. Expected a dictionary, but got str.",
        },
        {
            "index": 5,
            "field": "external_id",
            "message": "No member of this channel has this customer ID.",
        },
    ]
    assert sorted(MemberEvent.objects.values_list("idempotency_key", flat=True)) == [
        "cart-1",
        "order-5001",
        "order-5002",
    ]


def test_a_batch_over_the_limit_is_refused_whole(api, member, settings):
    settings.INTEGRATIONS_EVENT_BATCH_MAX = 3
    batch = [purchase(idempotency_key=f"order-{n}") for n in range(4)]

    response = api.post("events/batch/", {"events": batch})

    assert response.status_code == 400
    assert response.json() == {"events": ["At most 3 events per batch; this one has 4."]}
    assert not MemberEvent.objects.exists()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"events": []}, "Send at least one event."),
        ({"events": {"kind": "purchase"}}, "Expected a list of events."),
        ([purchase()], 'Send the events as {"events": [...]}.'),
    ],
)
def test_a_malformed_batch_is_a_400_on_events(api, member, payload, message):
    response = api.post("events/batch/", payload)

    assert response.status_code == 400
    assert response.json() == {"events": [message]}


def test_a_retried_post_over_http_is_announced_once(live_server, channel, integration, member):
    """Sequences and triggers hear of each event once, after it is committed."""
    heard = []

    def receiver(sender, event, created, **kwargs):
        heard.append((event.idempotency_key, created))

    member_event_recorded.connect(receiver)
    try:
        headers = {"Authorization": f"Bearer {integration.token}", "Accept-Language": "en"}
        body = purchase(occurred_at=timezone.now().isoformat())
        answers = [
            requests.post(
                f"{live_server.url}/api/v1/events/", json=body, headers=headers, timeout=10
            )
            for _ in range(2)
        ]
    finally:
        member_event_recorded.disconnect(receiver)

    assert [answer.status_code for answer in answers] == [201, 200]
    assert heard == [("order-5001", True)]
    assert MemberEvent.objects.filter(member=member).count() == 1


def test_concurrent_retries_store_one_event(live_server, channel, integration, member):
    """Retries racing each other (a client timing out and resending) still count once."""
    headers = {"Authorization": f"Bearer {integration.token}"}
    body = purchase(occurred_at=timezone.now().isoformat())
    start = threading.Barrier(6)

    def post():
        start.wait()
        return requests.post(
            f"{live_server.url}/api/v1/events/", json=body, headers=headers, timeout=20
        )

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: post(), range(6)))

    assert sorted(answer.status_code for answer in answers) == [200] * 5 + [201]
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert MemberEvent.objects.filter(member=member).count() == 1


def test_reported_purchases_and_refunds_move_the_member_in_and_out_of_a_spend_segment(
    api, member, channel
):
    """Segments on event sums read the members' totals, which the reported events keep."""
    big_spenders = Segment.objects.create(
        channel=channel,
        name="Spent 10,000 in 30 days",
        definition=segment_validate(
            {
                "version": 1,
                "root": {
                    "type": "group",
                    "op": "and",
                    "rules": [
                        {
                            "type": "event",
                            "kind": "purchase",
                            "days": 30,
                            "measure": "sum",
                            "op": "gte",
                            "value": 10000,
                        }
                    ],
                },
            },
            channel=channel,
        ),
    )
    today = timezone.now().isoformat()

    def spent():
        return segment_contains(big_spenders, member), segment_count(big_spenders)

    api.post("events/", purchase(value="6000.00", occurred_at=today))
    assert spent() == (False, 0)
    response = api.post(
        "events/batch/",
        {
            "events": [
                purchase(value="3999.99", occurred_at=today, idempotency_key="order-2"),
                purchase(value="3999.99", occurred_at=today, idempotency_key="order-2"),
            ]
        },
    )
    assert response.json()["duplicates"] == 1  # a repeated order is counted once
    assert spent() == (False, 0)
    api.post("events/", purchase(value="0.01", occurred_at=today, idempotency_key="order-3"))
    assert spent() == (True, 1)
    api.post("events/", purchase(value="-500.00", occurred_at=today, idempotency_key="refund-3"))
    assert spent() == (False, 0)
