"""The preview's stylesheet, for pages that cannot link to static files.

Admin pages link `linebot/preview.css` through staticfiles; the sandbox runs without Django
settings, so it inlines the same file's text in a `<style>` element instead.
"""

from functools import cache
from pathlib import Path

PREVIEW_CSS_PATH = Path(__file__).resolve().parent.parent / "static" / "linebot" / "preview.css"


@cache
def preview_css() -> str:
    """The text of `preview.css`, read once per process."""
    return PREVIEW_CSS_PATH.read_text(encoding="utf-8")
