"""Checking LINE message objects before they are sent, the way the Messaging API checks them.

One module for both sides: the sandbox answers LINE's 400 from these problems, and the app
calls the same function before it writes a delivery, so an error shows up in the admin with the
JSON path that causes it instead of as a failed send. No Django imports: the sandbox runs
without settings.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a message: where (a JSON path) and what, as an English sentence."""

    path: str
    message: str


@dataclass(frozen=True)
class MessageLimits:
    """LINE's limits on message objects; the sandbox can change each of them."""

    max_messages: int = 5
    text_max_length: int = 5000
    alt_text_max_length: int = 1500
    flex_bubble_max_bytes: int = 30 * 1024
    flex_carousel_max_bubbles: int = 12
    flex_carousel_max_bytes: int = 50 * 1024
    postback_data_max_length: int = 300
    quick_reply_max_items: int = 13


DEFAULT_LIMITS = MessageLimits()

MESSAGE_TYPES = (
    "text",
    "sticker",
    "image",
    "video",
    "audio",
    "location",
    "imagemap",
    "template",
    "flex",
)
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "text": ("text",),
    "sticker": ("packageId", "stickerId"),
    "image": ("originalContentUrl", "previewImageUrl"),
    "video": ("originalContentUrl", "previewImageUrl"),
    "audio": ("originalContentUrl", "duration"),
    "location": ("title", "address", "latitude", "longitude"),
    "imagemap": ("baseUrl", "altText", "baseSize", "actions"),
    "template": ("altText", "template"),
    "flex": ("altText", "contents"),
}
HTTPS_URL_FIELDS = ("originalContentUrl", "previewImageUrl", "baseUrl")
TEMPLATE_TYPES = ("buttons", "confirm", "carousel", "image_carousel")
ACTION_TYPES = (
    "postback",
    "message",
    "uri",
    "datetimepicker",
    "camera",
    "cameraRoll",
    "location",
    "richmenuswitch",
    "clipboard",
)
ACTIONS_WITH_DATA = ("postback", "datetimepicker", "richmenuswitch")


def utf16_length(text: str) -> int:
    """Length as LINE counts it: UTF-16 code units, so an emoji outside the BMP counts 2."""
    return len(text.encode("utf-16-le")) // 2


def json_size(value: Any) -> int:
    """Bytes of the compact UTF-8 JSON, which is what LINE's Flex size limits measure."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def validate_messages(
    messages: Any, *, path: str = "messages", limits: MessageLimits = DEFAULT_LIMITS
) -> list[Problem]:
    """Every problem found in a list of message objects, in document order."""
    if not isinstance(messages, list):
        return [Problem(path, "Must be a list of message objects.")]
    if not messages:
        return [Problem(path, "Must contain at least one message.")]
    problems = []
    if len(messages) > limits.max_messages:
        problems.append(Problem(path, f"Must contain at most {limits.max_messages} messages."))
    for index, message in enumerate(messages):
        problems.extend(_message_problems(message, f"{path}[{index}]", limits))
    return problems


def validate_action(
    action: Any, *, path: str, limits: MessageLimits = DEFAULT_LIMITS
) -> list[Problem]:
    """Problems of one action object (used by rich menus and quick replies too)."""
    return list(_action_problems(action, path, limits))


def _message_problems(message: Any, path: str, limits: MessageLimits) -> Iterator[Problem]:
    if not isinstance(message, dict):
        yield Problem(path, "Must be a message object.")
        return
    kind = message.get("type")
    if kind not in MESSAGE_TYPES:
        yield Problem(f"{path}.type", f"Must be one of {', '.join(MESSAGE_TYPES)}; got {kind!r}.")
        return
    missing = [field for field in REQUIRED_FIELDS[kind] if message.get(field) in (None, "")]
    for field in missing:
        yield Problem(f"{path}.{field}", f"Required for a {kind} message.")
    for field in HTTPS_URL_FIELDS:
        if field in message and field not in missing:
            yield from _https_problems(message[field], f"{path}.{field}")
    if kind == "text" and "text" not in missing:
        yield from _text_problems(message["text"], f"{path}.text", limits.text_max_length)
    if "altText" in message and "altText" not in missing:
        yield from _text_problems(message["altText"], f"{path}.altText", limits.alt_text_max_length)
    if kind == "flex" and "contents" not in missing:
        yield from _flex_problems(message["contents"], f"{path}.contents", limits)
    if kind == "template" and "template" not in missing:
        yield from _template_problems(message["template"], f"{path}.template", limits)
    if kind == "imagemap" and "actions" not in missing:
        for index, action in enumerate(_as_list(message["actions"])):
            if isinstance(action, dict) and action.get("type") == "uri":
                yield from _url_required_problems(
                    action.get("linkUri"), f"{path}.actions[{index}].linkUri"
                )
    if "quickReply" in message:
        yield from _quick_reply_problems(message["quickReply"], f"{path}.quickReply", limits)


def _text_problems(text: Any, path: str, max_length: int) -> Iterator[Problem]:
    if not isinstance(text, str):
        yield Problem(path, "Must be a string.")
    elif utf16_length(text) > max_length:
        yield Problem(
            path,
            f"Must be at most {max_length} characters (UTF-16 code units); "
            f"got {utf16_length(text)}.",
        )


def _https_problems(url: Any, path: str) -> Iterator[Problem]:
    if not isinstance(url, str) or urlsplit(url).scheme != "https" or not urlsplit(url).netloc:
        yield Problem(path, "Must be an https URL.")


def _url_required_problems(url: Any, path: str) -> Iterator[Problem]:
    if not isinstance(url, str) or not url:
        yield Problem(path, "Required: a URL.")


def _flex_problems(contents: Any, path: str, limits: MessageLimits) -> Iterator[Problem]:
    if not isinstance(contents, dict):
        yield Problem(path, "Must be a Flex container object (bubble or carousel).")
        return
    kind = contents.get("type")
    if kind == "bubble":
        yield from _bubble_problems(contents, path, limits)
    elif kind == "carousel":
        bubbles = contents.get("contents")
        if not isinstance(bubbles, list) or not bubbles:
            yield Problem(f"{path}.contents", "Must be a non-empty list of bubbles.")
            return
        if len(bubbles) > limits.flex_carousel_max_bubbles:
            yield Problem(
                f"{path}.contents",
                f"A carousel holds at most {limits.flex_carousel_max_bubbles} bubbles; "
                f"got {len(bubbles)}.",
            )
        size = json_size(contents)
        if size > limits.flex_carousel_max_bytes:
            yield Problem(
                path,
                f"A carousel must be at most {limits.flex_carousel_max_bytes} bytes of JSON; "
                f"got {size}.",
            )
        for index, bubble in enumerate(bubbles):
            bubble_path = f"{path}.contents[{index}]"
            if not isinstance(bubble, dict) or bubble.get("type") != "bubble":
                yield Problem(f"{bubble_path}.type", "Must be 'bubble'.")
            else:
                yield from _bubble_problems(bubble, bubble_path, limits)
    else:
        yield Problem(f"{path}.type", f"Must be 'bubble' or 'carousel'; got {kind!r}.")


def _bubble_problems(bubble: dict, path: str, limits: MessageLimits) -> Iterator[Problem]:
    size = json_size(bubble)
    if size > limits.flex_bubble_max_bytes:
        yield Problem(
            path,
            f"A bubble must be at most {limits.flex_bubble_max_bytes} bytes of JSON; got {size}.",
        )
    for block in ("header", "hero", "body", "footer"):
        if block in bubble and not isinstance(bubble[block], dict):
            yield Problem(f"{path}.{block}", "Must be a Flex component object.")
    yield from _nested_action_problems(bubble, path, limits)


def _nested_action_problems(node: Any, path: str, limits: MessageLimits) -> Iterator[Problem]:
    """Walk a Flex tree and check every ``action`` it holds."""
    if isinstance(node, dict):
        for key, value in node.items():
            child = f"{path}.{key}"
            if key == "action":
                yield from _action_problems(value, child, limits)
            else:
                yield from _nested_action_problems(value, child, limits)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _nested_action_problems(value, f"{path}[{index}]", limits)


def _template_problems(template: Any, path: str, limits: MessageLimits) -> Iterator[Problem]:
    if not isinstance(template, dict):
        yield Problem(path, "Must be a template object.")
        return
    kind = template.get("type")
    if kind not in TEMPLATE_TYPES:
        yield Problem(f"{path}.type", f"Must be one of {', '.join(TEMPLATE_TYPES)}; got {kind!r}.")
        return
    if kind in ("buttons", "confirm") and not template.get("text"):
        yield Problem(f"{path}.text", f"Required for a {kind} template.")
    if kind in ("carousel", "image_carousel"):
        columns = template.get("columns")
        if not isinstance(columns, list) or not columns:
            yield Problem(f"{path}.columns", "Must be a non-empty list of columns.")
    if "thumbnailImageUrl" in template:
        yield from _https_problems(template["thumbnailImageUrl"], f"{path}.thumbnailImageUrl")
    if "defaultAction" in template:
        yield from _action_problems(template["defaultAction"], f"{path}.defaultAction", limits)
    for index, action in enumerate(_as_list(template.get("actions"))):
        yield from _action_problems(action, f"{path}.actions[{index}]", limits)
    for index, column in enumerate(_as_list(template.get("columns"))):
        if isinstance(column, dict):
            for action_index, action in enumerate(_as_list(column.get("actions"))):
                yield from _action_problems(
                    action, f"{path}.columns[{index}].actions[{action_index}]", limits
                )


def _quick_reply_problems(quick_reply: Any, path: str, limits: MessageLimits) -> Iterator[Problem]:
    items = quick_reply.get("items") if isinstance(quick_reply, dict) else None
    if not isinstance(items, list) or not items:
        yield Problem(f"{path}.items", "Must be a non-empty list of quick reply buttons.")
        return
    if len(items) > limits.quick_reply_max_items:
        yield Problem(
            f"{path}.items",
            f"Must contain at most {limits.quick_reply_max_items} buttons; got {len(items)}.",
        )
    for index, item in enumerate(items):
        item_path = f"{path}.items[{index}]"
        if not isinstance(item, dict) or "action" not in item:
            yield Problem(f"{item_path}.action", "Required for a quick reply button.")
            continue
        yield from _action_problems(item["action"], f"{item_path}.action", limits)


def _action_problems(action: Any, path: str, limits: MessageLimits) -> Iterator[Problem]:
    if not isinstance(action, dict):
        yield Problem(path, "Must be an action object.")
        return
    kind = action.get("type")
    if kind not in ACTION_TYPES:
        yield Problem(f"{path}.type", f"Must be one of {', '.join(ACTION_TYPES)}; got {kind!r}.")
        return
    if kind in ACTIONS_WITH_DATA:
        data = action.get("data")
        if kind != "richmenuswitch" and data is None:
            yield Problem(f"{path}.data", f"Required for a {kind} action.")
        elif data is not None:
            yield from _text_problems(data, f"{path}.data", limits.postback_data_max_length)
    if kind == "message" and not action.get("text"):
        yield Problem(f"{path}.text", "Required for a message action.")
    if kind == "uri" and not action.get("uri"):
        yield Problem(f"{path}.uri", "Required for a uri action.")
    if kind == "richmenuswitch" and not action.get("richMenuAliasId"):
        yield Problem(f"{path}.richMenuAliasId", "Required for a richmenuswitch action.")


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else []
