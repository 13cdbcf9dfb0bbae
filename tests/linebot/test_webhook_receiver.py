import json

import pytest

from linebot.models import Channel, WebhookEvent, WebhookEventStatus
from linebot.signature import signature_create
from linebot.webhook import webhook_event_handle, webhook_events_retry
from members.models import Member, Message
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db
USER = "U" + "1" * 32


def event(event_id, kind="message", **extra):
    base = {
        "type": kind,
        "mode": "active",
        "timestamp": 1_790_000_000_000,
        "webhookEventId": event_id,
        "deliveryContext": {"isRedelivery": False},
        "source": {"type": "user", "userId": USER},
    }
    if kind == "message":
        base["replyToken"] = "r" * 32
        base["message"] = {"type": "text", "id": event_id[-6:], "text": f"hi {event_id}"}
    base.update(extra)
    return base


def post(client, channel, body: bytes, signature: str | None = "sign"):
    headers = {"accept-language": "en"}
    if signature == "sign":
        signature = signature_create(channel_secret=channel.channel_secret, body=body)
    if signature is not None:
        headers["x-line-signature"] = signature  # LINE's header name is case-insensitive.
    return client.post(
        f"/line/webhook/{channel.webhook_key}/",
        body,
        content_type="application/json",
        headers=headers,
    )


def test_verification_request_without_events_is_answered_200(client):
    channel = ChannelFactory()

    response = post(
        client, channel, json.dumps({"destination": "U" + "0" * 32, "events": []}).encode()
    )

    assert response.status_code == 200
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize(
    ("signature", "status", "says"),
    [
        (None, 401, "missing"),
        ("bm90IHRoZSByaWdodCBvbmU=", 403, "does not match"),
        ("", 401, "missing"),
    ],
)
def test_forged_requests_are_refused_and_nothing_is_stored(client, signature, status, says):
    channel = ChannelFactory()
    body = json.dumps({"events": [event("01HFORGED0000000000000000A")]}).encode()

    response = post(client, channel, body, signature=signature)

    assert response.status_code == status
    assert says in response.json()["message"]
    assert not WebhookEvent.objects.exists()


def test_a_body_signed_with_another_channels_secret_is_refused(client):
    channel, other = ChannelFactory(), ChannelFactory()
    body = json.dumps({"events": [event("01HOTHER00000000000000000A")]}).encode()

    response = post(
        client,
        channel,
        body,
        signature=signature_create(channel_secret=other.channel_secret, body=body),
    )

    assert response.status_code == 403
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"{not json", "not JSON"),
        (b'{"destination": "x"}', "no 'events' list"),
        (
            json.dumps({"events": [{"type": "message"}]}).encode(),
            "events[0]: 'webhookEventId' is missing",
        ),
        (
            json.dumps(
                {"events": [{"type": "follow", "webhookEventId": "A", "timestamp": "now"}]}
            ).encode(),
            "events[0]: 'timestamp'",
        ),
    ],
)
def test_malformed_bodies_are_refused_naming_what_is_wrong(client, body, says):
    channel = ChannelFactory()

    response = post(client, channel, body)

    assert response.status_code == 400
    assert says in response.json()["message"]
    assert not WebhookEvent.objects.exists()


def test_an_oversized_body_is_refused(client):
    channel = ChannelFactory()
    body = json.dumps(
        {"events": [event("01HBIG", message={"type": "text", "id": "1", "text": "x" * 1_100_000})]}
    ).encode()

    assert post(client, channel, body).status_code == 413
    assert not WebhookEvent.objects.exists()


def test_unknown_or_inactive_channels_get_404(client):
    channel = ChannelFactory(is_active=False)
    body = json.dumps({"events": []}).encode()

    assert post(client, channel, body).status_code == 404


def test_a_channel_deactivated_here_gets_404_at_once(client):
    channel = ChannelFactory()
    body = json.dumps({"events": []}).encode()
    assert post(client, channel, body).status_code == 200

    channel.is_active = False
    channel.save()

    assert post(client, channel, body).status_code == 404


def test_the_channel_is_read_once_for_many_requests(client, django_assert_max_num_queries):
    channel = ChannelFactory()
    body = json.dumps({"events": [event("01HONCE0000000000000000000")]}).encode()
    assert post(client, channel, body).status_code == 200

    # Only the insert of the events: the channel is still known from the first request.
    with django_assert_max_num_queries(1):
        assert post(client, channel, body).status_code == 200


def test_a_secret_changed_in_another_process_is_used_at_once(client):
    channel = ChannelFactory()
    old_secret = channel.channel_secret
    body = json.dumps({"events": [event("01HNEWSECRET00000000000001")]}).encode()
    assert post(client, channel, json.dumps({"events": []}).encode()).status_code == 200

    # Another process saves a new secret: this one still holds the channel with the old one.
    Channel.objects.filter(pk=channel.pk).update(channel_secret="f" * 32)
    channel.channel_secret = "f" * 32

    assert post(client, channel, body).status_code == 200
    assert WebhookEvent.objects.filter(webhook_event_id="01HNEWSECRET00000000000001").exists()
    # ... and a request signed with the old secret is refused.
    channel.channel_secret = old_secret
    assert post(client, channel, body).status_code == 403


def test_a_replayed_request_stores_each_event_once(client, django_capture_on_commit_callbacks):
    channel = ChannelFactory()
    body = json.dumps(
        {"events": [event("01HREPLAY00000000000000001"), event("01HREPLAY00000000000000002")]}
    ).encode()

    with django_capture_on_commit_callbacks() as first:
        assert post(client, channel, body).status_code == 200
    with django_capture_on_commit_callbacks() as second:
        assert post(client, channel, body).status_code == 200

    assert WebhookEvent.objects.count() == 2
    assert len(first) == 1 and len(second) == 0  # the replay queues no handling


def test_one_bad_event_fails_alone_and_can_be_retried(client, django_capture_on_commit_callbacks):
    channel = ChannelFactory()
    broken = event("01HBROKEN00000000000000001")
    del broken["message"]  # a message event without its message
    body = json.dumps(
        {"events": [event("01HGOOD000000000000000001"), broken, event("01HGOOD000000000000000002")]}
    ).encode()
    with django_capture_on_commit_callbacks():
        post(client, channel, body)

    for stored in WebhookEvent.objects.order_by("id"):
        webhook_event_handle(stored.pk)

    statuses = dict(WebhookEvent.objects.values_list("webhook_event_id", "status"))
    assert statuses == {
        "01HGOOD000000000000000001": WebhookEventStatus.DONE,
        "01HBROKEN00000000000000001": WebhookEventStatus.FAILED,
        "01HGOOD000000000000000002": WebhookEventStatus.DONE,
    }
    failed = WebhookEvent.objects.get(status=WebhookEventStatus.FAILED)
    assert "KeyError" in failed.error and "message" in failed.error
    assert Message.objects.count() == 2
    assert Member.objects.count() == 1

    # Staff fix the cause (here: the payload) and retry from the admin.
    failed.payload["message"] = {"type": "text", "id": "9", "text": "fixed"}
    failed.save()
    with django_capture_on_commit_callbacks() as queued:
        assert webhook_events_retry([failed.pk]) == 1
    assert len(queued) == 1
    webhook_event_handle(failed.pk)
    failed.refresh_from_db()
    assert failed.status == WebhookEventStatus.DONE and failed.attempts == 2
    assert Message.objects.filter(text="fixed").exists()


def test_handling_twice_has_no_second_effect():
    channel = ChannelFactory()
    stored = WebhookEvent.objects.create(
        channel=channel,
        webhook_event_id="01HTWICE0000000000000000001",
        event_type="message",
        occurred_at="2026-11-23T10:00:00Z",
        payload=event("01HTWICE0000000000000000001"),
    )

    webhook_event_handle(stored.pk)
    assert webhook_event_handle(stored.pk) is None

    assert Message.objects.count() == 1


def test_unknown_event_types_are_recorded_without_error():
    channel = ChannelFactory()
    stored = WebhookEvent.objects.create(
        channel=channel,
        webhook_event_id="01HNEW00000000000000000001",
        event_type="somethingNew",
        occurred_at="2026-11-23T10:00:00Z",
        payload=event("01HNEW00000000000000000001", kind="somethingNew"),
    )

    assert webhook_event_handle(stored.pk).status == WebhookEventStatus.IGNORED


def test_failed_events_show_their_error_in_the_admin(admin_client):
    channel = ChannelFactory()
    WebhookEvent.objects.create(
        channel=channel,
        webhook_event_id="01HFAIL0000000000000000001",
        event_type="message",
        occurred_at="2026-11-23T10:00:00Z",
        payload={},
        status=WebhookEventStatus.FAILED,
        error="KeyError: 'message'",
    )

    html = admin_client.get("/admin/linebot/webhookevent/?status__exact=failed").content.decode()

    assert "KeyError: &#x27;message&#x27;" in html
