"""Simulated users: their actions reach the app as signed webhooks shaped per webhook.yml."""

import re
import time

import pytest
import requests

from linebot.signature import signature_is_valid
from tests.sandbox.line_specs import schema_validate, spec

SPEC = spec("webhook.yml")
EVENT_SCHEMAS = SPEC["components"]["schemas"]["Event"]["discriminator"]["mapping"]
MESSAGE_SCHEMAS = SPEC["components"]["schemas"]["MessageContent"]["discriminator"]["mapping"]
ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def check_schema(ref: str, instance: dict) -> None:
    schema_validate("webhook.yml", {"$ref": ref}, instance)


def check_event(event: dict) -> None:
    """The event against its own schema (and its message against the message's schema)."""
    check_schema(EVENT_SCHEMAS[event["type"]], event)
    if event["type"] == "message":
        check_schema(MESSAGE_SCHEMAS[event["message"]["type"]], event["message"])
    assert ULID.match(event["webhookEventId"])
    assert event["mode"] == "active"


@pytest.fixture
def user(sandbox, sandbox_channel):
    return sandbox.control.user_create(sandbox_channel.channel_id, displayName="Hanako")["user"]


def test_every_action_sends_a_signed_webhook_valid_per_the_schema(sandbox, sandbox_channel, user):
    control, channel_id, user_id = sandbox.control, sandbox_channel.channel_id, user["userId"]
    control.follow(channel_id, user_id)
    sent = control.send_text(channel_id, user_id, "hello 👋")
    control.send_sticker(channel_id, user_id, "446", "1988")
    control.send_image(channel_id, user_id)
    control.send_location(
        channel_id, user_id, title="Tokyo", address="Marunouchi", latitude=35.68, longitude=139.76
    )
    control.postback(channel_id, user_id, "action=buy&id=1", params={"date": "2026-04-01"})
    control.unsend(channel_id, user_id, sent["event"]["message"]["id"])
    control.block(channel_id, user_id)
    control.unblock(channel_id, user_id)

    received = sandbox_channel.receiver.received
    assert len(received) == 9
    for hook in received:
        assert signature_is_valid(
            channel_secret=sandbox_channel.channel_secret,
            body=hook.body,
            signature=hook.headers["X-Line-Signature"],
        )
        check_schema("#/components/schemas/CallbackRequest", hook.json)
        assert hook.json["destination"] == sandbox_channel.bot_user_id
        for event in hook.json["events"]:
            check_event(event)
            assert event["deliveryContext"] == {"isRedelivery": False}
            assert event["source"] == {"type": "user", "userId": user_id}
    kinds = [event["type"] for event in sandbox_channel.receiver.events]
    assert kinds == [
        "follow",
        "message",
        "message",
        "message",
        "message",
        "postback",
        "unsend",
        "unfollow",
        "follow",
    ]
    events = sandbox_channel.receiver.events
    assert events[0]["follow"] == {"isUnblocked": False}
    assert events[-1]["follow"] == {"isUnblocked": True}
    assert "replyToken" not in events[7]
    assert events[1]["message"]["text"] == "hello 👋"
    assert events[5]["postback"] == {"data": "action=buy&id=1", "params": {"date": "2026-04-01"}}


def test_the_apps_answer_is_recorded(sandbox, sandbox_channel, user):
    sandbox_channel.receiver.status = 500
    result = sandbox.control.follow(sandbox_channel.channel_id, user["userId"])
    assert result["delivery"]["statusCode"] == 500
    webhooks = sandbox.control.webhooks(sandbox_channel.channel_id)
    assert webhooks[0]["deliveries"][0]["statusCode"] == 500


def test_redelivery_resends_the_same_event_marked_as_redelivered(sandbox, sandbox_channel, user):
    first = sandbox.control.follow(sandbox_channel.channel_id, user["userId"])["event"]
    again = sandbox.control.redeliver(sandbox_channel.channel_id, first["webhookEventId"])
    assert again["delivery"]["statusCode"] == 200
    events = sandbox_channel.receiver.events
    assert [e["webhookEventId"] for e in events] == [first["webhookEventId"]] * 2
    assert [e["deliveryContext"]["isRedelivery"] for e in events] == [False, True]
    assert events[1]["replyToken"] == events[0]["replyToken"]
    check_event(events[1])


def test_a_redelivered_reply_token_still_works_once(sandbox, sandbox_channel, user):
    event = sandbox.control.follow(sandbox_channel.channel_id, user["userId"])["event"]
    sandbox.control.redeliver(sandbox_channel.channel_id, event["webhookEventId"])
    body = {"replyToken": event["replyToken"], "messages": [{"type": "text", "text": "hi"}]}
    url = f"{sandbox.url}/v2/bot/message/reply"
    statuses = [
        requests.post(url, json=body, headers=sandbox_channel.auth, timeout=10).status_code
        for _ in range(2)
    ]
    assert statuses == [200, 400]


def test_webhook_endpoint_get_set_and_test(sandbox, sandbox_channel):
    url = f"{sandbox.url}/v2/bot/channel/webhook"
    auth = sandbox_channel.auth
    got = requests.get(f"{url}/endpoint", headers=auth, timeout=10).json()
    assert got == {"endpoint": sandbox_channel.receiver.url, "active": True}
    tested = requests.post(f"{url}/test", json={}, headers=auth, timeout=10).json()
    assert tested["success"] is True and tested["statusCode"] == 200
    assert sandbox_channel.receiver.received[-1].json["events"] == []
    new = sandbox_channel.receiver.url + "?v=2"
    assert (
        requests.put(
            f"{url}/endpoint", json={"endpoint": new}, headers=auth, timeout=10
        ).status_code
        == 200
    )
    assert requests.get(f"{url}/endpoint", headers=auth, timeout=10).json()["endpoint"] == new


def _link_token(sandbox, channel, user_id):
    response = requests.post(
        f"{sandbox.url}/v2/bot/user/{user_id}/linkToken", headers=channel.auth, timeout=10
    )
    return response.json()["linkToken"]


def test_account_link_dialog_completes_the_link_once(sandbox, sandbox_channel, user):
    control = sandbox.control
    control.follow(sandbox_channel.channel_id, user["userId"])
    token = _link_token(sandbox, sandbox_channel, user["userId"])
    nonce = "bm9uY2Utb2YtYXQtbGVhc3QtMTI4LWJpdHM="
    dialog = f"{sandbox.url}/dialog/bot/accountLink"
    page = requests.get(dialog, params={"linkToken": token, "nonce": nonce}, timeout=10)
    assert page.status_code == 200
    event = sandbox_channel.receiver.events[-1]
    check_event(event)
    assert event["type"] == "accountLink"
    assert event["link"] == {"result": "ok", "nonce": nonce}
    assert event["source"]["userId"] == user["userId"] and event["replyToken"]

    used = requests.get(dialog, params={"linkToken": token, "nonce": nonce}, timeout=10)
    assert used.status_code == 400
    assert len(sandbox_channel.receiver.events) == 2


def test_an_expired_link_token_sends_no_webhook(sandbox, sandbox_channel, user):
    control = sandbox.control
    control.follow(sandbox_channel.channel_id, user["userId"])
    control.limits_set(link_token_ttl=0)
    token = _link_token(sandbox, sandbox_channel, user["userId"])
    result = control.account_link(sandbox_channel.channel_id, token, "n" * 16)
    assert result["event"] is None
    assert [e["type"] for e in sandbox_channel.receiver.events] == ["follow"]


def test_a_failed_account_link_has_no_source_nor_reply_token(sandbox, sandbox_channel, user):
    control = sandbox.control
    control.follow(sandbox_channel.channel_id, user["userId"])
    token = _link_token(sandbox, sandbox_channel, user["userId"])
    event = control.account_link(sandbox_channel.channel_id, token, "n" * 16, ok=False)["event"]
    check_event(event)
    assert event["link"]["result"] == "failed"
    assert "source" not in event and "replyToken" not in event


def test_async_webhooks_are_delivered_in_the_background(sandbox, sandbox_channel, user):
    sandbox.control.configure(async_webhooks=True)
    result = sandbox.control.follow(sandbox_channel.channel_id, user["userId"])
    assert result["delivery"] is None
    deadline = time.monotonic() + 5
    while not sandbox_channel.receiver.received and time.monotonic() < deadline:
        time.sleep(0.02)
    assert (
        sandbox_channel.receiver.events[0]["webhookEventId"] == (result["event"]["webhookEventId"])
    )
