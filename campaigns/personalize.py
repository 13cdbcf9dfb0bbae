"""Personalisation: `{{ variables }}` inside the string values of LINE message objects.

Syntax, inside any JSON string value (never in keys):

    {{ member.display_name }}   {{ member.points }}   {{ member.rank }}
    {{ attributes.favourite_shop | default:"our shop" }}
    {{ data.product_name }}      (per-send data: the product in a cart, a reservation time)

Substitution walks the decoded JSON and replaces text inside string values, so a value can
never break the JSON (quotes, `}}`, HTML, emoji stay plain characters of one string) and a
value is never scanned again for variables. In URL fields a value inside the URL is
percent-encoded; a variable that is the whole start of a URL (`{{ data.product_url }}`) is
inserted as given. LINE emoji positions in text messages are recomputed after substitution.
The result must be validated again for the real member (`personalize_for_member`).
"""

import copy
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from django.utils.translation import get_language, gettext, gettext_noop

from linebot.validation import DEFAULT_LIMITS, MessageLimits, Problem, problem, validate_messages
from members.models import Member, Rank

VARIABLE = re.compile(
    r"\{\{\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_\-]+)+)\s*"
    r"(?:\|\s*default\s*:\s*\"(?P<default>(?:[^\"\\]|\\.)*)\"\s*)?\}\}"
)
# Anything that looks like a variable but is not one of the accepted shapes.
LOOSE_VARIABLE = re.compile(r"\{\{.*?\}\}", re.DOTALL)

MEMBER_FIELDS = (
    "display_name",
    "points",
    "rank",
    "birthday",
    "prefecture",
    "gender",
    "language",
    "external_customer_id",
)
NAMESPACES = ("member", "attributes", "data")
URL_KEYS = frozenset(
    {
        "uri",
        "linkUri",
        "url",
        "desktop",
        "originalContentUrl",
        "previewImageUrl",
        "thumbnailImageUrl",
        "imageUrl",
        "baseUrl",
        "previewUrl",
        "iconUrl",
    }
)

M_BAD_VARIABLE = gettext_noop(
    "Cannot read this variable: %(text)s. Write it as {{ member.points }} or "
    '{{ data.name | default:"..." }}.'
)
M_UNKNOWN_NAMESPACE = gettext_noop(
    "Unknown variable %(name)s: variables start with member., attributes. or data."
)
M_UNKNOWN_MEMBER_FIELD = gettext_noop("Unknown member field %(name)s; use one of %(fields)s.")
M_VARIABLE_IN_TYPE = gettext_noop("Variables cannot be used in %(key)s.")

SAMPLE_URL = "https://example.com/"


def sample_context() -> dict[str, Any]:
    """Variables for a preview without a member: a sample member, no attributes or data."""
    member = {
        "display_name": gettext("Hanako"),
        "points": 1200,
        "rank": str(Rank.GOLD.label),
        "birthday": "1990-04-01",
        "prefecture": gettext("Tokyo"),
        "gender": "",
        "language": get_language() or "ja",
        "external_customer_id": "C-0001",
    }
    return {"member": member, "attributes": {}, "data": {}, "sample": True}


def member_context(member: Member) -> dict[str, Any]:
    """The variables of one member: `member.*` and `attributes.*`."""
    values = {
        "display_name": member.display_name,
        "points": member.points,
        "rank": member.get_rank_display() if member.rank else "",
        "birthday": member.birthday.isoformat() if member.birthday else "",
        "prefecture": member.get_prefecture_display() if member.prefecture else "",
        "gender": member.get_gender_display() if member.gender else "",
        "language": member.language,
        "external_customer_id": member.external_customer_id,
    }
    attributes = member.attributes if isinstance(member.attributes, dict) else {}
    return {"member": values, "attributes": attributes}


def template_variables(messages: Any) -> list[str]:
    """Every variable name used in the messages, in order of first use."""
    names: list[str] = []
    for _path, value in _strings(messages, "messages"):
        for match in VARIABLE.finditer(value):
            if match["name"] not in names:
                names.append(match["name"])
    return names


def variable_problems(messages: Any, *, path: str = "messages") -> list[Problem]:
    """Variables that are misspelt or unknown, each with the JSON path of its string."""
    problems = []
    for string_path, value in _strings(messages, path):
        key = string_path.rsplit(".", 1)[-1]
        for loose in LOOSE_VARIABLE.finditer(value):
            match = VARIABLE.fullmatch(loose[0])
            if match is None:
                problems.append(problem(string_path, M_BAD_VARIABLE, text=loose[0][:60]))
                continue
            if key == "type":
                problems.append(problem(string_path, M_VARIABLE_IN_TYPE, key=key))
                continue
            namespace, _, field = match["name"].partition(".")
            if namespace not in NAMESPACES:
                problems.append(problem(string_path, M_UNKNOWN_NAMESPACE, name=match["name"]))
            elif namespace == "member" and field not in MEMBER_FIELDS:
                problems.append(
                    problem(
                        string_path,
                        M_UNKNOWN_MEMBER_FIELD,
                        name=match["name"],
                        fields=", ".join(MEMBER_FIELDS),
                    )
                )
    return problems


def personalize(messages: Any, *, context: Mapping[str, Any]) -> Any:
    """A copy of the messages with every variable replaced from `context`.

    `context` holds `member`, `attributes` and `data` mappings (see `member_context`). A
    missing value takes its default, or the empty string; in a preview (`context["sample"]`)
    a missing `data.*` value shows its name, so staff see where it goes.
    """
    result = copy.deepcopy(messages)
    return _walk(result, context, key=None)


def personalize_for_member(
    messages: Any,
    *,
    member: Member,
    data: Mapping[str, Any] | None = None,
    limits: MessageLimits = DEFAULT_LIMITS,
) -> tuple[Any, list[Problem]]:
    """The member's own messages and the problems LINE would report for them."""
    context = {**member_context(member), "data": dict(data or {})}
    rendered = personalize(messages, context=context)
    return rendered, validate_messages(rendered, limits=limits)


def _strings(node: Any, path: str):
    """(path, value) of every string value in a JSON tree."""
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, f"{path}[{index}]")


def _walk(node: Any, context: Mapping[str, Any], *, key: str | None) -> Any:
    if isinstance(node, dict):
        if node.get("type") == "text" and isinstance(node.get("emojis"), list):
            _text_with_emojis(node, context)
        return {
            name: (
                value
                if name == "type" or (name == "text" and "_emojis_done" in node)
                else _walk(value, context, key=name)
            )
            for name, value in node.items()
            if name != "_emojis_done"
        }
    if isinstance(node, list):
        return [_walk(value, context, key=key) for value in node]
    if isinstance(node, str):
        return _substitute(node, context, url=key in URL_KEYS)
    return node


def _substitute(text: str, context: Mapping[str, Any], *, url: bool) -> str:
    def replace(match: re.Match) -> str:
        value = _lookup(match["name"], context)
        if value is None:
            default = match["default"]
            if default is not None:
                value = re.sub(r"\\(.)", r"\1", default)
            elif context.get("sample"):
                value = SAMPLE_URL if url and match.start() == 0 else f"[{match['name']}]"
            else:
                value = ""
        value = _as_text(value, grouped=not url)
        if url and match.start() > 0:
            return quote(value, safe="")
        return value

    return VARIABLE.sub(replace, text)


def _lookup(name: str, context: Mapping[str, Any]) -> Any:
    """The value at a dotted name, or None when any step is missing or empty."""
    node: Any = context
    for part in name.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    if node is None or node == "" or isinstance(node, dict | list):
        return None
    return node


def _as_text(value: Any, *, grouped: bool) -> str:
    """A value as text: numbers grouped by thousands (1,200) for reading, plain in URLs."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}" if grouped else str(value)
    return str(value)


def _text_with_emojis(message: dict, context: Mapping[str, Any]) -> None:
    """Substitute the text around each `$` emoji marker and move the emoji indexes with it.

    LINE counts `index` in UTF-16 code units; a substituted value changes the length of the
    text before an emoji, so each segment between markers is substituted on its own.
    """
    text = message.get("text")
    if not isinstance(text, str):
        return
    units = text.encode("utf-16-le")
    markers = sorted(
        {
            emoji["index"]
            for emoji in message["emojis"]
            if isinstance(emoji, dict)
            and isinstance(emoji.get("index"), int)
            and units[emoji["index"] * 2 : emoji["index"] * 2 + 2] == "$".encode("utf-16-le")
        }
    )
    pieces, moved, last = [], {}, 0
    for index in markers:
        before = units[last * 2 : index * 2].decode("utf-16-le")
        pieces.append(_substitute(before, context, url=False))
        moved[index] = len("".join(pieces).encode("utf-16-le")) // 2
        pieces.append("$")
        last = index + 1
    pieces.append(_substitute(units[last * 2 :].decode("utf-16-le"), context, url=False))
    message["text"] = "".join(pieces)
    message["emojis"] = [
        {**emoji, "index": moved[emoji["index"]]}
        if isinstance(emoji, dict) and emoji.get("index") in moved
        else emoji
        for emoji in message["emojis"]
    ]
    message["_emojis_done"] = True
