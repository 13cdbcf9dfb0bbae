"""Building HTML elements whose text and attribute values are always escaped.

Message content is untrusted (anyone who can write a campaign, or any LINE user who writes to
the account), so nothing in the preview concatenates raw strings into HTML: every element goes
through `tag`, which escapes text children and attribute values with markupsafe.
"""

import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import ParamSpec

from markupsafe import Markup, escape

logger = logging.getLogger(__name__)

P = ParamSpec("P")

Content = str | Markup | Iterable["Content"] | None

_VOID = frozenset({"img", "br"})


def css(declarations: Mapping[str, str | None]) -> str | None:
    """A `style` attribute value from already-sanitised declarations, skipping missing ones."""
    text = ";".join(f"{name}:{value}" for name, value in declarations.items() if value)
    return text or None


def render(content: Content) -> Markup:
    """Escape text, keep Markup, flatten nested lists of either."""
    if content is None:
        return Markup("")
    if isinstance(content, str):
        return escape(content)
    return Markup("").join(render(part) for part in content)


def tag(
    name: str,
    content: Content = None,
    *,
    attrs: Mapping[str, str | bool | None] | None = None,
    **kwargs: str | bool | None,
) -> Markup:
    """One element; `class_` means `class`, other underscores become hyphens (`data_x`).

    `None` and `False` attributes are left out and `True` ones are written bare, so callers can
    pass optional values straight through.
    """
    merged = {key.rstrip("_").replace("_", "-"): value for key, value in kwargs.items()}
    merged.update(attrs or {})
    parts = [Markup("<{}").format(name)]
    for key, value in merged.items():
        if value is None or value is False:
            continue
        if value is True:
            parts.append(Markup(" {}").format(key))
        else:
            parts.append(Markup(' {}="{}"').format(key, value))
    parts.append(Markup(">"))
    if name not in _VOID:
        parts += [render(content), Markup("</{}>").format(name)]
    return Markup("").join(parts)


def unsupported(what: str, kind: str) -> Markup:
    """The small neutral note shown instead of anything the preview does not know."""
    return tag("div", f"Unsupported {what}: {kind[:40] or '(none)'}", class_="lp-unsupported")


def failsafe(render: Callable[P, Markup]) -> Callable[P, Markup]:
    """Make a public renderer log its failures and show a note instead of raising.

    A bug in one renderer (or JSON nested deeper than Python recurses) must not take down the
    admin page or the sandbox phone that shows the message.
    """

    @functools.wraps(render)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> Markup:
        try:
            return render(*args, **kwargs)
        except Exception:
            logger.exception("Preview of a LINE message failed")
            return tag("div", "This message cannot be previewed", class_="lp-unsupported lp-error")

    return guarded
