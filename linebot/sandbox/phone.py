"""The phone: a LINE-like page per simulated user showing their chat with the Official Account,
their rich menu, and forms to act as them; plus an index of channels and users.

Form posts go through the same user actions as the control API (so they send real webhooks),
then redirect back to the page.
"""

import json
import time
from typing import Any
from urllib.parse import quote

from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from linebot.preview import preview_css, render_message
from linebot.preview.actions import action_payload

from . import users
from .pages import render
from .responses import NOT_FOUND, ApiError
from .routing import Call, Route
from .state import Channel, SimUser


def _find_user(call: Call, user_id: str) -> tuple[Channel, SimUser]:
    for channel in call.sandbox.channels.values():
        if user_id in channel.users:
            return channel, channel.users[user_id]
    raise ApiError(404, NOT_FOUND)


# What a tap on each kind of action does in the phone: post as the user, or nothing (links
# open by themselves, other actions need a real device).
TAPPABLE = ("message", "postback", "datetimepicker")


def _action_view(action: Any) -> dict[str, Any]:
    """An action as a button the page can render: what it says and what tapping does."""
    if not isinstance(action, dict):
        return {"label": "?", "kind": "other"}
    kind = action.get("type", "")
    view = {"label": action.get("label") or action.get("text") or kind, "kind": kind}
    if kind == "uri":
        view["uri"] = action.get("uri", "")
    return view


def tap_key(action: dict[str, Any]) -> str:
    """What identifies a tap: the preview's `data-action` fields the phone's script reads."""
    payload = action_payload(action)
    fields = [payload.get(name, "") for name in ("type", "data", "text", "displayText")]
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def _taps(node: Any, found: list[dict[str, Any]], *, is_action: bool = False) -> None:
    """Every action in a message that a tap can perform, as the form the phone posts."""
    if isinstance(node, list):
        for item in node:
            _taps(item, found, is_action=is_action)
        return
    if not isinstance(node, dict):
        return
    if is_action and node.get("type") in TAPPABLE:
        key = tap_key(node)
        if all(tap["key"] != key for tap in found):
            kind = node["type"]
            found.append(
                {
                    "key": key,
                    "kind": "text" if kind == "message" else "postback",
                    "text": node.get("text", ""),
                    "data": node.get("data", ""),
                    "display_text": node.get("displayText") or node.get("text") or "",
                }
            )
        return
    for name, value in node.items():
        _taps(value, found, is_action=name in ("action", "actions", "defaultAction"))


def _entry_view(channel: Channel, entry: dict[str, Any], *, quick_reply: bool) -> dict[str, Any]:
    """One chat entry, drawn by the same renderer as the admin's previews."""
    message = entry["message"]
    side = entry["from"]
    payload = dict(message)
    if message.get("type") == "image" and side == "user":
        content = f"/sandbox/content/{channel.channel_id}/{entry['id']}"
        payload["originalContentUrl"] = payload["previewImageUrl"] = content
    view: dict[str, Any] = {
        "side": side,
        "type": message.get("type"),
        "message": message,
        "time": time.strftime("%H:%M", time.localtime(entry["timestamp"] / 1000)),
        "unsent": entry.get("unsent", False),
        "id": entry["id"],
        "via": entry.get("via", ""),
        "html": render_message(payload, sent=side == "user", quick_reply=quick_reply),
        "taps": [],
    }
    if side == "bot":
        _taps(message, view["taps"])
        view["json"] = json.dumps(message, ensure_ascii=False, indent=2)
    return view


def _rich_menu_view(channel: Channel, user: SimUser) -> dict[str, Any] | None:
    menu_id = users.user_rich_menu_id(channel, user)
    if menu_id is None:
        return None
    menu = channel.rich_menus[menu_id]
    width, height = menu["size"]["width"], menu["size"]["height"]
    return {
        "id": menu_id,
        "chat_bar_text": menu["chatBarText"],
        "selected": menu["selected"],
        "has_image": menu_id in channel.rich_menu_images,
        "image_url": f"/sandbox/richmenus/{channel.channel_id}/{menu_id}/image",
        "ratio": round(height / width * 100, 4),
        "areas": [
            {
                "index": index,
                "label": _action_view(area["action"])["label"],
                "left": round(area["bounds"]["x"] / width * 100, 4),
                "top": round(area["bounds"]["y"] / height * 100, 4),
                "width": round(area["bounds"]["width"] / width * 100, 4),
                "height": round(area["bounds"]["height"] / height * 100, 4),
                "uri": area["action"].get("uri", "") if area["action"].get("type") == "uri" else "",
            }
            for index, area in enumerate(menu["areas"])
        ],
    }


def index(call: Call) -> Response:
    with call.sandbox.lock:
        channels = [
            {"channel": channel, "users": list(channel.users.values())}
            for channel in call.sandbox.channels.values()
        ]
        login_channels = list(call.sandbox.login_channels.values())
    context = {
        "channels": channels,
        "login_channels": login_channels,
        "app_url": call.sandbox.app_url,
    }
    return render("sandbox/index.html", context)


def phone(call: Call, user_id: str) -> Response:
    with call.sandbox.lock:
        channel, user = _find_user(call, user_id)
        last = len(user.chat) - 1
        entries = [
            _entry_view(channel, entry, quick_reply=index == last)
            for index, entry in enumerate(user.chat)
        ]
        context = {
            "channel": channel,
            "user": user,
            "entries": entries,
            "preview_css": preview_css(),
            "rich_menu": _rich_menu_view(channel, user),
            "chat_length": len(user.chat),
            "loading": user.loading_until > time.time(),
            "error": call.request.args.get("error", ""),
        }
    return render("sandbox/phone.html", context)


def user_create(call: Call, channel_id: str) -> Response:
    channel = call.sandbox.channel(channel_id)
    if channel is None:
        raise ApiError(404, NOT_FOUND)
    form = call.request.form
    user = users.user_create(
        call.sandbox,
        channel,
        display_name=form.get("display_name", ""),
        language=form.get("language", "ja"),
    )
    if form.get("follow"):
        users.user_follow(call.sandbox, channel, user)
    return redirect(f"/sandbox/users/{user.user_id}", code=303)


def act(call: Call, user_id: str) -> Response:
    """Do what the phone's form says as this user, then show the phone again."""
    with call.sandbox.lock:
        channel, user = _find_user(call, user_id)
    form, sandbox = call.request.form, call.sandbox
    action = form.get("action", "")
    try:
        if action in ("follow", "unblock"):
            users.user_follow(sandbox, channel, user)
        elif action == "block":
            users.user_block(sandbox, channel, user)
        elif action == "text" and form.get("text"):
            users.user_text(sandbox, channel, user, text=form["text"])
        elif action == "sticker":
            users.user_sticker(
                sandbox,
                channel,
                user,
                package_id=form.get("package_id", "446"),
                sticker_id=form.get("sticker_id", "1988"),
            )
        elif action == "image":
            upload = call.request.files.get("image")
            if upload is not None and upload.filename:
                users.user_image(
                    sandbox,
                    channel,
                    user,
                    data=upload.read(),
                    content_type=upload.mimetype or "image/jpeg",
                )
            else:
                users.user_image(sandbox, channel, user)
        elif action == "location":
            users.user_location(
                sandbox,
                channel,
                user,
                latitude=35.681236,
                longitude=139.767125,
                title="Tokyo Station",
                address="1 Chome Marunouchi, Chiyoda City, Tokyo",
            )
        elif action == "postback":
            users.user_postback(
                sandbox,
                channel,
                user,
                data=form.get("data", ""),
                display_text=form.get("display_text", ""),
            )
        elif action == "tap":
            users.user_tap(sandbox, channel, user, area=int(form.get("area", 0)))
        elif action == "unsend":
            users.user_unsend(sandbox, channel, user, message_id=form.get("message_id", ""))
    except ApiError as error:
        return redirect(f"/sandbox/users/{user_id}?error={quote(error.message)}", code=303)
    return redirect(f"/sandbox/users/{user_id}", code=303)


def content(call: Call, channel_id: str, message_id: str) -> Response:
    """A user's sent image, for the phone page (the bot uses the authenticated API path)."""
    channel = call.sandbox.channel(channel_id)
    found = channel.contents.get(message_id) if channel else None
    if found is None:
        raise ApiError(404, NOT_FOUND)
    return Response(found[1], content_type=found[0])


def rich_menu_image(call: Call, channel_id: str, rich_menu_id: str) -> Response:
    channel = call.sandbox.channel(channel_id)
    found = channel.rich_menu_images.get(rich_menu_id) if channel else None
    if found is None:
        raise ApiError(404, NOT_FOUND)
    return Response(found[1], content_type=found[0])


ROUTES = [
    Route("/sandbox/", "GET", "phone_index", index, kind="sandbox"),
    Route("/sandbox/users/<user_id>", "GET", "phone", phone, kind="sandbox"),
    Route("/sandbox/users/<user_id>/act", "POST", "phone_act", act, kind="sandbox"),
    Route(
        "/sandbox/channels/<channel_id>/users",
        "POST",
        "phone_user_create",
        user_create,
        kind="sandbox",
    ),
    Route(
        "/sandbox/content/<channel_id>/<message_id>",
        "GET",
        "phone_content",
        content,
        kind="sandbox",
    ),
    Route(
        "/sandbox/richmenus/<channel_id>/<rich_menu_id>/image",
        "GET",
        "phone_richmenu_image",
        rich_menu_image,
        kind="sandbox",
    ),
]
