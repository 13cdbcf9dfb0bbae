"""The template editor's work: check a draft as it is typed, preview it, send a test.

The admin views call these functions and only turn their results into JSON.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from markupsafe import Markup

from linebot.models import Platform
from linebot.preview import render_messages
from linebot.validation import Problem, problem_text, validate_messages
from members.conversations import message_send
from members.models import Member, MemberLink, Message, MessageSource

from .personalize import (
    member_context,
    personalize,
    personalize_for_member,
    sample_context,
    template_variables,
    variable_problems,
)


@dataclass
class DraftCheck:
    """What the editor shows for a draft: a syntax error, or problems and a preview."""

    syntax_error: dict[str, Any] | None = None
    problems: list[Problem] = field(default_factory=list)
    html: Markup = field(default_factory=Markup)
    variables: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "syntax_error": self.syntax_error,
            "problems": [
                {"path": item.path, "message": problem_text(item)} for item in self.problems
            ],
            "html": str(self.html),
            "variables": self.variables,
            "valid": self.syntax_error is None and not self.problems,
        }


def draft_parse(text: str) -> tuple[Any, dict[str, Any] | None]:
    """The decoded JSON, or a syntax error with its line and column (1-based)."""
    try:
        return json.loads(text), None
    except json.JSONDecodeError as error:
        return None, {
            "message": _("JSON syntax error at line %(line)d, column %(column)d: %(error)s")
            % {"line": error.lineno, "column": error.colno, "error": error.msg},
            "line": error.lineno,
            "column": error.colno,
            "position": error.pos,
        }


def draft_check(
    text: str,
    *,
    member: Member | None = None,
    data: dict[str, Any] | None = None,
    personalized: bool = True,
) -> DraftCheck:
    """Parse, check variables, personalise (for `member` or a sample one), validate, render.

    Messages that are sent as written (`personalized=False`, auto-replies) are checked and
    shown as written, so the preview never promises a substitution that will not happen.
    """
    messages, syntax_error = draft_parse(text)
    if syntax_error:
        return DraftCheck(syntax_error=syntax_error)
    if not personalized:
        return DraftCheck(problems=validate_messages(messages), html=render_messages(messages))
    if member is not None:
        context = {**member_context(member), "data": dict(data or {})}
    else:
        context = {**sample_context(), "data": dict(data or {})}
    problems = variable_problems(messages) if isinstance(messages, list) else []
    rendered = personalize(messages, context=context)
    problems += validate_messages(rendered)
    variables = {
        name: personalize(f"{{{{ {name} }}}}", context={**context, "sample": False})
        for name in template_variables(messages)
    }
    return DraftCheck(problems=problems, html=render_messages(rendered), variables=variables)


def template_test_recipients(user) -> QuerySet[Member]:
    """Who a staff user may send a test to: their own linked LINE account, or sandbox users."""
    linked = MemberLink.objects.active().filter(user=user).values("member_id")
    return (
        Member.objects.filter(Q(pk__in=linked) | Q(channel__platform=Platform.SANDBOX))
        .select_related("channel")
        .order_by("channel__name", "display_name", "pk")
    )


class TemplateTestError(Exception):
    """The test cannot be sent; `problems` say why when the messages are at fault."""

    def __init__(self, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.problems = problems or []


def template_test_send(
    *,
    messages: Any,
    member: Member,
    user,
    data: dict[str, Any] | None = None,
    personalized: bool = True,
) -> list[Message]:
    """Personalise for `member`, validate for them, and send as a system message by `user`."""
    if not template_test_recipients(user).filter(pk=member.pk).exists():
        raise TemplateTestError(
            _("You can send tests only to your own LINE account or sandbox users.")
        )
    if personalized:
        problems = variable_problems(messages) if isinstance(messages, list) else []
        rendered, invalid = personalize_for_member(messages, member=member, data=data)
        problems += invalid
    else:
        rendered, problems = messages, validate_messages(messages)
    if problems:
        raise TemplateTestError(_("Fix the problems before sending a test."), problems)
    return message_send(member=member, messages=rendered, source=MessageSource.SYSTEM, sent_by=user)
