"""Webhooks: building LINE's event objects, signing them and POSTing them to the app.

Delivery is synchronous, so a control API call returns after the app has answered and tests
stay deterministic; the app's status is recorded with the event for inspection. Delivery never
holds the state lock: the app may call the sandbox back while handling the webhook.
"""

import datetime
import json
import logging
import threading
import time
from typing import Any

import requests
from werkzeug.wrappers import Response

from linebot.signature import signature_create

from .responses import ApiError, invalid_property, json_response
from .routing import Call, Route
from .state import Channel, Sandbox, SimUser, now_ms, random_hex, ulid

logger = logging.getLogger(__name__)

USER_AGENT = "LineBotWebhook/2.0"


def event_base(kind: str, user: SimUser | None, *, reply: bool) -> dict[str, Any]:
    """The fields every event has; ``reply`` adds a reply token (set by :func:`event_issue`)."""
    event: dict[str, Any] = {
        "type": kind,
        "mode": "active",
        "timestamp": now_ms(),
        "webhookEventId": ulid(),
        "deliveryContext": {"isRedelivery": False},
    }
    if user is not None:
        event["source"] = {"type": "user", "userId": user.user_id}
    if reply:
        event["replyToken"] = ""
    return event


def event_issue(sandbox: Sandbox, channel: Channel, event: dict[str, Any]) -> dict[str, Any]:
    """Give the event its reply token (if it takes one) and keep it for redelivery."""
    with sandbox.lock:
        if "replyToken" in event:
            if len(channel.reply_tokens) >= channel.prune_at:
                channel.forget_expired(
                    time.time(), redelivery_window=sandbox.limits.redelivered_reply_token_ttl
                )
            token = random_hex()
            event["replyToken"] = token
            channel.reply_tokens[token] = {
                "userId": event.get("source", {}).get("userId"),
                "expires": time.time() + sandbox.limits.reply_token_ttl,
                "eventTimestamp": event["timestamp"],
                "used": False,
            }
        channel.webhooks.append({"event": event, "deliveries": []})
    return event


def deliver(
    sandbox: Sandbox, channel: Channel, events: list[dict[str, Any]], *, url: str | None = None
) -> dict[str, Any]:
    """POST ``{destination, events}`` signed with the channel secret; return what happened."""
    url = url if url is not None else channel.webhook_url
    body = json.dumps(
        {"destination": channel.bot_user_id, "events": events}, ensure_ascii=False
    ).encode()
    result: dict[str, Any] = {"timestamp": now_ms(), "url": url, "statusCode": 0, "reason": ""}
    if not url or not (channel.webhook_active or events == []):
        result["reason"] = "no webhook URL" if not url else "webhook disabled"
    else:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "X-Line-Signature": signature_create(channel_secret=channel.channel_secret, body=body),
        }
        try:
            answer = requests.post(
                url, data=body, headers=headers, timeout=sandbox.limits.webhook_timeout
            )
            result.update(statusCode=answer.status_code, reason=answer.reason or "")
        except requests.RequestException as error:
            result["reason"] = type(error).__name__
            logger.warning("Webhook delivery to channel %s failed: %s", channel.channel_id, error)
    with sandbox.lock:
        for event in events:
            for record in channel.webhooks:
                if record["event"]["webhookEventId"] == event["webhookEventId"]:
                    record["deliveries"].append(
                        {**result, "isRedelivery": event["deliveryContext"]["isRedelivery"]}
                    )
    return result


def event_send(sandbox: Sandbox, channel: Channel, event: dict[str, Any]) -> dict[str, Any]:
    """Issue and deliver one event; the answer the control API gives back.

    With ``sandbox.async_webhooks`` (for load tests) delivery happens in a thread and
    ``delivery`` is None; its result still lands in the channel's webhook records.
    """
    event = event_issue(sandbox, channel, event)
    if sandbox.async_webhooks:
        threading.Thread(target=deliver, args=(sandbox, channel, [event]), daemon=True).start()
        return {"event": event, "delivery": None}
    return {"event": event, "delivery": deliver(sandbox, channel, [event])}


def event_redeliver(sandbox: Sandbox, channel: Channel, webhook_event_id: str) -> dict[str, Any]:
    """Send a past event again, as LINE's redelivery does: same id, ``isRedelivery`` true.

    Its reply token, if still unused, stays valid until 20 minutes after the event.
    """
    with sandbox.lock:
        found = next(
            (r for r in channel.webhooks if r["event"]["webhookEventId"] == webhook_event_id),
            None,
        )
        if found is None:
            raise ApiError(404, "Webhook event not found")
        event = json.loads(json.dumps(found["event"]))
        event["deliveryContext"]["isRedelivery"] = True
        token = channel.reply_tokens.get(event.get("replyToken", ""))
        if token is not None:
            token["expires"] = (
                event["timestamp"] / 1000 + sandbox.limits.redelivered_reply_token_ttl
            )
    return {"event": event, "delivery": deliver(sandbox, channel, [event])}


def endpoint_get(call: Call) -> Response:
    channel = call.bot
    return json_response({"endpoint": channel.webhook_url, "active": channel.webhook_active})


def endpoint_set(call: Call) -> Response:
    endpoint = call.json_object().get("endpoint")
    if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
        raise invalid_property("endpoint", "Must be a valid URL.")
    if len(endpoint) > 500:
        raise invalid_property("endpoint", "Must be at most 500 characters.")
    call.bot.webhook_url = endpoint
    return json_response({})


def endpoint_test(call: Call) -> Response:
    """Send the console's empty verification webhook and report how the app answered."""
    body = call.json() or {}
    endpoint = body.get("endpoint") if isinstance(body, dict) else None
    result = deliver(call.sandbox, call.bot, [], url=endpoint or call.bot.webhook_url)
    status = result["statusCode"]
    moment = datetime.datetime.fromtimestamp(result["timestamp"] / 1000, tz=datetime.UTC)
    return json_response(
        {
            "success": 200 <= status < 300,
            "timestamp": moment.isoformat().replace("+00:00", "Z"),
            "statusCode": status,
            "reason": result["reason"] or ("OK" if status == 200 else ""),
            "detail": str(status) if status else result["reason"],
        }
    )


ROUTES = [
    Route("/v2/bot/channel/webhook/endpoint", "GET", "webhook_endpoint_get", endpoint_get),
    Route("/v2/bot/channel/webhook/endpoint", "PUT", "webhook_endpoint_set", endpoint_set),
    Route("/v2/bot/channel/webhook/test", "POST", "webhook_test", endpoint_test, locked=False),
]
