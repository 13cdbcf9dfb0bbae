"""The control and inspection API under ``/sandbox/api/``: not LINE's, the tester's side.

Register channels and Login channels, create users and drive what they do, set limits, quota
and faults, reset, and read back everything the sandbox received and delivered.
"""

import base64
from typing import Any

from werkzeug.wrappers import Response

from . import audiences, richmenus, users
from .responses import ApiError, json_response
from .routing import Call, Route
from .setup import (
    channel_apply,
    faults_apply,
    limits_apply,
    login_channel_apply,
    setup_apply,
)
from .state import Channel, SimUser
from .webhooks import event_redeliver


def _body(call: Call) -> dict[str, Any]:
    return call.json_object() if call.request.get_data(cache=True) else {}


def _channel(call: Call, channel_id: str) -> Channel:
    channel = call.sandbox.channel(channel_id)
    if channel is None:
        raise ApiError(404, f"Channel {channel_id} is not registered")
    return channel


def _user(channel: Channel, user_id: str) -> SimUser:
    user = channel.users.get(user_id)
    if user is None:
        raise ApiError(404, "User not found")
    return user


def reset(call: Call) -> Response:
    call.sandbox.reset()
    return json_response({})


def config_get(call: Call) -> Response:
    sandbox = call.sandbox
    return json_response(
        {
            "seed": sandbox.seed,
            "appUrl": sandbox.app_url,
            "autoChannels": sandbox.auto_channels,
            "asyncWebhooks": sandbox.async_webhooks,
            "rateLimitsEnabled": sandbox.rate_limiter.enabled,
            "rateLimits": {k: list(v) for k, v in sandbox.rate_limiter.overrides.items()},
            "limits": sandbox.limits.as_dict(),
            "faults": sandbox.faults.as_list(),
        }
    )


def config_set(call: Call) -> Response:
    """Apply a whole configuration (see :func:`setup.setup_apply`)."""
    try:
        setup_apply(call.sandbox, _body(call))
    except (KeyError, ValueError) as error:
        raise ApiError(400, str(error)) from error
    return config_get(call)


def limits_set(call: Call) -> Response:
    """Change limits: ``limits`` values, ``rateLimits`` {endpoint: [count, seconds] or null}."""
    try:
        limits_apply(call.sandbox, _body(call))
    except ValueError as error:
        raise ApiError(400, str(error)) from error
    return config_get(call)


def faults_set(call: Call) -> Response:
    try:
        faults_apply(call.sandbox, _body(call))
    except ValueError as error:
        raise ApiError(400, str(error)) from error
    return json_response({"rules": call.sandbox.faults.as_list(), "seed": call.sandbox.faults.seed})


def channels_list(call: Call) -> Response:
    with call.sandbox.lock:
        return json_response([channel.as_dict() for channel in call.sandbox.channels.values()])


def channel_register(call: Call, channel_id: str) -> Response:
    """Create or update a channel with the given credentials; others are generated."""
    try:
        channel = channel_apply(call.sandbox, channel_id, _body(call))
    except ValueError as error:
        raise ApiError(400, str(error)) from error
    with call.sandbox.lock:
        return json_response(channel.as_dict())


def channel_get(call: Call, channel_id: str) -> Response:
    return json_response(_channel(call, channel_id).as_dict())


def users_list(call: Call, channel_id: str) -> Response:
    channel = _channel(call, channel_id)
    with call.sandbox.lock:
        return json_response([user.as_dict() for user in channel.users.values()])


def user_create(call: Call, channel_id: str) -> Response:
    """Create a user; with ``follow: true`` they also add the account as a friend (webhook)."""
    channel = _channel(call, channel_id)
    body = _body(call)
    user = users.user_create(
        call.sandbox,
        channel,
        display_name=body.get("displayName", ""),
        picture_url=body.get("pictureUrl", ""),
        language=body.get("language", "ja"),
        email=body.get("email", ""),
        user_id=body.get("userId", ""),
    )
    result: dict[str, Any] = {"user": user.as_dict()}
    if body.get("follow"):
        result.update(users.user_follow(call.sandbox, channel, user))
        result["user"] = user.as_dict()
    return json_response(result, status=201)


def user_get(call: Call, channel_id: str, user_id: str) -> Response:
    channel = _channel(call, channel_id)
    with call.sandbox.lock:
        user = _user(channel, user_id)
        return json_response(
            {**user.as_dict(), "currentRichMenuId": users.user_rich_menu_id(channel, user)}
        )


def user_action(call: Call, channel_id: str, user_id: str, action: str) -> Response:
    """Make the user do something; the answer holds the webhook event and the app's status."""
    channel = _channel(call, channel_id)
    user = _user(channel, user_id)
    body = _body(call)
    sandbox = call.sandbox
    try:
        if action in ("follow", "unblock"):
            result = users.user_follow(sandbox, channel, user)
        elif action == "block":
            result = users.user_block(sandbox, channel, user)
        elif action == "text":
            result = users.user_text(sandbox, channel, user, text=body.get("text", ""))
        elif action == "sticker":
            result = users.user_sticker(
                sandbox,
                channel,
                user,
                package_id=body.get("packageId", "446"),
                sticker_id=body.get("stickerId", "1988"),
            )
        elif action == "image":
            extra = {}
            if body.get("data"):
                extra = {
                    "data": base64.b64decode(body["data"]),
                    "content_type": body.get("contentType", "image/jpeg"),
                }
            result = users.user_image(sandbox, channel, user, **extra)
        elif action == "location":
            result = users.user_location(
                sandbox,
                channel,
                user,
                latitude=float(body.get("latitude", 35.681236)),
                longitude=float(body.get("longitude", 139.767125)),
                title=body.get("title", ""),
                address=body.get("address", ""),
            )
        elif action == "postback":
            result = users.user_postback(
                sandbox,
                channel,
                user,
                data=str(body.get("data", "")),
                params=body.get("params"),
                display_text=body.get("displayText", ""),
            )
        elif action == "tap":
            result = users.user_tap(sandbox, channel, user, area=int(body.get("area", 0)))
        elif action == "unsend":
            result = users.user_unsend(
                sandbox, channel, user, message_id=str(body.get("messageId", ""))
            )
        else:
            raise ApiError(404, f"Unknown action {action}")
    except (KeyError, TypeError, ValueError) as error:
        raise ApiError(400, f"Bad parameters for {action}: {error}") from error
    return json_response(result)


def account_link(call: Call, channel_id: str) -> Response:
    """Complete a link token as the dialog would: ``{linkToken, nonce, ok}``."""
    channel = _channel(call, channel_id)
    body = _body(call)
    result = users.account_link_complete(
        call.sandbox,
        channel,
        link_token=str(body.get("linkToken", "")),
        nonce=str(body.get("nonce", "")),
        ok=bool(body.get("ok", True)),
    )
    return json_response(result or {"event": None, "delivery": None})


def webhooks_list(call: Call, channel_id: str) -> Response:
    channel = _channel(call, channel_id)
    with call.sandbox.lock:
        return json_response(list(channel.webhooks))


def webhook_redeliver(call: Call, channel_id: str, event_id: str) -> Response:
    return json_response(event_redeliver(call.sandbox, _channel(call, channel_id), event_id))


def richmenus_inspect(call: Call, channel_id: str) -> Response:
    channel = _channel(call, channel_id)
    with call.sandbox.lock:
        return json_response(richmenus.inspect(channel))


def audiences_inspect(call: Call, channel_id: str) -> Response:
    channel = _channel(call, channel_id)
    with call.sandbox.lock:
        return json_response(audiences.inspect(channel))


def link_tokens_inspect(call: Call, channel_id: str) -> Response:
    channel = _channel(call, channel_id)
    with call.sandbox.lock:
        return json_response(
            [{"linkToken": token, **issued} for token, issued in channel.link_tokens.items()]
        )


def requests_list(call: Call) -> Response:
    """Recorded LINE requests, oldest first, filtered by channelId, endpoint, method or path."""
    args = call.request.args
    found = [
        record
        for record in list(call.sandbox.requests)
        if all(
            args.get(key) in (None, str(record.get(key)))
            for key in ("channelId", "endpoint", "method", "path")
        )
    ]
    return json_response(found)


def login_channel_register(call: Call, channel_id: str) -> Response:
    try:
        login_channel = login_channel_apply(call.sandbox, channel_id, _body(call))
    except ValueError as error:
        raise ApiError(400, str(error)) from error
    return json_response(login_channel.as_dict())


def login_channels_list(call: Call) -> Response:
    with call.sandbox.lock:
        return json_response([c.as_dict() for c in call.sandbox.login_channels.values()])


API = "/sandbox/api"
CHANNEL = f"{API}/channels/<channel_id>"
ROUTES = [
    Route(f"{API}/reset", "POST", "control_reset", reset, kind="sandbox"),
    Route(f"{API}/config", "GET", "control_config", config_get, kind="sandbox"),
    Route(f"{API}/config", "PUT", "control_config_set", config_set, kind="sandbox"),
    Route(f"{API}/limits", "PUT", "control_limits", limits_set, kind="sandbox"),
    Route(f"{API}/faults", "PUT", "control_faults", faults_set, kind="sandbox"),
    Route(f"{API}/requests", "GET", "control_requests", requests_list, kind="sandbox"),
    Route(f"{API}/channels", "GET", "control_channels", channels_list, kind="sandbox"),
    Route(CHANNEL, "PUT", "control_channel_register", channel_register, kind="sandbox"),
    Route(CHANNEL, "GET", "control_channel", channel_get, kind="sandbox"),
    Route(f"{CHANNEL}/users", "GET", "control_users", users_list, kind="sandbox"),
    Route(f"{CHANNEL}/users", "POST", "control_user_create", user_create, kind="sandbox"),
    Route(f"{CHANNEL}/users/<user_id>", "GET", "control_user", user_get, kind="sandbox"),
    Route(
        f"{CHANNEL}/users/<user_id>/<action>",
        "POST",
        "control_user_action",
        user_action,
        kind="sandbox",
    ),
    Route(f"{CHANNEL}/account-link", "POST", "control_account_link", account_link, kind="sandbox"),
    Route(f"{CHANNEL}/webhooks", "GET", "control_webhooks", webhooks_list, kind="sandbox"),
    Route(
        f"{CHANNEL}/webhooks/<event_id>/redeliver",
        "POST",
        "control_redeliver",
        webhook_redeliver,
        kind="sandbox",
    ),
    Route(f"{CHANNEL}/richmenus", "GET", "control_richmenus", richmenus_inspect, kind="sandbox"),
    Route(f"{CHANNEL}/audiences", "GET", "control_audiences", audiences_inspect, kind="sandbox"),
    Route(
        f"{CHANNEL}/link-tokens",
        "GET",
        "control_link_tokens",
        link_tokens_inspect,
        kind="sandbox",
    ),
    Route(
        f"{API}/login-channels/<channel_id>",
        "PUT",
        "control_login_channel",
        login_channel_register,
        kind="sandbox",
    ),
    Route(
        f"{API}/login-channels",
        "GET",
        "control_login_channels",
        login_channels_list,
        kind="sandbox",
    ),
]
