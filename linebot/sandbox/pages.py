"""HTML pages of the sandbox (phone, Login consent, dialogs), rendered with Django's template
engine used standalone: it needs no settings, so the sandbox stays runnable on its own."""

from pathlib import Path
from typing import Any

from django.template import Context, Engine
from werkzeug.wrappers import Response

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
ENGINE = Engine(dirs=[str(TEMPLATES)], autoescape=True)


def render(name: str, context: dict[str, Any], *, status: int = 200) -> Response:
    html = ENGINE.get_template(name).render(Context(context, use_l10n=False, use_tz=False))
    return Response(html, status=status, content_type="text/html; charset=utf-8")
