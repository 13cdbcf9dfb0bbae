"""Simulated LINE users and what they do: follow, block, chat, tap rich menus, link accounts.

Each action changes the state under the lock, then delivers its webhook outside it, and returns
``{"event", "delivery"}`` so a caller sees exactly what the app was sent and how it answered.
"""

import base64
import time
from typing import Any

from .responses import ApiError
from .state import Channel, Sandbox, SimUser, message_id, now_ms, random_hex
from .webhooks import event_base, event_send

FIRST_NAMES = ("Aoi", "Haruto", "Yui", "Sota", "Hina", "Ren", "Mei", "Riku", "Sakura", "Yuto")
FAMILY_NAMES = ("Sato", "Suzuki", "Takahashi", "Tanaka", "Ito", "Watanabe", "Yamamoto", "Kato")
# A 1x1 PNG, the image a user "sends" when the caller gives none.
PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)


def user_create(
    sandbox: Sandbox,
    channel: Channel,
    *,
    display_name: str = "",
    picture_url: str = "",
    language: str = "ja",
    email: str = "",
    user_id: str = "",
) -> SimUser:
    """A new user of the channel's provider (not yet a friend)."""
    with sandbox.lock:
        if user_id and user_id in channel.users:
            raise ApiError(409, "User already exists")
        name = display_name or (
            f"{sandbox.rng.choice(FIRST_NAMES)} {sandbox.rng.choice(FAMILY_NAMES)}"
        )
        user = SimUser(
            user_id=user_id or sandbox.user_id(),
            display_name=name,
            picture_url=picture_url,
            language=language,
            email=email,
        )
        channel.users[user.user_id] = user
        return user


def user_follow(sandbox: Sandbox, channel: Channel, user: SimUser) -> dict[str, Any]:
    """Add as friend, or unblock: ``follow`` event with ``isUnblocked`` and a reply token."""
    with sandbox.lock:
        if user.reachable:
            raise ApiError(400, "The user is already a friend")
        unblocked = user.blocked
        user.is_friend, user.blocked = True, False
        user.followed_at = user.followed_at if unblocked else now_ms()
        event = event_base("follow", user, reply=True)
        event["follow"] = {"isUnblocked": unblocked}
    return event_send(sandbox, channel, event)


def user_block(sandbox: Sandbox, channel: Channel, user: SimUser) -> dict[str, Any]:
    """Block the account: ``unfollow`` event, no reply token; messages stop reaching them."""
    with sandbox.lock:
        if not user.reachable:
            raise ApiError(400, "The user is not a friend")
        user.blocked = True
        event = event_base("unfollow", user, reply=False)
    return event_send(sandbox, channel, event)


def _user_message(
    sandbox: Sandbox, channel: Channel, user: SimUser, content: dict[str, Any]
) -> dict[str, Any]:
    with sandbox.lock:
        if user.blocked:
            raise ApiError(400, "A user who blocked the account cannot message it")
        content = {"id": message_id(), **content}
        user.chat.append(
            {"from": "user", "id": content["id"], "message": content, "timestamp": now_ms()}
        )
        event = event_base("message", user, reply=True)
        event["message"] = content
    return event_send(sandbox, channel, event)


def user_text(sandbox: Sandbox, channel: Channel, user: SimUser, *, text: str) -> dict[str, Any]:
    if not text:
        raise ApiError(400, "text is required")
    return _user_message(
        sandbox, channel, user, {"type": "text", "text": text, "quoteToken": random_hex()}
    )


def user_sticker(
    sandbox: Sandbox, channel: Channel, user: SimUser, *, package_id: str, sticker_id: str
) -> dict[str, Any]:
    content = {
        "type": "sticker",
        "packageId": str(package_id),
        "stickerId": str(sticker_id),
        "stickerResourceType": "STATIC",
        "quoteToken": random_hex(),
    }
    return _user_message(sandbox, channel, user, content)


def user_image(
    sandbox: Sandbox,
    channel: Channel,
    user: SimUser,
    *,
    data: bytes = PIXEL_PNG,
    content_type: str = "image/png",
) -> dict[str, Any]:
    """Send an image; the app can then download it from the content endpoint."""
    content = {"type": "image", "contentProvider": {"type": "line"}, "quoteToken": random_hex()}
    result_id = message_id()
    with sandbox.lock:
        channel.contents[result_id] = (content_type, data)
    return _user_message(sandbox, channel, user, {"id": result_id, **content})


def user_location(
    sandbox: Sandbox,
    channel: Channel,
    user: SimUser,
    *,
    latitude: float,
    longitude: float,
    title: str = "",
    address: str = "",
) -> dict[str, Any]:
    content: dict[str, Any] = {"type": "location", "latitude": latitude, "longitude": longitude}
    if title:
        content["title"] = title
    if address:
        content["address"] = address
    return _user_message(sandbox, channel, user, content)


def user_postback(
    sandbox: Sandbox,
    channel: Channel,
    user: SimUser,
    *,
    data: str,
    params: dict[str, str] | None = None,
    display_text: str = "",
) -> dict[str, Any]:
    with sandbox.lock:
        if user.blocked:
            raise ApiError(400, "A user who blocked the account cannot use it")
        if display_text:
            user.chat.append(
                {
                    "from": "user",
                    "id": message_id(),
                    "message": {"type": "text", "text": display_text},
                    "timestamp": now_ms(),
                }
            )
        event = event_base("postback", user, reply=True)
        event["postback"] = {"data": data, **({"params": params} if params else {})}
    return event_send(sandbox, channel, event)


def user_unsend(
    sandbox: Sandbox, channel: Channel, user: SimUser, *, message_id: str
) -> dict[str, Any]:
    with sandbox.lock:
        entry = next((e for e in user.chat if e["from"] == "user" and e["id"] == message_id), None)
        if entry is None:
            raise ApiError(404, "Message not found")
        entry["unsent"] = True
        event = event_base("unsend", user, reply=False)
        event["unsend"] = {"messageId": message_id}
    return event_send(sandbox, channel, event)


def user_rich_menu_id(channel: Channel, user: SimUser) -> str | None:
    """The menu the user sees: their own link beats the channel default."""
    if user.rich_menu_id in channel.rich_menus:
        return user.rich_menu_id
    return channel.default_rich_menu_id


def user_tap(sandbox: Sandbox, channel: Channel, user: SimUser, *, area: int) -> dict[str, Any]:
    """Tap area number ``area`` of the user's rich menu and do what its action says."""
    with sandbox.lock:
        menu_id = user_rich_menu_id(channel, user)
        if menu_id is None:
            raise ApiError(400, "The user has no rich menu")
        areas = channel.rich_menus[menu_id]["areas"]
        if not 0 <= area < len(areas):
            raise ApiError(400, f"The rich menu has no area {area}")
        action = areas[area]["action"]
    kind = action.get("type")
    if kind == "message":
        return user_text(sandbox, channel, user, text=action["text"])
    if kind == "postback":
        return user_postback(
            sandbox,
            channel,
            user,
            data=action.get("data", ""),
            display_text=action.get("displayText") or action.get("text") or "",
        )
    if kind == "datetimepicker":
        mode = action.get("mode", "datetime")
        value = {
            "date": time.strftime("%Y-%m-%d"),
            "time": time.strftime("%H:%M"),
            "datetime": time.strftime("%Y-%m-%dT%H:%M"),
        }[mode]
        return user_postback(
            sandbox, channel, user, data=action.get("data", ""), params={mode: value}
        )
    if kind == "richmenuswitch":
        alias_id = action.get("richMenuAliasId", "")
        with sandbox.lock:
            target = channel.aliases.get(alias_id)
            status = "SUCCESS" if target in channel.rich_menus else "RICHMENU_ALIAS_ID_NOTFOUND"
            if target in channel.rich_menus:
                user.rich_menu_id = target
                user.rich_menu_alias_id = alias_id
        return user_postback(
            sandbox,
            channel,
            user,
            data=action.get("data", ""),
            params={"newRichMenuAliasId": alias_id, "status": status},
        )
    # uri, camera, location...: the phone opens something; LINE sends no webhook.
    return {"event": None, "delivery": None, "action": action}


def account_link_complete(
    sandbox: Sandbox, channel: Channel, *, link_token: str, nonce: str, ok: bool = True
) -> dict[str, Any] | None:
    """Finish an account link; an unknown, used or expired link token sends nothing (None)."""
    with sandbox.lock:
        issued = channel.link_tokens.get(link_token)
        if issued is None or issued["used"] or issued["expires"] < time.time():
            return None
        issued["used"] = True
        user = channel.users.get(issued["userId"])
        if ok and user is not None:
            event = event_base("accountLink", user, reply=True)
            event["link"] = {"result": "ok", "nonce": nonce}
        else:
            event = event_base("accountLink", None, reply=False)
            event["link"] = {"result": "failed", "nonce": nonce}
    return event_send(sandbox, channel, event)
