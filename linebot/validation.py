"""Checking LINE message objects before they are sent, the way the Messaging API checks them.

One module for both sides: the sandbox answers LINE's 400 from these problems, and the app
calls the same function before it writes a delivery, so an error shows up in the admin with the
JSON path that causes it instead of as a failed send. No Django imports at module level: the
sandbox runs without settings.

Each `Problem` keeps its sentence as a message id (`template`, English with `%(name)s`
placeholders, marked with `gettext_noop` so `makemessages` collects it) plus the values that
fill it (`params`: numbers, LINE keywords and property names, which are never translated).
`message` is the English sentence, which is what the sandbox answers as LINE does;
`problem_text()` gives the sentence in a person's language at display time.

The rules are those of LINE's Messaging API reference (message objects, actions, quick reply,
templates, imagemaps and every Flex component with its properties and value formats); the
limits the sandbox can change live in `MessageLimits`.
"""

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


def gettext_noop(message: str) -> str:
    """Marks a message id for translation without translating it (as Django's does)."""
    return message


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a message: where (a JSON path) and what, as an English sentence.

    `template` and `params` let the app show the sentence in another language; they take no
    part in comparisons, so a test can compare against `Problem(path, message)`.
    """

    path: str
    message: str
    template: str = field(default="", compare=False, repr=False)
    params: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def as_dict(self, language: str | None = None) -> dict[str, str]:
        """`{"path", "message"}` for JSON answers, the message in `language` when given."""
        return {"path": self.path, "message": problem_text(self, language)}


def problem(path: str, template: str, **params: Any) -> Problem:
    """A problem whose sentence is the message id `template` filled with `params`."""
    return Problem(path, template % params if params else template, template, params)


def problem_text(item: Problem, language: str | None = None) -> str:
    """The problem's sentence translated into `language` (or the active language).

    Imports Django's translation lazily: only the app (with settings) calls this; the
    sandbox answers in English, as LINE does.
    """
    if not item.template:
        return item.message
    from django.utils import translation

    if language is None:
        text = translation.gettext(item.template)
    else:
        with translation.override(language):
            text = translation.gettext(item.template)
    try:
        return text % item.params if item.params else text
    except (KeyError, ValueError, TypeError):
        return item.message  # a translation whose placeholders do not match: show English


@dataclass(frozen=True)
class MessageLimits:
    """LINE's limits on message objects; the sandbox can change each of them."""

    max_messages: int = 5
    text_max_length: int = 5000
    alt_text_max_length: int = 1500
    template_alt_text_max_length: int = 400
    flex_bubble_max_bytes: int = 30 * 1024
    flex_carousel_max_bubbles: int = 12
    flex_carousel_max_bytes: int = 50 * 1024
    postback_data_max_length: int = 300
    quick_reply_max_items: int = 13
    url_max_length: int = 2000
    uri_action_max_length: int = 1000
    text_max_emojis: int = 20
    imagemap_max_actions: int = 50
    template_carousel_max_columns: int = 10
    flex_max_animated_images: int = 10


DEFAULT_LIMITS = MessageLimits()

# The sentences, as message ids. Keep them short, concrete and free of jargon where possible:
# they are read by marketing staff next to the JSON path.
M_NOT_LIST = gettext_noop("Must be a list of message objects.")
M_EMPTY = gettext_noop("Must contain at least one message.")
M_TOO_MANY_MESSAGES = gettext_noop("Must contain at most %(max)d messages.")
M_NOT_MESSAGE = gettext_noop("Must be a message object.")
M_NOT_OBJECT = gettext_noop("Must be a JSON object ({...}).")
M_NOT_LIST_OF = gettext_noop("Must be a list ([...]).")
M_ONE_OF = gettext_noop("Must be one of %(choices)s; got %(value)s.")
M_REQUIRED_MESSAGE = gettext_noop("Required: every %(kind)s message needs it.")
M_REQUIRED_TEMPLATE = gettext_noop("Required: every %(kind)s template needs it.")
M_REQUIRED_ACTION = gettext_noop("Required for a %(kind)s action.")
M_REQUIRED_COMPONENT = gettext_noop("Required: every %(kind)s component needs it.")
M_REQUIRED = gettext_noop("Required.")
M_NOT_STRING = gettext_noop("Must be text (a JSON string).")
M_EMPTY_STRING = gettext_noop("Must not be empty.")
M_TOO_LONG = gettext_noop("Must be at most %(max)d characters (UTF-16 code units); got %(length)d.")
M_HTTPS = gettext_noop("Must be an https URL.")
M_URL_TOO_LONG = gettext_noop("A URL must be at most %(max)d characters; got %(length)d.")
M_URI_SCHEME = gettext_noop("Must be a URL starting with http://, https://, line:// or tel:.")
M_URL_REQUIRED = gettext_noop("Required: a URL.")
M_NOT_BOOLEAN = gettext_noop("Must be true or false.")
M_NOT_INTEGER = gettext_noop("Must be a whole number.")
M_NOT_NUMBER = gettext_noop("Must be a number.")
M_RANGE = gettext_noop("Must be between %(min)s and %(max)s; got %(value)s.")
M_AT_LEAST = gettext_noop("Must be at least %(min)s; got %(value)s.")
M_COUNT_MIN_MAX = gettext_noop("Must contain %(min)d to %(max)d items; got %(count)d.")
M_COUNT_EXACT = gettext_noop("Must contain exactly %(count)d items; got %(got)d.")
M_COLOR = gettext_noop("Must be a colour as #RRGGBB or #RRGGBBAA (for example #06C755).")
M_KEYWORD_OR_PIXELS = gettext_noop(
    "Must be one of %(keywords)s, or pixels such as %(example)s; got %(value)s."
)
M_KEYWORD_OR_LENGTH = gettext_noop(
    "Must be one of %(keywords)s, or pixels or a percentage such as %(example)s; got %(value)s."
)
M_LENGTH = gettext_noop("Must be pixels or a percentage such as %(example)s; got %(value)s.")
M_PIXELS = gettext_noop("Must be pixels such as %(example)s; got %(value)s.")
M_ANGLE = gettext_noop("Must be an angle in degrees such as %(example)s; got %(value)s.")
M_PERCENTAGE = gettext_noop("Must be a percentage such as %(example)s; got %(value)s.")
M_ASPECT_RATIO = gettext_noop(
    "Must be width:height with numbers from 1 to 100000 (for example 20:13); got %(value)s."
)
M_ASPECT_TOO_TALL = gettext_noop("The height may be at most three times the width.")
M_UNKNOWN_PROPERTY = gettext_noop("Unknown property: LINE does not accept it here.")
M_CAROUSEL_BUBBLES = gettext_noop("A carousel holds at most %(max)d bubbles; got %(count)d.")
M_CAROUSEL_BYTES = gettext_noop(
    "A carousel must be at most %(max)d bytes of JSON; got %(size)d. Shorten texts or remove "
    "bubbles."
)
M_BUBBLE_BYTES = gettext_noop(
    "A bubble must be at most %(max)d bytes of JSON; got %(size)d. Shorten texts or remove "
    "components."
)
M_NOT_BUBBLE = gettext_noop("Must be 'bubble'.")
M_NOT_CONTAINER = gettext_noop("Must be a Flex container object (bubble or carousel).")
M_CONTAINER_TYPE = gettext_noop("Must be 'bubble' or 'carousel'; got %(value)s.")
M_BLOCK_BOX = gettext_noop("The %(block)s of a bubble must be a box component.")
M_HERO_TYPE = gettext_noop("The hero of a bubble must be a box, image or video component.")
M_NOT_ALLOWED_IN = gettext_noop(
    "A component of type %(kind)s cannot be placed in a %(layout)s box."
)
M_VIDEO_HERO_ONLY = gettext_noop("A video component can only be the hero of a bubble.")
M_TEXT_OR_SPANS = gettext_noop("A text component needs text or spans (contents).")
M_SPANS_ONLY = gettext_noop("A text component's contents may hold only span components.")
M_TOO_MANY_ANIMATED = gettext_noop(
    "At most %(max)d animated images are allowed in one message; got %(count)d."
)
M_ACTION_NOT_HERE = gettext_noop("An action of type %(kind)s cannot be used here.")
M_EMOJI_MARKER = gettext_noop("The text must have a $ at index %(index)d for this LINE emoji.")
M_TEMPLATE_TEXT = gettext_noop(
    "With an image or title the text may be at most %(max)d characters; got %(length)d."
)
M_COLUMNS_SAME_ACTIONS = gettext_noop(
    "Every carousel column must have the same number of actions (the first has %(count)d)."
)
M_COLUMNS_SAME_FIELD = gettext_noop(
    "Either every carousel column has %(field)s or none has (the first column decides)."
)
M_IMAGEMAP_WIDTH = gettext_noop("An imagemap's base width must be 1040.")
M_DATETIME_FORMAT = gettext_noop("Must be a %(mode)s written as %(example)s; got %(value)s.")
M_MIN_AFTER_MAX = gettext_noop("The earliest choice must come before the latest.")
M_QUICK_REPLY_ITEM_TYPE = gettext_noop("Must be 'action'.")
M_SUBSTITUTION_KEY = gettext_noop("A placeholder name is 1 to 20 letters, digits or underscores.")
M_USER_ID = gettext_noop("Must be a LINE user ID: U followed by 32 hexadecimal digits.")
M_SENDER_NAME = gettext_noop("A sender name may not contain 'LINE'.")

MESSAGE_TYPES = (
    "text",
    "textV2",
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
    "textV2": ("text",),
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
URI_SCHEMES = ("http", "https", "line", "tel")

# Where an action sits decides which types LINE allows and how long its label may be.
ACTION_CONTEXTS: dict[str, tuple[tuple[str, ...], int, bool]] = {
    # context: (allowed types, label max length, label required)
    "richmenu": (
        ("postback", "message", "uri", "datetimepicker", "richmenuswitch", "clipboard"),
        20,
        False,
    ),
    "quickreply": (
        (
            "postback",
            "message",
            "uri",
            "datetimepicker",
            "camera",
            "cameraRoll",
            "location",
            "clipboard",
        ),
        20,
        True,
    ),
    "template": (("postback", "message", "uri", "datetimepicker", "clipboard"), 20, True),
    "default_action": (("postback", "message", "uri", "datetimepicker", "clipboard"), 20, False),
    "image_carousel": (("postback", "message", "uri", "datetimepicker", "clipboard"), 12, False),
    "flex_button": (("postback", "message", "uri", "datetimepicker", "clipboard"), 40, True),
    "flex": (("postback", "message", "uri", "datetimepicker", "clipboard"), 40, False),
}

# Flex value formats.
SPACING_KEYWORDS = ("none", "xs", "sm", "md", "lg", "xl", "xxl")
FONT_SIZE_KEYWORDS = ("xxs", "xs", "sm", "md", "lg", "xl", "xxl", "3xl", "4xl", "5xl")
IMAGE_SIZE_KEYWORDS = (*FONT_SIZE_KEYWORDS, "full")
BORDER_WIDTH_KEYWORDS = ("none", "light", "normal", "medium", "semi-bold", "bold")
BUBBLE_SIZES = ("nano", "micro", "deca", "hecto", "kilo", "mega", "giga")

_PX = re.compile(r"\d+(\.\d+)?px")
_SIGNED_PX = re.compile(r"-?\d+(\.\d+)?px")
_PERCENT = re.compile(r"\d+(\.\d+)?%")
_SIGNED_PERCENT = re.compile(r"-?\d+(\.\d+)?%")
_COLOR = re.compile(r"#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?")
_RATIO = re.compile(r"(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)")
_ANGLE = re.compile(r"-?\d+(\.\d+)?deg")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"\d{2}:\d{2}")
_SUBSTITUTION_KEY = re.compile(r"[0-9A-Za-z_]{1,20}")
_USER_ID = re.compile(r"U[0-9a-f]{32}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}")


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
        return [problem(path, M_NOT_LIST)]
    if not messages:
        return [problem(path, M_EMPTY)]
    check = _Checker(limits)
    if len(messages) > limits.max_messages:
        check.add(path, M_TOO_MANY_MESSAGES, max=limits.max_messages)
    for index, message in enumerate(messages):
        check.message(message, f"{path}[{index}]")
    return check.problems


def validate_action(
    action: Any,
    *,
    path: str,
    limits: MessageLimits = DEFAULT_LIMITS,
    context: str = "richmenu",
) -> list[Problem]:
    """Problems of one action object; `context` says where it sits (see `ACTION_CONTEXTS`)."""
    check = _Checker(limits)
    check.action(action, path, context)
    return check.problems


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _shown(value: Any) -> str:
    """A value as it appears in a sentence: short, JSON-like."""
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


Check = Callable[["_Checker", Any, str], None]


def _one_of(*choices: str) -> Check:
    def check(checker: "_Checker", value: Any, path: str) -> None:
        checker.enum(value, path, choices)

    return check


def _keyword_or(
    keywords: tuple[str, ...], *patterns: re.Pattern, message: str, example: str
) -> Check:
    """A LINE keyword (`md`) or a value matching one of `patterns` (`12px`, `50%`)."""

    def check(checker: "_Checker", value: Any, path: str) -> None:
        if isinstance(value, str) and (
            value in keywords or any(p.fullmatch(value) for p in patterns)
        ):
            return
        checker.add(
            path, message, keywords=", ".join(keywords), example=example, value=_shown(value)
        )

    return check


def _string(max_length: int | None = None) -> Check:
    def check(checker: "_Checker", value: Any, path: str) -> None:
        checker.text(value, path, max_length)

    return check


def _boolean(checker: "_Checker", value: Any, path: str) -> None:
    if not isinstance(value, bool):
        checker.add(path, M_NOT_BOOLEAN)


def _walked_separately(checker: "_Checker", value: Any, path: str) -> None:
    """Children, spans and alternative content are checked by the tree walk, with context."""


def _non_negative(checker: "_Checker", value: Any, path: str) -> None:
    checker.integer(value, path, minimum=0)


_flex_ratio = _non_negative


def _colour(checker: "_Checker", value: Any, path: str) -> None:
    checker.color(value, path)


def _image_url(checker: "_Checker", value: Any, path: str) -> None:
    checker.https(value, path)


def _aspect_ratio(checker: "_Checker", value: Any, path: str) -> None:
    match = _RATIO.fullmatch(value) if isinstance(value, str) else None
    width, height = (float(match[1]), float(match[2])) if match else (0.0, 0.0)
    if not match or not (1 <= width <= 100000 and 1 <= height <= 100000):
        checker.add(path, M_ASPECT_RATIO, value=_shown(value))
    elif height > width * 3:
        checker.add(path, M_ASPECT_TOO_TALL)


def _action_in(context: str) -> Check:
    def check(checker: "_Checker", value: Any, path: str) -> None:
        checker.action(value, path, context)

    return check


def _gradient(checker: "_Checker", value: Any, path: str) -> None:
    if not isinstance(value, dict):
        checker.add(path, M_NOT_OBJECT)
        return
    if value.get("type") != "linearGradient":
        checker.enum(value.get("type"), f"{path}.type", ("linearGradient",))
        return
    checker.properties(value, path, "background", GRADIENT_PROPERTIES)
    for required in ("angle", "startColor", "endColor"):
        if required not in value:
            checker.add(f"{path}.{required}", M_REQUIRED)


_MARGIN = _keyword_or(SPACING_KEYWORDS, _PX, message=M_KEYWORD_OR_PIXELS, example="8px")
_PADDING = _keyword_or(
    SPACING_KEYWORDS, _PX, _PERCENT, message=M_KEYWORD_OR_LENGTH, example="8px, 5%"
)
_OFFSET = _keyword_or(
    SPACING_KEYWORDS, _SIGNED_PX, _SIGNED_PERCENT, message=M_KEYWORD_OR_LENGTH, example="-8px, 5%"
)
_LENGTH = _keyword_or((), _PX, _PERCENT, message=M_LENGTH, example="120px, 50%")
_FONT_SIZE = _keyword_or(FONT_SIZE_KEYWORDS, _PX, message=M_KEYWORD_OR_PIXELS, example="16px")
_POSITIONED: dict[str, Check] = {
    "margin": _MARGIN,
    "position": _one_of("relative", "absolute"),
    "offsetTop": _OFFSET,
    "offsetBottom": _OFFSET,
    "offsetStart": _OFFSET,
    "offsetEnd": _OFFSET,
}
GRADIENT_PROPERTIES: dict[str, Check] = {
    "type": _one_of("linearGradient"),
    "angle": _keyword_or((), _ANGLE, message=M_ANGLE, example="90deg"),
    "startColor": _colour,
    "endColor": _colour,
    "centerColor": _colour,
    "centerPosition": _keyword_or((), _PERCENT, message=M_PERCENTAGE, example="50%"),
}
_TEXT_STYLE: dict[str, Check] = {
    "size": _FONT_SIZE,
    "color": _colour,
    "weight": _one_of("regular", "bold"),
    "style": _one_of("normal", "italic"),
    "decoration": _one_of("none", "underline", "line-through"),
}
# Every Flex component and the properties LINE accepts on it (its `type` aside).
COMPONENT_PROPERTIES: dict[str, dict[str, Check]] = {
    "box": {
        **_POSITIONED,
        "layout": _one_of("horizontal", "vertical", "baseline"),
        "contents": _walked_separately,
        "flex": _flex_ratio,
        "spacing": _MARGIN,
        "backgroundColor": _colour,
        "borderColor": _colour,
        "borderWidth": _keyword_or(
            BORDER_WIDTH_KEYWORDS, _PX, message=M_KEYWORD_OR_PIXELS, example="1px"
        ),
        "cornerRadius": _keyword_or(
            SPACING_KEYWORDS, _PX, message=M_KEYWORD_OR_PIXELS, example="8px"
        ),
        "width": _LENGTH,
        "maxWidth": _LENGTH,
        "height": _LENGTH,
        "maxHeight": _LENGTH,
        "paddingAll": _PADDING,
        "paddingTop": _PADDING,
        "paddingBottom": _PADDING,
        "paddingStart": _PADDING,
        "paddingEnd": _PADDING,
        "action": _action_in("flex"),
        "justifyContent": _one_of(
            "flex-start", "center", "flex-end", "space-between", "space-around", "space-evenly"
        ),
        "alignItems": _one_of("flex-start", "center", "flex-end"),
        "background": _gradient,
    },
    "button": {
        **_POSITIONED,
        "action": _action_in("flex_button"),
        "flex": _flex_ratio,
        "height": _one_of("sm", "md"),
        "style": _one_of("primary", "secondary", "link"),
        "color": _colour,
        "gravity": _one_of("top", "bottom", "center"),
        "adjustMode": _one_of("shrink-to-fit"),
        "scaling": _boolean,
    },
    "image": {
        **_POSITIONED,
        "url": _image_url,
        "flex": _flex_ratio,
        "align": _one_of("start", "end", "center"),
        "gravity": _one_of("top", "bottom", "center"),
        "size": _keyword_or(
            IMAGE_SIZE_KEYWORDS, _PX, _PERCENT, message=M_KEYWORD_OR_LENGTH, example="120px, 50%"
        ),
        "aspectRatio": _aspect_ratio,
        "aspectMode": _one_of("fit", "cover"),
        "backgroundColor": _colour,
        "action": _action_in("flex"),
        "animated": _boolean,
    },
    "video": {
        "url": _image_url,
        "previewUrl": _image_url,
        "altContent": _walked_separately,
        "aspectRatio": _aspect_ratio,
        "action": _action_in("flex"),
    },
    "icon": {
        **_POSITIONED,
        "url": _image_url,
        "size": _keyword_or(
            FONT_SIZE_KEYWORDS, _PX, _PERCENT, message=M_KEYWORD_OR_LENGTH, example="16px, 50%"
        ),
        "aspectRatio": _aspect_ratio,
        "scaling": _boolean,
    },
    "text": {
        **_POSITIONED,
        **_TEXT_STYLE,
        "text": _string(),
        "contents": _walked_separately,
        "flex": _flex_ratio,
        "align": _one_of("start", "end", "center"),
        "gravity": _one_of("top", "bottom", "center"),
        "wrap": _boolean,
        "lineSpacing": _keyword_or((), _PX, message=M_PIXELS, example="4px"),
        "maxLines": _non_negative,
        "action": _action_in("flex"),
        "adjustMode": _one_of("shrink-to-fit"),
        "scaling": _boolean,
    },
    "span": {**_TEXT_STYLE, "text": _string()},
    "separator": {"margin": _MARGIN, "color": _colour},
    "filler": {"flex": _flex_ratio},
    "spacer": {"size": _one_of(*SPACING_KEYWORDS[1:])},
}
REQUIRED_COMPONENT_FIELDS: dict[str, tuple[str, ...]] = {
    "box": ("layout", "contents"),
    "button": ("action",),
    "image": ("url",),
    "video": ("url", "previewUrl", "altContent"),
    "icon": ("url",),
    "span": ("text",),
}
# Which components a box of each layout may hold.
BOX_CHILDREN = {
    "vertical": ("box", "button", "image", "text", "separator", "filler", "spacer"),
    "horizontal": ("box", "button", "image", "text", "separator", "filler", "spacer"),
    "baseline": ("icon", "text", "filler", "spacer"),
}
BUBBLE_PROPERTIES = (
    "type",
    "size",
    "direction",
    "header",
    "hero",
    "body",
    "footer",
    "styles",
    "action",
)
BLOCK_STYLE_PROPERTIES: dict[str, Check] = {
    "backgroundColor": _colour,
    "separator": _boolean,
    "separatorColor": _colour,
}
TEMPLATE_PROPERTIES = {
    "buttons": (
        "type",
        "thumbnailImageUrl",
        "imageAspectRatio",
        "imageSize",
        "imageBackgroundColor",
        "title",
        "text",
        "defaultAction",
        "actions",
    ),
    "confirm": ("type", "text", "actions"),
    "carousel": ("type", "columns", "imageAspectRatio", "imageSize"),
    "image_carousel": ("type", "columns"),
}


class _Checker:
    """Collects problems while walking one request's messages."""

    def __init__(self, limits: MessageLimits):
        self.limits = limits
        self.problems: list[Problem] = []
        self.animated_images = 0

    def add(self, path: str, template: str, **params: Any) -> None:
        self.problems.append(problem(path, template, **params))

    # Values --------------------------------------------------------------------------------

    def text(self, value: Any, path: str, max_length: int | None, *, empty: bool = True) -> bool:
        if not isinstance(value, str):
            self.add(path, M_NOT_STRING)
            return False
        if not empty and not value:
            self.add(path, M_EMPTY_STRING)
            return False
        if max_length is not None and utf16_length(value) > max_length:
            self.add(path, M_TOO_LONG, max=max_length, length=utf16_length(value))
            return False
        return True

    def required_text(
        self, owner: dict, key: str, path: str, max_length: int | None, what: str, kind: str
    ) -> None:
        """A text field that must be present and not empty."""
        value = owner.get(key)
        if value is None or value == "":
            self.add(f"{path}.{key}", what, kind=kind)
        else:
            self.text(value, f"{path}.{key}", max_length)

    def enum(self, value: Any, path: str, choices: tuple[str, ...]) -> bool:
        if value in choices:
            return True
        self.add(path, M_ONE_OF, choices=", ".join(choices), value=_shown(value))
        return False

    def integer(
        self, value: Any, path: str, *, minimum: int | None = None, maximum: int | None = None
    ) -> bool:
        if not isinstance(value, int) or isinstance(value, bool):
            self.add(path, M_NOT_INTEGER)
            return False
        return self.in_range(value, path, minimum, maximum)

    def number(self, value: Any, path: str, minimum: float, maximum: float) -> None:
        if not isinstance(value, int | float) or isinstance(value, bool):
            self.add(path, M_NOT_NUMBER)
        else:
            self.in_range(value, path, minimum, maximum)

    def in_range(
        self, value: float, path: str, minimum: float | None, maximum: float | None
    ) -> bool:
        if minimum is not None and maximum is not None and not minimum <= value <= maximum:
            self.add(path, M_RANGE, min=minimum, max=maximum, value=value)
            return False
        if minimum is not None and value < minimum:
            self.add(path, M_AT_LEAST, min=minimum, value=value)
            return False
        return True

    def color(self, value: Any, path: str) -> None:
        if not isinstance(value, str) or not _COLOR.fullmatch(value):
            self.add(path, M_COLOR)

    def https(self, url: Any, path: str) -> None:
        if not isinstance(url, str) or urlsplit(url).scheme != "https" or not urlsplit(url).netloc:
            self.add(path, M_HTTPS)
        elif len(url) > self.limits.url_max_length:
            self.add(path, M_URL_TOO_LONG, max=self.limits.url_max_length, length=len(url))

    def uri(self, url: Any, path: str) -> None:
        """A link LINE opens: http(s), line or tel, at most 1000 characters."""
        if not isinstance(url, str) or not url:
            self.add(path, M_URL_REQUIRED)
            return
        parts = urlsplit(url)
        if parts.scheme.lower() not in URI_SCHEMES or (
            parts.scheme.lower() in ("http", "https") and not parts.netloc
        ):
            self.add(path, M_URI_SCHEME)
        elif len(url) > self.limits.uri_action_max_length:
            self.add(path, M_URL_TOO_LONG, max=self.limits.uri_action_max_length, length=len(url))

    def count(self, value: Any, path: str, minimum: int, maximum: int) -> list:
        """A list whose length must lie in [minimum, maximum]; returns it (or [])."""
        if not isinstance(value, list):
            self.add(path, M_NOT_LIST_OF)
            return []
        if not minimum <= len(value) <= maximum:
            self.add(path, M_COUNT_MIN_MAX, min=minimum, max=maximum, count=len(value))
        return value

    def properties(self, owner: dict, path: str, kind: str, checks: Mapping[str, Check]) -> None:
        """Each known property checked by its rule; unknown ones reported."""
        for key, value in owner.items():
            if key == "type":
                continue
            rule = checks.get(key)
            if rule is None:
                self.add(f"{path}.{key}", M_UNKNOWN_PROPERTY)
            else:
                rule(self, value, f"{path}.{key}")

    # Messages ------------------------------------------------------------------------------

    def message(self, message: Any, path: str) -> None:
        if not isinstance(message, dict):
            self.add(path, M_NOT_MESSAGE)
            return
        kind = message.get("type")
        if kind not in MESSAGE_TYPES:
            self.add(f"{path}.type", M_ONE_OF, choices=", ".join(MESSAGE_TYPES), value=_shown(kind))
            return
        missing = {key for key in REQUIRED_FIELDS[kind] if message.get(key) in (None, "")}
        for key in REQUIRED_FIELDS[kind]:
            if key in missing:
                self.add(f"{path}.{key}", M_REQUIRED_MESSAGE, kind=kind)
        for key in HTTPS_URL_FIELDS:
            if key in message and key not in missing:
                self.https(message[key], f"{path}.{key}")
        if "altText" in message and "altText" not in missing:
            alt_max = (
                self.limits.template_alt_text_max_length
                if kind == "template"
                else self.limits.alt_text_max_length
            )
            self.text(message["altText"], f"{path}.altText", alt_max)
        handler = getattr(self, f"message_{kind}", None)
        if handler is not None:
            handler(message, path, missing)
        if "quickReply" in message:
            self.quick_reply(message["quickReply"], f"{path}.quickReply")
        if "sender" in message:
            self.sender(message["sender"], f"{path}.sender")

    def message_text(self, message: dict, path: str, missing: set) -> None:
        if "text" in missing:
            return
        if not self.text(message["text"], f"{path}.text", self.limits.text_max_length):
            return
        if "emojis" in message:
            emojis = self.count(message["emojis"], f"{path}.emojis", 0, self.limits.text_max_emojis)
            units = message["text"].encode("utf-16-le")
            for index, emoji in enumerate(emojis):
                self.emoji(emoji, f"{path}.emojis[{index}]", units)

    def message_textV2(self, message: dict, path: str, missing: set) -> None:
        if "text" not in missing:
            self.text(message["text"], f"{path}.text", self.limits.text_max_length)
        if "substitution" not in message:
            return
        substitution = message["substitution"]
        if not isinstance(substitution, dict):
            self.add(f"{path}.substitution", M_NOT_OBJECT)
            return
        if len(substitution) > 100:
            self.add(
                f"{path}.substitution", M_COUNT_MIN_MAX, min=0, max=100, count=len(substitution)
            )
        for key, value in substitution.items():
            item_path = f"{path}.substitution.{key}"
            if not _SUBSTITUTION_KEY.fullmatch(key):
                self.add(item_path, M_SUBSTITUTION_KEY)
            if not isinstance(value, dict):
                self.add(item_path, M_NOT_OBJECT)
            elif self.enum(value.get("type"), f"{item_path}.type", ("emoji", "mention")):
                if value["type"] == "emoji":
                    for field_name in ("productId", "emojiId"):
                        if not value.get(field_name):
                            self.add(f"{item_path}.{field_name}", M_REQUIRED)
                else:
                    self.mentionee(value.get("mentionee"), f"{item_path}.mentionee")

    def mentionee(self, mentionee: Any, path: str) -> None:
        if not isinstance(mentionee, dict):
            self.add(path, M_REQUIRED)
        elif self.enum(mentionee.get("type"), f"{path}.type", ("user", "all")) and (
            mentionee["type"] == "user" and not _USER_ID.fullmatch(str(mentionee.get("userId")))
        ):
            self.add(f"{path}.userId", M_USER_ID)

    def emoji(self, emoji: Any, path: str, units: bytes) -> None:
        if not isinstance(emoji, dict):
            self.add(path, M_NOT_OBJECT)
            return
        for key in ("productId", "emojiId"):
            if not emoji.get(key):
                self.add(f"{path}.{key}", M_REQUIRED)
            else:
                self.text(emoji[key], f"{path}.{key}", 100)
        index = emoji.get("index")
        if self.integer(index, f"{path}.index", minimum=0) and (
            units[index * 2 : index * 2 + 2] != "$".encode("utf-16-le")
        ):
            self.add(f"{path}.index", M_EMOJI_MARKER, index=index)

    def message_sticker(self, message: dict, path: str, missing: set) -> None:
        for key in ("packageId", "stickerId"):
            if key not in missing:
                self.text(message[key], f"{path}.{key}", 100)

    def message_video(self, message: dict, path: str, missing: set) -> None:
        if "trackingId" in message:
            self.text(message["trackingId"], f"{path}.trackingId", 100)

    def message_audio(self, message: dict, path: str, missing: set) -> None:
        if "duration" not in missing:
            self.integer(message["duration"], f"{path}.duration", minimum=1)

    def message_location(self, message: dict, path: str, missing: set) -> None:
        for key in ("title", "address"):
            if key not in missing:
                self.text(message[key], f"{path}.{key}", 100)
        if "latitude" not in missing:
            self.number(message["latitude"], f"{path}.latitude", -90, 90)
        if "longitude" not in missing:
            self.number(message["longitude"], f"{path}.longitude", -180, 180)

    def message_imagemap(self, message: dict, path: str, missing: set) -> None:
        if "baseSize" not in missing:
            size = message["baseSize"]
            if not isinstance(size, dict):
                self.add(f"{path}.baseSize", M_NOT_OBJECT)
            else:
                if size.get("width") != 1040:
                    self.add(f"{path}.baseSize.width", M_IMAGEMAP_WIDTH)
                self.integer(size.get("height"), f"{path}.baseSize.height", minimum=1)
        if "actions" not in missing:
            actions = self.count(
                message["actions"], f"{path}.actions", 1, self.limits.imagemap_max_actions
            )
            for index, action in enumerate(actions):
                self.imagemap_action(action, f"{path}.actions[{index}]")
        if "video" in message:
            self.imagemap_video(message["video"], f"{path}.video")

    def imagemap_action(self, action: Any, path: str) -> None:
        if not isinstance(action, dict):
            self.add(path, M_NOT_OBJECT)
            return
        kind = action.get("type")
        if not self.enum(kind, f"{path}.type", ("uri", "message", "clipboard")):
            return
        if kind == "uri":
            self.uri(action.get("linkUri"), f"{path}.linkUri")
        elif kind == "message":
            self.required_text(action, "text", path, 400, M_REQUIRED_ACTION, kind)
        else:
            self.required_text(action, "clipboardText", path, 1000, M_REQUIRED_ACTION, kind)
        if "label" in action:
            self.text(action["label"], f"{path}.label", 100)
        self.area(action.get("area"), f"{path}.area")

    def area(self, area: Any, path: str) -> None:
        if not isinstance(area, dict):
            self.add(path, M_REQUIRED)
            return
        for key in ("x", "y", "width", "height"):
            self.integer(area.get(key), f"{path}.{key}", minimum=0 if key in "xy" else 1)

    def imagemap_video(self, video: Any, path: str) -> None:
        if not isinstance(video, dict):
            self.add(path, M_NOT_OBJECT)
            return
        for key in ("originalContentUrl", "previewImageUrl"):
            self.https(video.get(key), f"{path}.{key}")
        self.area(video.get("area"), f"{path}.area")
        if "externalLink" in video:
            link = video["externalLink"]
            if not isinstance(link, dict):
                self.add(f"{path}.externalLink", M_NOT_OBJECT)
                return
            self.uri(link.get("linkUri"), f"{path}.externalLink.linkUri")
            self.required_text(
                link, "label", f"{path}.externalLink", 30, M_REQUIRED_MESSAGE, "imagemap"
            )

    def sender(self, sender: Any, path: str) -> None:
        if not isinstance(sender, dict):
            self.add(path, M_NOT_OBJECT)
            return
        name = sender.get("name")
        if (
            "name" in sender
            and self.text(name, f"{path}.name", 20, empty=False)
            and ("line" in name.lower())
        ):
            self.add(f"{path}.name", M_SENDER_NAME)
        if "iconUrl" in sender:
            self.https(sender["iconUrl"], f"{path}.iconUrl")

    def quick_reply(self, quick_reply: Any, path: str) -> None:
        items = quick_reply.get("items") if isinstance(quick_reply, dict) else None
        if not isinstance(items, list) or not items:
            self.add(
                f"{path}.items",
                M_COUNT_MIN_MAX,
                min=1,
                max=self.limits.quick_reply_max_items,
                count=0,
            )
            return
        if len(items) > self.limits.quick_reply_max_items:
            self.add(
                f"{path}.items",
                M_COUNT_MIN_MAX,
                min=1,
                max=self.limits.quick_reply_max_items,
                count=len(items),
            )
        for index, item in enumerate(items):
            item_path = f"{path}.items[{index}]"
            if not isinstance(item, dict) or "action" not in item:
                self.add(f"{item_path}.action", M_REQUIRED)
                continue
            if item.get("type", "action") != "action":
                self.add(f"{item_path}.type", M_QUICK_REPLY_ITEM_TYPE)
            if "imageUrl" in item:
                self.https(item["imageUrl"], f"{item_path}.imageUrl")
            self.action(item["action"], f"{item_path}.action", "quickreply")

    # Actions -------------------------------------------------------------------------------

    def action(self, action: Any, path: str, context: str) -> None:
        if not isinstance(action, dict):
            self.add(path, M_NOT_OBJECT)
            return
        kind = action.get("type")
        if kind not in ACTION_TYPES:
            self.add(f"{path}.type", M_ONE_OF, choices=", ".join(ACTION_TYPES), value=_shown(kind))
            return
        allowed, label_max, label_required = ACTION_CONTEXTS.get(context, (ACTION_TYPES, 20, False))
        if kind not in allowed:
            self.add(f"{path}.type", M_ACTION_NOT_HERE, kind=kind)
            return
        if action.get("label") not in (None, ""):
            self.text(action["label"], f"{path}.label", label_max)
        elif label_required:
            self.add(f"{path}.label", M_REQUIRED_ACTION, kind=kind)
        limit = self.limits.postback_data_max_length
        if kind in ACTIONS_WITH_DATA:
            if action.get("data") in (None, ""):
                self.add(f"{path}.data", M_REQUIRED_ACTION, kind=kind)
            else:
                self.text(action["data"], f"{path}.data", limit)
        if kind == "postback":
            for key in ("displayText", "text", "fillInText"):
                if key in action:
                    self.text(action[key], f"{path}.{key}", 300)
            if "inputOption" in action:
                self.enum(
                    action["inputOption"],
                    f"{path}.inputOption",
                    ("closeRichMenu", "openRichMenu", "openKeyboard", "openVoice"),
                )
        elif kind == "message":
            self.required_text(action, "text", path, 300, M_REQUIRED_ACTION, kind)
        elif kind == "uri":
            if action.get("uri") in (None, ""):
                self.add(f"{path}.uri", M_REQUIRED_ACTION, kind=kind)
            else:
                self.uri(action["uri"], f"{path}.uri")
            alt = action.get("altUri")
            if isinstance(alt, dict) and "desktop" in alt:
                self.uri(alt["desktop"], f"{path}.altUri.desktop")
        elif kind == "datetimepicker":
            self.datetime_picker(action, path)
        elif kind == "richmenuswitch":
            self.required_text(action, "richMenuAliasId", path, 32, M_REQUIRED_ACTION, kind)
        elif kind == "clipboard":
            self.required_text(action, "clipboardText", path, 1000, M_REQUIRED_ACTION, kind)

    def datetime_picker(self, action: dict, path: str) -> None:
        mode = action.get("mode")
        if mode is None:
            self.add(f"{path}.mode", M_REQUIRED_ACTION, kind="datetimepicker")
            return
        if not self.enum(mode, f"{path}.mode", ("date", "time", "datetime")):
            return
        pattern, example = {
            "date": (_DATE, "2026-12-24"),
            "time": (_TIME, "18:30"),
            "datetime": (_DATETIME, "2026-12-24T18:30"),
        }[mode]
        for key in ("initial", "min", "max"):
            value = action.get(key)
            if value is not None and not (isinstance(value, str) and pattern.fullmatch(value)):
                self.add(
                    f"{path}.{key}",
                    M_DATETIME_FORMAT,
                    mode=mode,
                    example=example,
                    value=_shown(value),
                )
        low, high = action.get("min"), action.get("max")
        if (
            isinstance(low, str)
            and isinstance(high, str)
            and pattern.fullmatch(low)
            and pattern.fullmatch(high)
            and low.upper() >= high.upper()
        ):
            self.add(f"{path}.min", M_MIN_AFTER_MAX)

    # Templates -----------------------------------------------------------------------------

    def message_template(self, message: dict, path: str, missing: set) -> None:
        if "template" in missing:
            return
        template, path = message["template"], f"{path}.template"
        if not isinstance(template, dict):
            self.add(path, M_NOT_OBJECT)
            return
        kind = template.get("type")
        if not self.enum(kind, f"{path}.type", TEMPLATE_TYPES):
            return
        for key in template:
            if key not in TEMPLATE_PROPERTIES[kind]:
                self.add(f"{path}.{key}", M_UNKNOWN_PROPERTY)
        if kind in ("buttons", "carousel"):
            if "imageAspectRatio" in template:
                self.enum(
                    template["imageAspectRatio"],
                    f"{path}.imageAspectRatio",
                    ("rectangle", "square"),
                )
            if "imageSize" in template:
                self.enum(template["imageSize"], f"{path}.imageSize", ("cover", "contain"))
        if kind == "buttons":
            self.template_column(template, path, kind, text_max=160, max_actions=4)
        elif kind == "confirm":
            self.required_text(template, "text", path, 240, M_REQUIRED_TEMPLATE, kind)
            actions = template.get("actions")
            if not isinstance(actions, list) or len(actions) != 2:
                got = len(actions) if isinstance(actions, list) else 0
                self.add(f"{path}.actions", M_COUNT_EXACT, count=2, got=got)
            for index, action in enumerate(_as_list(actions)):
                self.action(action, f"{path}.actions[{index}]", "template")
        elif kind == "carousel":
            columns = self.count(
                template.get("columns"),
                f"{path}.columns",
                1,
                self.limits.template_carousel_max_columns,
            )
            for index, column in enumerate(columns):
                column_path = f"{path}.columns[{index}]"
                if not isinstance(column, dict):
                    self.add(column_path, M_NOT_OBJECT)
                    continue
                self.template_column(column, column_path, kind, text_max=120, max_actions=3)
            self.carousel_consistency(columns, f"{path}.columns")
        else:
            columns = self.count(
                template.get("columns"),
                f"{path}.columns",
                1,
                self.limits.template_carousel_max_columns,
            )
            for index, column in enumerate(columns):
                column_path = f"{path}.columns[{index}]"
                if not isinstance(column, dict):
                    self.add(column_path, M_NOT_OBJECT)
                    continue
                for key in column:
                    if key not in ("imageUrl", "action"):
                        self.add(
                            f"{column_path}.{key}", M_UNKNOWN_PROPERTY, kind="image carousel column"
                        )
                self.https(column.get("imageUrl"), f"{column_path}.imageUrl")
                if "action" not in column:
                    self.add(f"{column_path}.action", M_REQUIRED_TEMPLATE, kind=kind)
                else:
                    self.action(column["action"], f"{column_path}.action", "image_carousel")

    def template_column(
        self, column: dict, path: str, kind: str, *, text_max: int, max_actions: int
    ) -> None:
        """A buttons template, or one carousel column: image, title, text and actions."""
        if "thumbnailImageUrl" in column:
            self.https(column["thumbnailImageUrl"], f"{path}.thumbnailImageUrl")
        if "imageBackgroundColor" in column:
            self.color(column["imageBackgroundColor"], f"{path}.imageBackgroundColor")
        if "title" in column:
            self.text(column["title"], f"{path}.title", 40)
        text = column.get("text")
        if text in (None, ""):
            self.add(f"{path}.text", M_REQUIRED_TEMPLATE, kind=kind)
        elif self.text(text, f"{path}.text", text_max):
            decorated = column.get("thumbnailImageUrl") or column.get("title")
            if decorated and utf16_length(text) > 60:
                self.add(f"{path}.text", M_TEMPLATE_TEXT, max=60, length=utf16_length(text))
        if "defaultAction" in column:
            self.action(column["defaultAction"], f"{path}.defaultAction", "default_action")
        actions = self.count(column.get("actions"), f"{path}.actions", 1, max_actions)
        for index, action in enumerate(actions):
            self.action(action, f"{path}.actions[{index}]", "template")

    def carousel_consistency(self, columns: list, path: str) -> None:
        """LINE wants every column shaped like the first: same action count, image, title."""
        shaped = [column for column in columns if isinstance(column, dict)]
        if not shaped:
            return
        first = shaped[0]
        count = len(_as_list(first.get("actions")))
        for index, column in enumerate(columns):
            if not isinstance(column, dict) or index == 0:
                continue
            if len(_as_list(column.get("actions"))) != count:
                self.add(f"{path}[{index}].actions", M_COLUMNS_SAME_ACTIONS, count=count)
            for key in ("thumbnailImageUrl", "title"):
                if bool(first.get(key)) != bool(column.get(key)):
                    self.add(f"{path}[{index}].{key}", M_COLUMNS_SAME_FIELD, field=key)

    # Flex ----------------------------------------------------------------------------------

    def message_flex(self, message: dict, path: str, missing: set) -> None:
        if "contents" in missing:
            return
        contents, path = message["contents"], f"{path}.contents"
        self.animated_images = 0
        if not isinstance(contents, dict):
            self.add(path, M_NOT_CONTAINER)
            return
        kind = contents.get("type")
        if kind == "bubble":
            self.bubble(contents, path)
        elif kind == "carousel":
            self.carousel(contents, path)
        else:
            self.add(f"{path}.type", M_CONTAINER_TYPE, value=_shown(kind))
            return
        if self.animated_images > self.limits.flex_max_animated_images:
            self.add(
                path,
                M_TOO_MANY_ANIMATED,
                max=self.limits.flex_max_animated_images,
                count=self.animated_images,
            )

    def carousel(self, carousel: dict, path: str) -> None:
        bubbles = carousel.get("contents")
        if not isinstance(bubbles, list) or not bubbles:
            self.add(
                f"{path}.contents",
                M_COUNT_MIN_MAX,
                min=1,
                max=self.limits.flex_carousel_max_bubbles,
                count=0,
            )
            return
        for key in carousel:
            if key not in ("type", "contents"):
                self.add(f"{path}.{key}", M_UNKNOWN_PROPERTY)
        if len(bubbles) > self.limits.flex_carousel_max_bubbles:
            self.add(
                f"{path}.contents",
                M_CAROUSEL_BUBBLES,
                max=self.limits.flex_carousel_max_bubbles,
                count=len(bubbles),
            )
        size = json_size(carousel)
        if size > self.limits.flex_carousel_max_bytes:
            self.add(path, M_CAROUSEL_BYTES, max=self.limits.flex_carousel_max_bytes, size=size)
        for index, bubble in enumerate(bubbles):
            bubble_path = f"{path}.contents[{index}]"
            if not isinstance(bubble, dict) or bubble.get("type") != "bubble":
                self.add(f"{bubble_path}.type", M_NOT_BUBBLE)
            else:
                self.bubble(bubble, bubble_path)

    def bubble(self, bubble: dict, path: str) -> None:
        size = json_size(bubble)
        if size > self.limits.flex_bubble_max_bytes:
            self.add(path, M_BUBBLE_BYTES, max=self.limits.flex_bubble_max_bytes, size=size)
        for key in bubble:
            if key not in BUBBLE_PROPERTIES:
                self.add(f"{path}.{key}", M_UNKNOWN_PROPERTY)
        if "size" in bubble:
            self.enum(bubble["size"], f"{path}.size", BUBBLE_SIZES)
        if "direction" in bubble:
            self.enum(bubble["direction"], f"{path}.direction", ("ltr", "rtl"))
        if "action" in bubble:
            self.action(bubble["action"], f"{path}.action", "flex")
        for block in ("header", "hero", "body", "footer"):
            if block not in bubble:
                continue
            content, block_path = bubble[block], f"{path}.{block}"
            if not isinstance(content, dict):
                self.add(block_path, M_BLOCK_BOX if block != "hero" else M_HERO_TYPE, block=block)
                continue
            kind = content.get("type")
            if block == "hero" and kind not in ("box", "image", "video"):
                self.add(f"{block_path}.type", M_HERO_TYPE)
            elif block != "hero" and kind != "box":
                self.add(f"{block_path}.type", M_BLOCK_BOX, block=block)
            else:
                self.component(content, block_path, parent="hero" if block == "hero" else None)
        if "styles" in bubble:
            self.bubble_styles(bubble["styles"], f"{path}.styles")

    def bubble_styles(self, styles: Any, path: str) -> None:
        if not isinstance(styles, dict):
            self.add(path, M_NOT_OBJECT)
            return
        for block, style in styles.items():
            block_path = f"{path}.{block}"
            if block not in ("header", "hero", "body", "footer"):
                self.add(block_path, M_UNKNOWN_PROPERTY)
            elif not isinstance(style, dict):
                self.add(block_path, M_NOT_OBJECT)
            else:
                self.properties(style, block_path, "block style", BLOCK_STYLE_PROPERTIES)

    def component(self, component: Any, path: str, *, parent: str | None) -> None:
        """One Flex component; `parent` is its box's layout, `hero`, or None (block root)."""
        if not isinstance(component, dict):
            self.add(path, M_NOT_OBJECT)
            return
        kind = component.get("type")
        if kind not in COMPONENT_PROPERTIES or kind == "span":
            choices = tuple(name for name in COMPONENT_PROPERTIES if name != "span")
            self.enum(kind, f"{path}.type", choices)
            return
        if kind == "video" and parent != "hero":
            self.add(f"{path}.type", M_VIDEO_HERO_ONLY)
            return
        if parent in BOX_CHILDREN and kind not in BOX_CHILDREN[parent]:
            self.add(f"{path}.type", M_NOT_ALLOWED_IN, kind=kind, layout=parent)
            return
        for key in REQUIRED_COMPONENT_FIELDS.get(kind, ()):
            if key not in component:
                self.add(f"{path}.{key}", M_REQUIRED_COMPONENT, kind=kind)
        self.properties(component, path, f"{kind} component", COMPONENT_PROPERTIES[kind])
        if kind == "image" and component.get("animated") is True:
            self.animated_images += 1
        if kind == "box":
            layout = component.get("layout")
            children = component.get("contents")
            if "contents" in component and not isinstance(children, list):
                self.add(f"{path}.contents", M_NOT_LIST_OF)
            for index, child in enumerate(_as_list(children)):
                self.component(
                    child,
                    f"{path}.contents[{index}]",
                    parent=layout if layout in BOX_CHILDREN else "vertical",
                )
        elif kind == "text":
            self.text_component(component, path)
        elif kind == "video" and "altContent" in component:
            alt = component["altContent"]
            alt_kind = alt.get("type") if isinstance(alt, dict) else None
            if alt_kind not in ("box", "image"):
                self.add(
                    f"{path}.altContent.type",
                    M_ONE_OF,
                    choices="box, image",
                    value=_shown(alt_kind),
                )
            else:
                self.component(alt, f"{path}.altContent", parent="hero")

    def text_component(self, component: dict, path: str) -> None:
        spans = component.get("contents")
        has_text = isinstance(component.get("text"), str) and component["text"] != ""
        if spans is None:
            if not has_text:
                self.add(f"{path}.text", M_TEXT_OR_SPANS)
            return
        if not isinstance(spans, list):
            self.add(f"{path}.contents", M_NOT_LIST_OF)
            return
        if not spans and not has_text:
            self.add(f"{path}.text", M_TEXT_OR_SPANS)
        for index, span in enumerate(spans):
            span_path = f"{path}.contents[{index}]"
            if not isinstance(span, dict) or span.get("type") != "span":
                self.add(f"{span_path}.type", M_SPANS_ONLY)
                continue
            for key in REQUIRED_COMPONENT_FIELDS["span"]:
                if key not in span:
                    self.add(f"{span_path}.{key}", M_REQUIRED_COMPONENT, kind="span")
            self.properties(span, span_path, "span component", COMPONENT_PROPERTIES["span"])
