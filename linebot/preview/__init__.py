"""HTML preview of LINE messages, as a friend sees them in the LINE app.

Pure Python with no Django dependency, so the admin (live preview, conversation history) and
the standalone sandbox phone share one renderer. Output is escaped HTML whose classes start with
`lp-`; style it with `preview.css` (`preview_css()` returns its text for inlining). Elements
that carry a LINE action have a `data-action` JSON attribute for host pages to handle taps.
"""

from .css import PREVIEW_CSS_PATH, preview_css
from .flex import render_flex
from .messages import render_message, render_messages

__all__ = ["PREVIEW_CSS_PATH", "preview_css", "render_flex", "render_message", "render_messages"]
