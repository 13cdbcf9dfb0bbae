"""Turning untrusted JSON values into CSS values and URLs the preview can safely emit.

Escaping stops a value from leaving its attribute, but inside `style="..."` a value such as
`red;position:fixed;inset:0` would still restyle the host page (the admin). So every value that
reaches CSS is matched against what LINE accepts (keywords, `12px`, `50%`, `#rrggbb`) and
anything else is dropped, which renders the LINE default. The keyword scales are the pixel
values LINE's Flex Message Simulator uses.
"""

import re

SPACING = {
    "none": "0",
    "xs": "2px",
    "sm": "4px",
    "md": "8px",
    "lg": "12px",
    "xl": "16px",
    "xxl": "20px",
}
FONT_SIZES = {
    "xxs": "11px",
    "xs": "13px",
    "sm": "14px",
    "md": "16px",
    "lg": "19px",
    "xl": "22px",
    "xxl": "29px",
    "3xl": "35px",
    "4xl": "48px",
    "5xl": "74px",
}
IMAGE_SIZES = {
    "xxs": "40px",
    "xs": "60px",
    "sm": "80px",
    "md": "100px",
    "lg": "120px",
    "xl": "140px",
    "xxl": "160px",
    "3xl": "180px",
    "4xl": "200px",
    "5xl": "220px",
    "full": "100%",
}
BORDER_WIDTHS = {
    "none": "0",
    "light": "0.5px",
    "normal": "1px",
    "medium": "2px",
    "semi-bold": "3px",
    "bold": "4px",
}

_NUMBER = r"\d{1,5}(?:\.\d{1,4})?"
_PIXELS = re.compile(rf"-?{_NUMBER}px")
_PERCENT = re.compile(rf"-?{_NUMBER}%")
_ANGLE = re.compile(rf"{_NUMBER}deg")
_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")
_RATIO = re.compile(rf"({_NUMBER}):({_NUMBER})")
_WEB_URL = re.compile(r"(?:https?://|/(?!/))[^\s\"'<>\\]+", re.IGNORECASE)
_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")


def text(value: object) -> str:
    """A string field as text; numbers are shown as typed, anything else as nothing."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def mapping(value: object) -> dict:
    """A JSON object field, or an empty one when the field is missing or of another type."""
    return value if isinstance(value, dict) else {}


def items(value: object) -> list:
    """A JSON array field, or an empty one when the field is missing or of another type."""
    return value if isinstance(value, list) else []


def integer(value: object) -> int | None:
    """An integer field; floats and strings are not integers in LINE's JSON either."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def length(
    value: object,
    keywords: dict[str, str] | None = None,
    *,
    percent: bool = True,
    negative: bool = False,
) -> str | None:
    """A CSS length from a LINE keyword, `Npx` or (where LINE allows it) `N%`."""
    if not isinstance(value, str):
        return None
    if keywords and value in keywords:
        return keywords[value]
    allowed = _PIXELS.fullmatch(value) or (percent and _PERCENT.fullmatch(value))
    if not allowed or (value.startswith("-") and not negative):
        return None
    return value


def color(value: object) -> str | None:
    """A hex colour as LINE writes them (`#rrggbb`, `#rrggbbaa`)."""
    return value if isinstance(value, str) and _COLOR.fullmatch(value) else None


def angle(value: object) -> str | None:
    """A gradient angle such as `90deg`."""
    return value if isinstance(value, str) and _ANGLE.fullmatch(value) else None


def ratio_parts(value: object, default: str = "1:1") -> tuple[float, float]:
    """Width and height of a LINE `W:H` aspect ratio, or of `default` if it is not one."""
    match = _RATIO.fullmatch(value) if isinstance(value, str) else None
    if not match or float(match[1]) == 0 or float(match[2]) == 0:
        match = _RATIO.fullmatch(default)
    return float(match[1]), float(match[2])


def ratio(value: object, default: str = "1:1") -> str:
    """A LINE `W:H` aspect ratio as a CSS `aspect-ratio` value."""
    width, height = ratio_parts(value, default)
    return f"{width:g} / {height:g}"


def web_url(value: object) -> str | None:
    """An http(s) URL, or a path on this site (stored media), to load an image or file from.

    Other schemes (`javascript:`, `data:`) are never loaded.
    """
    return value if isinstance(value, str) and _WEB_URL.fullmatch(value) else None


def identifier(value: object) -> str | None:
    """A LINE id (sticker, package, emoji product) safe to put in a URL path."""
    value = text(value)
    return value if _ID.fullmatch(value) else None


def one_of(value: object, choices: dict[str, str]) -> str | None:
    """The CSS value for one of LINE's enumerated keywords (`center` -> `center`...)."""
    return choices.get(value) if isinstance(value, str) else None
