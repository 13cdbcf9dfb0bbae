"""Rich menus: objects, images, per-user links, the default, bulk and batch changes, aliases."""

import re
import struct
from typing import Any

from werkzeug.wrappers import Response

from linebot.validation import Problem, validate_action

from .messaging import iso_ms
from .responses import NOT_FOUND, ApiError, invalid_property, json_response, problems_error
from .routing import Call, Route
from .state import Channel, now_ms, random_hex

ALIAS_ID = re.compile(r"^[a-z0-9_-]{1,32}$")
MAX_MENUS = 1000
MAX_ALIASES = 1000


def _menu_problems(call: Call, body: dict[str, Any]) -> list[Problem]:
    limits = call.sandbox.limits
    problems: list[Problem] = []
    size = body.get("size")
    width = size.get("width") if isinstance(size, dict) else None
    height = size.get("height") if isinstance(size, dict) else None
    if not isinstance(width, int) or not 800 <= width <= 2500:
        problems.append(Problem("size.width", "Must be between 800 and 2500."))
    if not isinstance(height, int) or height < 250:
        problems.append(Problem("size.height", "Must be at least 250."))
    elif isinstance(width, int) and width / height < 1.45:
        problems.append(Problem("size", "Width divided by height must be at least 1.45."))
    if not isinstance(body.get("selected"), bool):
        problems.append(Problem("selected", "Required: true or false."))
    name = body.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 300:
        problems.append(Problem("name", "Required, at most 300 characters."))
    bar = body.get("chatBarText")
    if not isinstance(bar, str) or not 1 <= len(bar) <= 14:
        problems.append(Problem("chatBarText", "Required, at most 14 characters."))
    areas = body.get("areas")
    if not isinstance(areas, list):
        problems.append(Problem("areas", "Required: a list of areas."))
        return problems
    if len(areas) > limits.rich_menu_max_areas:
        problems.append(Problem("areas", f"At most {limits.rich_menu_max_areas} areas."))
    for index, area in enumerate(areas):
        path = f"areas[{index}]"
        bounds = area.get("bounds") if isinstance(area, dict) else None
        keys = ("x", "y", "width", "height")
        if not isinstance(bounds, dict) or not all(isinstance(bounds.get(k), int) for k in keys):
            problems.append(Problem(f"{path}.bounds", "Required: x, y, width and height."))
        elif (
            isinstance(width, int)
            and isinstance(height, int)
            and (bounds["x"] + bounds["width"] > width or bounds["y"] + bounds["height"] > height)
        ):
            problems.append(Problem(f"{path}.bounds", "Must lie inside the rich menu."))
        action = area.get("action") if isinstance(area, dict) else None
        problems.extend(validate_action(action, path=f"{path}.action", limits=limits.messages))
    return problems


def _checked_menu(call: Call) -> dict[str, Any]:
    body = call.json_object()
    problems = _menu_problems(call, body)
    if problems:
        raise problems_error(problems)
    return body


def _menu(channel: Channel, rich_menu_id: str) -> dict[str, Any]:
    menu = channel.rich_menus.get(rich_menu_id)
    if menu is None:
        raise ApiError(404, NOT_FOUND)
    return menu


def create(call: Call) -> Response:
    body = _checked_menu(call)
    channel = call.bot
    if len(channel.rich_menus) >= MAX_MENUS:
        raise ApiError(400, f"Must not exceed the maximum number of rich menus ({MAX_MENUS}).")
    rich_menu_id = f"richmenu-{random_hex()}"
    keys = ("size", "selected", "name", "chatBarText", "areas")
    channel.rich_menus[rich_menu_id] = {"richMenuId": rich_menu_id, **{k: body[k] for k in keys}}
    return json_response({"richMenuId": rich_menu_id})


def validate(call: Call) -> Response:
    _checked_menu(call)
    return json_response({})


def get(call: Call, rich_menu_id: str) -> Response:
    return json_response(_menu(call.bot, rich_menu_id))


def list_menus(call: Call) -> Response:
    return json_response({"richmenus": list(call.bot.rich_menus.values())})


def delete(call: Call, rich_menu_id: str) -> Response:
    channel = call.bot
    _menu(channel, rich_menu_id)
    del channel.rich_menus[rich_menu_id]
    channel.rich_menu_images.pop(rich_menu_id, None)
    if channel.default_rich_menu_id == rich_menu_id:
        channel.default_rich_menu_id = None
    channel.aliases = {a: m for a, m in channel.aliases.items() if m != rich_menu_id}
    for user in channel.users.values():
        if user.rich_menu_id == rich_menu_id:
            user.rich_menu_id = None
    return json_response({})


def image_size(data: bytes) -> tuple[str, int, int] | None:
    """(content type, width, height) of a PNG or JPEG, read from its header; None otherwise."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return "image/png", width, height
    if data.startswith(b"\xff\xd8"):
        offset = 2
        while offset + 9 < len(data):
            if data[offset] != 0xFF:
                return None
            marker = data[offset + 1]
            length = struct.unpack(">H", data[offset + 2 : offset + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[offset + 5 : offset + 9])
                return "image/jpeg", width, height
            offset += 2 + length
    return None


def image_upload(call: Call, rich_menu_id: str) -> Response:
    channel = call.bot
    menu = _menu(channel, rich_menu_id)
    data = call.request.get_data(cache=True)
    if call.request.mimetype not in ("image/png", "image/jpeg"):
        raise ApiError(415, "Unsupported Media Type: use image/jpeg or image/png")
    if len(data) > call.sandbox.limits.rich_menu_max_image_bytes:
        raise ApiError(413, "Request Entity Too Large")
    if rich_menu_id in channel.rich_menu_images:
        raise ApiError(400, "An image has already been uploaded to the richmenu")
    found = image_size(data)
    if found is None:
        raise ApiError(400, "The image is not a valid JPEG or PNG")
    content_type, width, height = found
    if (width, height) != (menu["size"]["width"], menu["size"]["height"]):
        raise ApiError(
            400,
            f"Image size ({width}x{height}) must match the rich menu size "
            f"({menu['size']['width']}x{menu['size']['height']})",
        )
    channel.rich_menu_images[rich_menu_id] = (content_type, data)
    return json_response({})


def image_download(call: Call, rich_menu_id: str) -> Response:
    found = call.bot.rich_menu_images.get(rich_menu_id)
    if found is None:
        raise ApiError(404, NOT_FOUND)
    return Response(found[1], content_type=found[0])


def default_set(call: Call, rich_menu_id: str) -> Response:
    channel = call.bot
    _menu(channel, rich_menu_id)
    if rich_menu_id not in channel.rich_menu_images:
        raise ApiError(400, "must upload richmenu image before applying it to user")
    channel.default_rich_menu_id = rich_menu_id
    return json_response({})


def default_get(call: Call) -> Response:
    if call.bot.default_rich_menu_id is None:
        raise ApiError(404, "no default richmenu")
    return json_response({"richMenuId": call.bot.default_rich_menu_id})


def default_cancel(call: Call) -> Response:
    call.bot.default_rich_menu_id = None
    return json_response({})


def _link(channel: Channel, user_id: str, rich_menu_id: str | None) -> None:
    user = channel.users.get(user_id)
    if user is None:
        raise ApiError(400, "The user is not found")
    user.rich_menu_id = rich_menu_id
    user.rich_menu_alias_id = None


def user_link(call: Call, user_id: str, rich_menu_id: str) -> Response:
    channel = call.bot
    _menu(channel, rich_menu_id)
    if rich_menu_id not in channel.rich_menu_images:
        raise ApiError(400, "must upload richmenu image before applying it to user")
    _link(channel, user_id, rich_menu_id)
    return json_response({})


def user_get(call: Call, user_id: str) -> Response:
    user = call.bot.users.get(user_id)
    if user is None or user.rich_menu_id is None:
        raise ApiError(404, "the user has no richmenu")
    return json_response({"richMenuId": user.rich_menu_id})


def user_unlink(call: Call, user_id: str) -> Response:
    _link(call.bot, user_id, None)
    return json_response({})


def _user_ids(call: Call, body: dict[str, Any]) -> list[str]:
    user_ids = body.get("userIds")
    limit = call.sandbox.limits.bulk_max_users
    if not isinstance(user_ids, list) or not user_ids:
        raise invalid_property("userIds", "Required: a non-empty list of user ids.")
    if len(user_ids) > limit:
        raise invalid_property("userIds", f"Must contain at most {limit} user ids.")
    return user_ids


def bulk_link(call: Call) -> Response:
    body = call.json_object()
    user_ids = _user_ids(call, body)
    channel = call.bot
    rich_menu_id = body.get("richMenuId", "")
    _menu(channel, rich_menu_id)
    for user_id in user_ids:
        if user_id in channel.users:
            _link(channel, user_id, rich_menu_id)
    return json_response({}, status=202)


def bulk_unlink(call: Call) -> Response:
    body = call.json_object()
    channel = call.bot
    for user_id in _user_ids(call, body):
        if user_id in channel.users:
            _link(channel, user_id, None)
    return json_response({}, status=202)


def _batch_operations(call: Call) -> list[dict[str, Any]]:
    body = call.json_object()
    operations = body.get("operations")
    if not isinstance(operations, list) or not operations or len(operations) > 1000:
        raise invalid_property("operations", "Required: 1 to 1000 operations.")
    for index, operation in enumerate(operations):
        kind = operation.get("type") if isinstance(operation, dict) else None
        if kind not in ("link", "unlink", "unlinkAll"):
            raise invalid_property(
                f"operations[{index}].type", "Must be link, unlink or unlinkAll."
            )
        if kind in ("link", "unlink") and not operation.get("from"):
            raise invalid_property(f"operations[{index}].from", "Required.")
        if kind == "link":
            _menu(call.bot, operation.get("to", ""))
    return operations


def batch(call: Call) -> Response:
    channel = call.bot
    operations = _batch_operations(call)
    accepted = now_ms()
    for operation in operations:
        for user in channel.users.values():
            kind = operation["type"]
            if kind == "unlinkAll" or user.rich_menu_id == operation.get("from"):
                user.rich_menu_id = operation["to"] if kind == "link" else None
    channel.batches[call.request_id] = {
        "phase": "succeeded",
        "acceptedTime": iso_ms(accepted),
        "completedTime": iso_ms(now_ms()),
    }
    return json_response({}, status=202)


def batch_validate(call: Call) -> Response:
    _batch_operations(call)
    return json_response({})


def batch_progress(call: Call) -> Response:
    request_id = call.request.args.get("requestId", "")
    progress = call.bot.batches.get(request_id)
    if progress is None:
        raise ApiError(404, NOT_FOUND)
    return json_response(progress)


def alias_create(call: Call) -> Response:
    body = call.json_object()
    channel = call.bot
    alias_id = body.get("richMenuAliasId")
    if not isinstance(alias_id, str) or not ALIAS_ID.match(alias_id):
        raise invalid_property("richMenuAliasId", "Must be 1 to 32 characters of [a-z0-9_-].")
    if alias_id in channel.aliases:
        raise ApiError(400, "conflict richmenu alias id")
    if len(channel.aliases) >= MAX_ALIASES:
        raise ApiError(400, f"Must not exceed the maximum number of aliases ({MAX_ALIASES}).")
    _menu(channel, body.get("richMenuId", ""))
    if body["richMenuId"] not in channel.rich_menu_images:
        raise ApiError(400, "must upload richmenu image before applying it to alias")
    channel.aliases[alias_id] = body["richMenuId"]
    return json_response({})


def _alias(channel: Channel, alias_id: str) -> str:
    if alias_id not in channel.aliases:
        raise ApiError(404, NOT_FOUND)
    return channel.aliases[alias_id]


def alias_get(call: Call, alias_id: str) -> Response:
    return json_response({"richMenuAliasId": alias_id, "richMenuId": _alias(call.bot, alias_id)})


def alias_update(call: Call, alias_id: str) -> Response:
    channel = call.bot
    _alias(channel, alias_id)
    rich_menu_id = call.json_object().get("richMenuId", "")
    _menu(channel, rich_menu_id)
    channel.aliases[alias_id] = rich_menu_id
    return json_response({})


def alias_delete(call: Call, alias_id: str) -> Response:
    _alias(call.bot, alias_id)
    del call.bot.aliases[alias_id]
    return json_response({})


def alias_list(call: Call) -> Response:
    aliases = [
        {"richMenuAliasId": alias_id, "richMenuId": menu_id}
        for alias_id, menu_id in call.bot.aliases.items()
    ]
    return json_response({"aliases": aliases})


def inspect(channel: Channel) -> dict[str, Any]:
    """Everything about the channel's rich menus, for the control API."""
    return {
        "richmenus": list(channel.rich_menus.values()),
        "images": sorted(channel.rich_menu_images),
        "defaultRichMenuId": channel.default_rich_menu_id,
        "aliases": dict(channel.aliases),
        "userLinks": {
            user.user_id: user.rich_menu_id for user in channel.users.values() if user.rich_menu_id
        },
        "batches": channel.batches,
    }


ROUTES = [
    Route("/v2/bot/richmenu", "POST", "richmenu_create", create),
    Route("/v2/bot/richmenu/validate", "POST", "richmenu_validate", validate),
    Route("/v2/bot/richmenu/list", "GET", "richmenu_list", list_menus),
    Route("/v2/bot/richmenu/<rich_menu_id>", "GET", "richmenu_get", get),
    Route("/v2/bot/richmenu/<rich_menu_id>", "DELETE", "richmenu_delete", delete),
    Route("/v2/bot/richmenu/<rich_menu_id>/content", "POST", "richmenu_image_upload", image_upload),
    Route("/v2/bot/richmenu/<rich_menu_id>/content", "GET", "richmenu_image_get", image_download),
    Route("/v2/bot/user/all/richmenu/<rich_menu_id>", "POST", "richmenu_default_set", default_set),
    Route("/v2/bot/user/all/richmenu", "GET", "richmenu_default_get", default_get),
    Route("/v2/bot/user/all/richmenu", "DELETE", "richmenu_default_cancel", default_cancel),
    Route("/v2/bot/user/<user_id>/richmenu/<rich_menu_id>", "POST", "richmenu_link", user_link),
    Route("/v2/bot/user/<user_id>/richmenu", "GET", "richmenu_user_get", user_get),
    Route("/v2/bot/user/<user_id>/richmenu", "DELETE", "richmenu_unlink", user_unlink),
    Route("/v2/bot/richmenu/bulk/link", "POST", "richmenu_bulk_link", bulk_link),
    Route("/v2/bot/richmenu/bulk/unlink", "POST", "richmenu_bulk_unlink", bulk_unlink),
    Route("/v2/bot/richmenu/batch", "POST", "richmenu_batch", batch),
    Route("/v2/bot/richmenu/validate/batch", "POST", "richmenu_batch_validate", batch_validate),
    Route("/v2/bot/richmenu/progress/batch", "GET", "richmenu_batch_progress", batch_progress),
    Route("/v2/bot/richmenu/alias", "POST", "richmenu_alias_create", alias_create),
    Route("/v2/bot/richmenu/alias/list", "GET", "richmenu_alias_list", alias_list),
    Route("/v2/bot/richmenu/alias/<alias_id>", "GET", "richmenu_alias_get", alias_get),
    Route("/v2/bot/richmenu/alias/<alias_id>", "POST", "richmenu_alias_update", alias_update),
    Route("/v2/bot/richmenu/alias/<alias_id>", "DELETE", "richmenu_alias_delete", alias_delete),
]
