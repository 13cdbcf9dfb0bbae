"""Action objects as tappable elements a host page can wire up.

Every element that carries a LINE action gets `data-action`, a JSON object with the action's
type, label and payload (`data`, `text`, `uri`, ...), so a host page such as the sandbox phone
can react to taps with one delegated listener. A `uri` action also becomes a real link, but
only for schemes LINE itself opens (http, https, line, tel): a `javascript:` URI is dropped from
both the link and the JSON so no host can be tricked into navigating to it.
"""

import json
import re

from .values import mapping, text

SAFE_URI = re.compile(r"(?:https?|line|tel):[^\x00-\x20\x7f]*", re.IGNORECASE)

# The fields of each action type that say what a tap does; everything else is ignored.
PAYLOAD_FIELDS = (
    "label",
    "data",
    "text",
    "displayText",
    "inputOption",
    "fillInText",
    "mode",
    "initial",
    "max",
    "min",
    "richMenuAliasId",
    "clipboardText",
)

# Labels LINE shows for actions that may omit one (quick reply camera and location chips).
DEFAULT_LABELS = {"camera": "Camera", "cameraRoll": "Camera roll", "location": "Location"}


def safe_href(uri: object) -> str | None:
    """The URI if LINE would open it as a link, else None."""
    return uri if isinstance(uri, str) and SAFE_URI.fullmatch(uri) else None


def action_label(action: object) -> str:
    """What the user reads on the control that triggers the action."""
    action = mapping(action)
    return text(action.get("label")) or DEFAULT_LABELS.get(text(action.get("type")), "")


def action_payload(action: object) -> dict[str, str]:
    """The action as the JSON a host page receives in `data-action`.

    Imagemap actions name their URI `linkUri`; it is reported as `uri` like every other one.
    """
    action = mapping(action)
    payload = {"type": text(action.get("type"))}
    for field in PAYLOAD_FIELDS:
        if value := text(action.get(field)):
            payload[field] = value
    if uri := safe_href(action.get("uri") or action.get("linkUri")):
        payload["uri"] = uri
    return payload


def action_attrs(action: object, *, linked: bool) -> dict[str, str | bool | None]:
    """Attributes for an `<a>` (or, inside one, any element) that performs `action`.

    `linked` says an ancestor is already an `<a>`: links cannot nest in HTML (the parser would
    close the outer one and break the layout), so then only `data-action` is set.
    """
    payload = action_payload(action)
    attrs: dict[str, str | bool | None] = {
        "data-action": json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    }
    if linked:
        return attrs
    if href := payload.get("uri"):
        attrs.update(href=href, target="_blank", rel="noopener noreferrer")
    else:
        attrs.update(role="button", tabindex="0")
    return attrs
