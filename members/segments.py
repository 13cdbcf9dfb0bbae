"""Segments: a versioned JSON rule tree, validated, summarised, and compiled to one SQL query.

Stored form::

    {"version": 1, "root": {"type": "group", "op": "and", "rules": [...]}}

A group's ``op`` is ``and`` (all of), ``or`` (any of) or ``not`` (none of); groups nest. Every
other node is a condition, ``{"type": <type>, ...}``:

=================  ==========================================================================
type               fields
=================  ==========================================================================
gender             ``values``: list of ``female``/``male``/``other``/``""`` (not given)
age                ``op`` (``eq gt gte lt lte between``), ``value``, ``value2`` (between);
                   members without a birthday never match
birthday_month     ``values``: months 1-12
prefecture         ``values``: JIS codes 1-47
rank               ``values``: ``regular``/``silver``/``gold``/``platinum``
points             ``op`` (``eq ne gt gte lt lte between``), ``value``, ``value2``
attribute          ``key``, ``value_type`` (``string number boolean date``), ``op``
                   (``eq ne contains gt gte lt lte exists not_exists``), ``value``
tags               ``match`` (``any all none``), ``tags``: tag ids
friend_status      ``values``: ``friend``/``blocked``/``unknown``
link               ``linked`` (bool), ``methods``: link methods (empty: any)
followed           ``field`` (``followed_at``/``first_followed_at``), ``op`` (``within_days``
                   ``before`` ``after`` ``between``), ``value``, ``value2`` (days or
                   ``YYYY-MM-DD`` dates, in the site's time zone)
language           ``values``: language codes (``ja``, ``en``...)
event              ``kind``, ``name`` (blank: any), ``name_match`` (``exact``/``prefix``),
                   ``days`` (0: ever), ``measure`` (``count``/``sum`` of value), ``op``
                   (``gte gt eq lte lt``), ``value``
event_followup     ``kind``, ``name``, ``days``, ``then_kind``, ``then_name``,
                   ``within_hours``, ``happened`` (bool): e.g. added to cart and no purchase
                   within 24 hours (only events whose window has passed count)
wrote              ``days``, ``happened`` (bool): the member wrote to us in the last N days
received_campaign  ``campaign`` (id), ``happened`` (bool): our message log has a message of
                   that campaign to the member
clicked            ``campaign`` (id, null: any campaign), ``days`` (0: ever), ``happened``
                   (bool): the member clicked a tracked link of that campaign
                   (``members.tracking``)
rich_menu_tap      ``rich_menu`` (id, null: any of the channel's menus), ``area`` (1-20, null:
                   any), ``days`` (0: ever), ``op`` (``gte gt eq lte lt``), ``value``: taps
                   counted from the rich menu tap log
segment            ``segment`` (id), ``member`` (bool): in (or not in) another segment
audience           ``audience`` (id), ``member`` (bool): in (or not in) an uploaded audience
=================  ==========================================================================

Everything compiles to a ``Q`` over ``Member`` (``Exists``/``IN`` subqueries for related rows),
so ``segment_queryset`` is a single query and ``segment_contains`` asks the same query about
one member.

``segment_first_page`` (the admin's sample of the newest members) compiles the same rules for
a plan that stops early: a positive event condition that few members meet (a count or sum
threshold, or an event the planner expects to be rare) becomes ``id = ANY(ARRAY(<member ids
from the events index>))``, so PostgreSQL walks only those members' ids newest first instead of
walking every member and probing events for each (matches are rare and, on real data, mostly
old members: the walk went through half the table); a "none of" group becomes "not a and not
b", which PostgreSQL turns into anti-joins it can probe per member. The count keeps the plain
form, whose hash joins suit a full count.

Counts and sums of events read each member's event totals (``MemberEventTotal``, kept by a
database trigger on PostgreSQL) when the rule names no event: an "ever" rule is a range of the
totals, and a windowed one ("60,000 or more in 90 days") adds up the window of the members
whose totals can reach the threshold only, or, on the first page and when they are few, walks
those members newest first adding up each one's window. The totals bound the window from above
(positive values only, so refunds keep the answers exact); the compiler counts the candidates
(an index range) to choose, and adds up every member's window as before when most of them
could match. ``segment_contains`` adds up the one member's window instead.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    Expression,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    TextField,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform, KeyTransform, KeyTransformExact
from django.db.models.functions import Cast, Coalesce
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    IContains,
    In,
    LessThan,
    LessThanOrEqual,
)
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from linebot.models import RichMenu

from .conversations import shared_log_readers
from .models import (
    Audience,
    AudienceEntry,
    AudienceKind,
    Direction,
    EventKind,
    FriendStatus,
    Gender,
    LinkClick,
    LinkMethod,
    Member,
    MemberEvent,
    MemberEventTotal,
    MemberLink,
    Message,
    MessageSource,
    MessageStatus,
    Prefecture,
    Rank,
    RichMenuTap,
    Segment,
)

__all__ = [
    "CONDITION_TYPES",
    "DEFINITION_VERSION",
    "segment_compile",
    "segment_contains",
    "segment_count",
    "segment_dependencies",
    "segment_first_page",
    "segment_queryset",
    "segment_references",
    "segment_session",
    "segment_summary",
    "segment_validate",
    "segments_using",
]

DEFINITION_VERSION = 1
MAX_DEPTH = 8
MAX_RULES = 200

GROUP_OPS = ("and", "or", "not")
NUMBER_OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "between")
EVENT_OPS = ("gte", "gt", "eq", "lte", "lt")
ATTRIBUTE_OPS = ("eq", "ne", "contains", "gt", "gte", "lt", "lte", "exists", "not_exists")
ATTRIBUTE_TYPES = ("string", "number", "boolean", "date")
FOLLOWED_OPS = ("within_days", "before", "after", "between")
RICH_MENU_AREAS = 20  # LINE allows at most 20 areas per rich menu

CONDITION_TYPES = {
    "gender": gettext_lazy("Gender"),
    "age": gettext_lazy("Age"),
    "birthday_month": gettext_lazy("Birthday month"),
    "prefecture": gettext_lazy("Prefecture"),
    "rank": gettext_lazy("Membership rank"),
    "points": gettext_lazy("Points"),
    "attribute": gettext_lazy("Custom attribute"),
    "tags": gettext_lazy("Tags"),
    "friend_status": gettext_lazy("Friend status"),
    "link": gettext_lazy("ID link"),
    "followed": gettext_lazy("Follow date"),
    "language": gettext_lazy("Language"),
    "event": gettext_lazy("Events"),
    "event_followup": gettext_lazy("Event not followed by another"),
    "wrote": gettext_lazy("Wrote to us"),
    "received_campaign": gettext_lazy("Received campaign"),
    "clicked": gettext_lazy("Clicked a link"),
    "rich_menu_tap": gettext_lazy("Rich menu taps"),
    "segment": gettext_lazy("In another segment"),
    "audience": gettext_lazy("In an uploaded audience"),
}


# ---------------------------------------------------------------------------------------------
# Validation


class _Problems:
    """Collects "path: message" errors so one save reports every bad rule at once."""

    def __init__(self):
        self.messages: list[str] = []

    def add(self, path: str, message) -> None:
        self.messages.append(f"{path}: {message}")


def _as_int(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _as_decimal(value) -> Decimal | None:
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _as_date(value) -> dt.date | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        return None


def _check_values(node, path, problems, allowed, label) -> None:
    values = node.get("values")
    if not isinstance(values, list) or not values:
        problems.add(path, _("choose at least one %(what)s") % {"what": label})
        return
    unknown = [v for v in values if v not in allowed]
    if unknown:
        problems.add(
            path,
            _("unknown %(what)s: %(values)s")
            % {"what": label, "values": ", ".join(map(str, unknown))},
        )


def _check_comparison(node, path, problems, *, what, ops, integer=False, minimum=None) -> None:
    op = node.get("op")
    if op not in ops:
        problems.add(
            path, _("%(what)s needs a comparison (%(ops)s)") % {"what": what, "ops": ", ".join(ops)}
        )
        return
    keys = ("value", "value2") if op == "between" else ("value",)
    for key in keys:
        number = _as_int(node.get(key)) if integer else _as_decimal(node.get(key))
        if number is None:
            if integer:
                message = _("%(what)s comparison needs a whole number") % {"what": what}
            else:
                message = _("%(what)s comparison needs a number") % {"what": what}
            problems.add(path, message)
            return
        if minimum is not None and number < minimum:
            problems.add(
                path, _("%(what)s must be at least %(min)s") % {"what": what, "min": minimum}
            )
            return
    if op == "between":
        low, high = (_as_decimal(node.get(k)) for k in keys)
        if low > high:
            problems.add(path, _("%(what)s range is empty (from is above to)") % {"what": what})


def _check_days(node, path, problems, key="days", *, allow_zero=False) -> None:
    days = _as_int(node.get(key))
    if days is None or days < (0 if allow_zero else 1) or days > 3650:
        if allow_zero:
            problems.add(path, _("number of days must be 0 (ever) to 3650"))
        else:
            problems.add(path, _("number of days must be 1 to 3650"))


def _check_event_kind(node, path, problems, key="kind") -> None:
    if node.get(key) not in EventKind.values:
        problems.add(path, _("choose an event kind"))


def _check_bool(node, path, problems, key) -> None:
    if not isinstance(node.get(key, True), bool):
        problems.add(path, _("%(field)s must be true or false") % {"field": key})


def _validate_condition(node, path, problems, context) -> None:
    kind = node.get("type")
    if kind == "gender":
        _check_values(node, path, problems, Gender.values, _("gender"))
    elif kind == "age":
        _check_comparison(
            node,
            path,
            problems,
            what=_("age"),
            ops=NUMBER_OPS[:1] + NUMBER_OPS[2:],
            integer=True,
            minimum=0,
        )
    elif kind == "birthday_month":
        _check_values(node, path, problems, list(range(1, 13)), _("month"))
    elif kind == "prefecture":
        _check_values(node, path, problems, Prefecture.values, _("prefecture"))
    elif kind == "rank":
        _check_values(node, path, problems, Rank.values, _("rank"))
    elif kind == "points":
        _check_comparison(node, path, problems, what=_("points"), ops=NUMBER_OPS, integer=True)
    elif kind == "attribute":
        _validate_attribute(node, path, problems)
    elif kind == "tags":
        if node.get("match") not in ("any", "all", "none"):
            problems.add(path, _("tags need a match: any, all or none"))
        tags = node.get("tags")
        if not isinstance(tags, list) or not tags or not all(_as_int(t) for t in tags):
            problems.add(path, _("choose at least one tag"))
        elif context.channel is not None:
            known = set(
                context.channel.tags.filter(pk__in=[_as_int(t) for t in tags]).values_list(
                    "pk", flat=True
                )
            )
            missing = [t for t in tags if _as_int(t) not in known]
            if missing:
                problems.add(
                    path,
                    _("unknown tag: %(ids)s") % {"ids": ", ".join(map(str, missing))},
                )
    elif kind == "friend_status":
        _check_values(node, path, problems, FriendStatus.values, _("friend status"))
    elif kind == "link":
        _check_bool(node, path, problems, "linked")
        methods = node.get("methods", [])
        if not isinstance(methods, list) or any(m not in LinkMethod.values for m in methods):
            problems.add(path, _("unknown link method"))
    elif kind == "followed":
        if node.get("field", "followed_at") not in ("followed_at", "first_followed_at"):
            problems.add(path, _("follow date must be followed_at or first_followed_at"))
        op = node.get("op")
        if op not in FOLLOWED_OPS:
            problems.add(path, _("follow date needs a comparison"))
        elif op == "within_days":
            _check_days(node, path, problems, "value")
        else:
            keys = ("value", "value2") if op == "between" else ("value",)
            dates = [_as_date(node.get(k)) for k in keys]
            if None in dates:
                problems.add(path, _("follow date needs a date (YYYY-MM-DD)"))
            elif op == "between" and dates[0] > dates[1]:
                problems.add(path, _("follow date range is empty (from is after to)"))
    elif kind == "language":
        values = node.get("values")
        if (
            not isinstance(values, list)
            or not values
            or not all(isinstance(v, str) and 0 < len(v) <= 16 for v in values)
        ):
            problems.add(path, _("choose at least one language"))
    elif kind == "event":
        _check_event_kind(node, path, problems)
        _check_name(node, path, problems, "name")
        if node.get("name_match", "exact") not in ("exact", "prefix"):
            problems.add(path, _("event name match must be exact or prefix"))
        _check_days(node, path, problems, allow_zero=True)
        measure = node.get("measure", "count")
        if measure not in ("count", "sum"):
            problems.add(path, _("events are measured by count or sum"))
        _check_comparison(
            node,
            path,
            problems,
            what=_("event count") if measure == "count" else _("event value"),
            ops=EVENT_OPS,
            integer=measure == "count",
            minimum=0,
        )
    elif kind == "event_followup":
        _check_event_kind(node, path, problems)
        _check_event_kind(node, path, problems, "then_kind")
        _check_name(node, path, problems, "name")
        _check_name(node, path, problems, "then_name")
        _check_days(node, path, problems)
        hours = _as_int(node.get("within_hours"))
        if hours is None or not 1 <= hours <= 24 * 90:
            problems.add(path, _("hours must be 1 to 2160"))
        _check_bool(node, path, problems, "happened")
    elif kind == "wrote":
        _check_days(node, path, problems)
        _check_bool(node, path, problems, "happened")
    elif kind == "received_campaign":
        campaign = _as_int(node.get("campaign"))
        if campaign is None or campaign < 1:
            problems.add(path, _("received campaign needs a campaign"))
        _check_bool(node, path, problems, "happened")
    elif kind == "clicked":
        campaign = node.get("campaign")
        if campaign not in (None, "") and (_as_int(campaign) is None or _as_int(campaign) < 1):
            problems.add(path, _("clicked needs a campaign ID, or none for any campaign"))
        _check_days(node, path, problems, allow_zero=True)
        _check_bool(node, path, problems, "happened")
    elif kind == "rich_menu_tap":
        _validate_rich_menu_tap(node, path, problems, context)
    elif kind == "segment":
        _validate_segment_reference(node, path, problems, context)
    elif kind == "audience":
        audience_id = _as_int(node.get("audience"))
        _check_bool(node, path, problems, "member")
        query = Audience.objects.filter(pk=audience_id)
        if context.channel is not None:
            query = query.filter(channel=context.channel)
        if audience_id is None or not query.exists():
            problems.add(path, _("choose an audience of this channel"))
    else:
        problems.add(path, _("unknown condition type %(type)r") % {"type": kind})


def _check_name(node, path, problems, key) -> None:
    name = node.get(key, "")
    if not isinstance(name, str) or len(name) > 100:
        problems.add(path, _("event name must be text of at most 100 characters"))


def _validate_attribute(node, path, problems) -> None:
    key = node.get("key")
    if not isinstance(key, str) or not key.strip() or len(key) > 100:
        problems.add(path, _("custom attribute needs a key"))
        return
    value_type = node.get("value_type", "string")
    op = node.get("op")
    if value_type not in ATTRIBUTE_TYPES:
        problems.add(path, _("custom attribute type must be string, number, boolean or date"))
        return
    if op not in ATTRIBUTE_OPS:
        problems.add(path, _("custom attribute needs a comparison"))
        return
    if op in ("exists", "not_exists"):
        return
    value = node.get("value")
    if op == "contains" and value_type != "string":
        problems.add(path, _("only text attributes can be searched with contains"))
    elif value_type in ("number",) and _as_decimal(value) is None:
        problems.add(path, _("custom attribute %(key)s comparison needs a number") % {"key": key})
    elif value_type == "boolean" and (not isinstance(value, bool) or op not in ("eq", "ne")):
        problems.add(path, _("custom attribute %(key)s is compared with yes or no") % {"key": key})
    elif value_type == "date" and _as_date(value) is None:
        problems.add(path, _("custom attribute %(key)s needs a date (YYYY-MM-DD)") % {"key": key})
    elif value_type == "string" and (not isinstance(value, str) or value == ""):
        problems.add(path, _("custom attribute %(key)s needs a text value") % {"key": key})
    elif value_type == "string" and op in ("gt", "gte", "lt", "lte"):
        problems.add(path, _("text attributes are compared with is, is not or contains"))


def _validate_rich_menu_tap(node, path, problems, context) -> None:
    menu = node.get("rich_menu")
    if menu is not None:  # null (or no key): any rich menu
        menu_id = _as_int(menu)
        query = RichMenu.objects.filter(pk=menu_id)
        if context.channel is not None:
            query = query.filter(channel=context.channel)
        if menu_id is None or menu_id < 1 or not query.exists():
            problems.add(path, _("choose a rich menu of this channel"))
    area = node.get("area")
    if area is not None:  # null (or no key): any area
        number = _as_int(area)
        if number is None or not 1 <= number <= RICH_MENU_AREAS:
            problems.add(path, _("rich menu area must be 1 to %(max)s") % {"max": RICH_MENU_AREAS})
    _check_days(node, path, problems, allow_zero=True)
    _check_comparison(
        node, path, problems, what=_("tap count"), ops=EVENT_OPS, integer=True, minimum=0
    )


def _validate_segment_reference(node, path, problems, context) -> None:
    segment_id = _as_int(node.get("segment"))
    _check_bool(node, path, problems, "member")
    query = Segment.objects.filter(pk=segment_id)
    if context.channel is not None:
        query = query.filter(channel=context.channel)
    other = query.first() if segment_id else None
    if other is None:
        problems.add(path, _("choose a segment of this channel"))
        return
    chain = _segment_cycle(start=context.segment, through=other)
    if chain:
        problems.add(
            path,
            _("segments cannot include themselves: %(path)s")
            % {"path": " → ".join(f"“{name}”" for name in chain)},
        )


def _segment_cycle(*, start: Segment | None, through: Segment) -> list[str] | None:
    """Names along a path from ``through`` back to ``start`` (or any loop), else None."""
    if start is not None and start.pk is not None and through.pk == start.pk:
        return [start.name, through.name]

    def walk(segment, trail, seen):
        for other_id in segment_dependencies(segment.definition):
            if start is not None and other_id == start.pk:
                return [*trail, start.name]
            if other_id in seen:
                names = dict(Segment.objects.filter(pk=other_id).values_list("pk", "name"))
                return [*trail, names.get(other_id, str(other_id))]
            other = Segment.objects.filter(pk=other_id).only("pk", "name", "definition").first()
            if other is not None:
                found = walk(other, [*trail, other.name], seen | {other_id})
                if found:
                    return found
        return None

    prefix = [start.name] if start is not None else []
    return walk(through, [*prefix, through.name], {through.pk})


def segment_dependencies(definition: dict) -> list[int]:
    """Ids of the segments a definition refers to, directly."""
    return sorted(segment_references(definition)["segment"])


def segment_references(definition: dict) -> dict[str, set[int]]:
    """Ids of the segments and audiences a definition refers to, directly."""
    found = {"segment": set(), "audience": set()}

    def visit(node):
        if not isinstance(node, dict):
            return
        if node.get("type") == "group":
            for child in node.get("rules") or []:
                visit(child)
        elif node.get("type") in found and _as_int(node.get(node["type"])):
            found[node["type"]].add(_as_int(node.get(node["type"])))

    visit((definition or {}).get("root"))
    return found


def segments_using(*, segments=(), audiences=()) -> list[Segment]:
    """The segments whose rules name any of these segments or audiences (to refuse deleting
    something a segment still needs)."""
    segment_ids = {s.pk for s in segments}
    audience_ids = {a.pk for a in audiences}
    channels = {s.channel_id for s in segments} | {a.channel_id for a in audiences}
    using = []
    for candidate in Segment.objects.filter(channel_id__in=channels).exclude(pk__in=segment_ids):
        references = segment_references(candidate.definition)
        if references["segment"] & segment_ids or references["audience"] & audience_ids:
            using.append(candidate)
    return using


class _Context:
    def __init__(self, *, channel, segment):
        self.channel = channel
        self.segment = segment
        self.count = 0


def segment_validate(definition, *, channel=None, segment: Segment | None = None) -> dict:
    """Check a definition; return it, or raise ValidationError with one message per bad rule,
    each starting with the rule's path (``root.rules[2]: points comparison needs a number``)."""
    problems = _Problems()
    if not isinstance(definition, dict):
        raise ValidationError(_("The rules must be a JSON object."))
    if definition.get("version") != DEFINITION_VERSION:
        raise ValidationError(
            _("Unknown rules version %(version)r (expected %(expected)s).")
            % {"version": definition.get("version"), "expected": DEFINITION_VERSION}
        )
    context = _Context(channel=channel, segment=segment)

    def visit(node, path, depth):
        context.count += 1
        if not isinstance(node, dict):
            problems.add(path, _("a rule must be an object"))
            return
        if node.get("type") == "group":
            if depth > MAX_DEPTH:
                problems.add(path, _("groups nest at most %(n)s deep") % {"n": MAX_DEPTH})
                return
            if node.get("op") not in GROUP_OPS:
                problems.add(path, _("a group matches all (and), any (or) or none (not)"))
            rules = node.get("rules")
            if not isinstance(rules, list):
                problems.add(path, _("a group needs a list of rules"))
                return
            if not rules and depth > 0:
                problems.add(path, _("this group is empty"))
            for index, child in enumerate(rules):
                visit(child, f"{path}.rules[{index}]", depth + 1)
        else:
            _validate_condition(node, path, problems, context)

    root = definition.get("root")
    if not isinstance(root, dict) or root.get("type") != "group":
        raise ValidationError(_("root: the rules must start with a group"))
    visit(root, "root", 0)
    if context.count > MAX_RULES:
        problems.add("root", _("at most %(n)s rules") % {"n": MAX_RULES})
    if problems.messages:
        raise ValidationError(problems.messages)
    return {"version": DEFINITION_VERSION, "root": root}


# ---------------------------------------------------------------------------------------------
# Compilation


# The comparison operators of rules, as lookups on expressions.
_LOOKUPS = {
    "gte": GreaterThanOrEqual,
    "gt": GreaterThan,
    "eq": Exact,
    "lte": LessThanOrEqual,
    "lt": LessThan,
}


def _compare(field: str, op: str, value, value2=None) -> Q:
    if op == "between":
        return Q(**{f"{field}__gte": value, f"{field}__lte": value2})
    if op == "ne":
        return ~Q(**{field: value})
    if op == "eq":
        return Q(**{field: value})
    return Q(**{f"{field}__{op}": value})


def _satisfies(op: str, left, right) -> bool:
    return {
        "gte": left >= right,
        "gt": left > right,
        "eq": left == right,
        "lte": left <= right,
        "lt": left < right,
    }[op]


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


def _age_q(node, today: dt.date) -> Q:
    """Age as birthday ranges, so an index on birthday could serve it."""
    op, value = node["op"], _as_int(node["value"])

    def at_least(age):  # born on or before today minus ``age`` years
        return Q(birthday__lte=_years_before(today, age))

    def younger_than(age):
        return Q(birthday__gt=_years_before(today, age))

    if op == "gte":
        return at_least(value)
    if op == "gt":
        return at_least(value + 1)
    if op == "lte":
        return younger_than(value + 1)
    if op == "lt":
        return younger_than(value)
    if op == "eq":
        return at_least(value) & younger_than(value + 1)
    return at_least(value) & younger_than(_as_int(node["value2"]) + 1)


def _start_of_day(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _followed_q(node, now) -> Q:
    field = node.get("field", "followed_at")
    op = node["op"]
    if op == "within_days":
        return Q(**{f"{field}__gte": now - dt.timedelta(days=_as_int(node["value"]))})
    start = _start_of_day(_as_date(node["value"]))
    if op == "before":
        return Q(**{f"{field}__lt": start})
    end = _start_of_day(_as_date(node.get("value2") or node["value"]) + dt.timedelta(days=1))
    if op == "after":
        return Q(**{f"{field}__gte": end})
    return Q(**{f"{field}__gte": start, f"{field}__lt": end})


class JSONTypeOf(Func):
    """The JSON type of ``attributes[key]``: ``string``, ``number``, ``boolean``, ``object``,
    ``array``, ``null`` (or NULL when the key is missing), on PostgreSQL and SQLite alike."""

    output_field = TextField()

    def __init__(self, field: str, key: str):
        super().__init__(F(field))
        self.key = key

    def as_postgresql(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        return f"jsonb_typeof({column} -> %s)", (*params, self.key)

    def as_sqlite(self, compiler, connection, **extra):
        # The embedded development database: json_type names numbers and booleans apart.
        column, params = compiler.compile(self.source_expressions[0])
        path = '$."{}"'.format(self.key.replace('"', '\\"'))
        return (
            f"CASE json_type({column}, %s) WHEN 'integer' THEN 'number' WHEN 'real' THEN "
            f"'number' WHEN 'text' THEN 'string' WHEN 'true' THEN 'boolean' WHEN 'false' "
            f"THEN 'boolean' ELSE json_type({column}, %s) END",
            (*params, path, *params, path),
        )


def _attribute_q(node) -> Q:
    key, op = node["key"], node["op"]
    value_type = node.get("value_type", "string")
    if op == "exists":
        return Q(attributes__has_key=key)
    if op == "not_exists":
        return ~Q(attributes__has_key=key)
    value = node.get("value")
    if value_type in ("string", "boolean") and op in ("eq", "ne"):
        if connection.vendor == "postgresql":
            # {"key": value} containment is served by the GIN (jsonb_path_ops) index.
            matches = Q(attributes__contains={key: value})
        else:
            matches = Q(KeyTransformExact(KeyTransform(key, "attributes"), value))
        return matches if op == "eq" else Q(attributes__has_key=key) & ~matches
    if value_type == "number":
        typed, operand = "number", Value(float(_as_decimal(value)))
        output = FloatField()
    else:
        # Text and ISO dates compare as text (ISO date order is text order).
        typed = "string"
        operand = Value(_as_date(value).isoformat() if value_type == "date" else value)
        output = TextField()
    # Only values of the right JSON type take part: the cast never sees anything else.
    typed_value = Case(
        When(
            Exact(JSONTypeOf("attributes", key), typed),
            then=Cast(KeyTextTransform(key, "attributes"), output),
        ),
        default=None,
        output_field=output,
    )
    if op == "contains":
        return Q(IContains(typed_value, value))
    if op == "ne":
        return Q(GreaterThanOrEqual(typed_value, operand) | LessThan(typed_value, operand))
    return Q(_LOOKUPS[op](typed_value, operand))


def _events(node, now, *, kind_key="kind", name_key="name", days_key="days") -> QuerySet:
    events = MemberEvent.objects.filter(kind=node[kind_key])
    name = node.get(name_key) or ""
    if name:
        if node.get("name_match", "exact") == "prefix":
            events = events.filter(name__startswith=name)
        else:
            events = events.filter(name=name)
    days = _as_int(node.get(days_key)) or 0
    if days:
        events = events.filter(occurred_at__gte=now - dt.timedelta(days=days))
    return events


class InArray(Expression):
    """``<field> = ANY(ARRAY(<subquery>))``: the subquery runs once, first (an InitPlan), and
    its ids drive an index scan of the primary key, newest first when the query is ordered so.

    Only for short lists in a positive position: negated, it would scan the array per row."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, field: str, queryset: QuerySet):
        super().__init__()
        self.column = F(field)
        self.subquery = Subquery(queryset)

    def get_source_expressions(self):
        return [self.column, self.subquery]

    def set_source_expressions(self, exprs):
        self.column, self.subquery = exprs

    def as_sql(self, compiler, connection):
        field, field_params = compiler.compile(self.column)
        subquery, subquery_params = compiler.compile(self.subquery)
        return f"{field} = ANY(ARRAY{subquery})", (*field_params, *subquery_params)


# The most events an event condition may match for the first page to start from them (a few
# milliseconds of index reads); above it, walking the newest members finds matches sooner.
DRIVE_EVENTS_MAX = 50_000


def _estimated_rows(queryset: QuerySet) -> float:
    """PostgreSQL's estimate of a query's rows (EXPLAIN, not run); infinite elsewhere."""
    if connection.vendor != "postgresql":
        return float("inf")
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]["Plan Rows"]


def _drive(events: QuerySet) -> Q:
    """Members with one of these events, as a short id list the page query starts from."""
    return Q(InArray("pk", events.order_by().values("member_id").distinct()))


# Event totals kept per member and kind (``MemberEventTotal``): per measure, the column that is
# the total itself, and the columns that bound a window's total from above (all time, recent).
TOTAL_COLUMNS = {
    "count": ("count", "count", "recent_count"),
    "sum": ("value_sum", "positive_sum", "recent_positive_sum"),
}
# A windowed total is added up for the members whose totals can reach the threshold only when
# they are at most this share of the window's events (PostgreSQL's estimate) and this many;
# otherwise many members in the window are candidates and the filter costs about what it
# saves (bench/segments.py: "2+ purchases in 30 days", 81,000 candidates for 130,000 events;
# "60,000+ in 90 days": 7,100 for 396,000).
CANDIDATES_SHARE_MAX = 0.1
CANDIDATES_MAX = 100_000
# The first page walks at most this many candidates newest first, adding up each one's window
# (an index range each) until the page is full, instead of adding up all of them.
WALK_CANDIDATES_MAX = 10_000

_NEGATED = {"gte": "lt", "gt": "lte", "eq": "ne", "lte": "gt", "lt": "gte"}


def _totals_kept() -> bool:
    """Whether ``MemberEventTotal`` follows the events: a PostgreSQL trigger keeps it (on the
    embedded SQLite database it stays empty)."""
    return connection.vendor == "postgresql"


def _floor(op: str, value) -> tuple[str, object] | None:
    """A lookup (``gte``/``gt``, value) that every total ``<op> value`` meets, when those
    totals are all above zero: then any upper bound of the total meets it too."""
    if op in ("gte", "eq") and value > 0:
        return "gte", value
    if op == "gt" and value >= 0:
        return "gt", value
    return None


def _recent_bounds(now: dt.datetime, days: int) -> bool:
    """Whether the recent totals bound a window of ``days`` ending at ``now``.

    The recent totals count every event since ``recent_since``, which the trigger (members
    migration 0010) sets 92 days (RECENT_DAYS + RECENT_MARGIN_DAYS) before the database's
    present, so it is always at least that far back. A window of at most RECENT_DAYS (90)
    read at a ``now`` at most CLOCK_SLACK (a day) behind our clock starts at most 91 days back:
    after ``recent_since`` while our clock and the database's differ by less than a day, so
    all its events are in the recent totals."""
    return (
        days <= MemberEventTotal.RECENT_DAYS
        and now >= timezone.now() - MemberEventTotal.CLOCK_SLACK
    )


def _candidates(node, now, measure: str, floor: tuple[str, object]) -> QuerySet:
    """Totals of the members whose total over the node's window can meet ``floor``: an upper
    bound of it does, and their last event is in the window. Exact for any values: the bounds
    count positive values only, so a refund never lowers them."""
    days = _as_int(node["days"])
    _exact, all_time, recent = TOTAL_COLUMNS[measure]
    column = recent if _recent_bounds(now, days) else all_time
    lookup, value = floor
    return MemberEventTotal.objects.filter(
        kind=node["kind"],
        last_at__gte=now - dt.timedelta(days=days),
        **{f"{column}__{lookup}": value},
    )


def _window_plan(events: QuerySet, candidates: QuerySet, *, walk: bool) -> str:
    """How to find the members past a windowed threshold: ``walk`` the candidates (the first
    page only), add up the window for the ``candidates`` only, or for ``all`` members."""
    limit = min(max(_estimated_rows(events), 1) * CANDIDATES_SHARE_MAX, CANDIDATES_MAX)
    found = _totals_count(candidates, limit)
    if found is None:
        return "all"
    return "walk" if walk and found <= WALK_CANDIDATES_MAX else "candidates"


def _totals_count(totals: QuerySet, limit: float) -> int | None:
    """How many rows of ``MemberEventTotal`` a query selects, or None when over ``limit``.

    PostgreSQL's estimate of such a range is low (it takes the kind and the total for
    independent: on the bench data the true counts are 4 to 9 times more), so an estimate over
    the limit settles it; otherwise the rows are counted up to the limit, an index range."""
    if limit < 0 or _estimated_rows(totals) > limit:
        return None
    found = totals.order_by().values("pk")[: int(limit) + 1].count()
    return found if found <= limit else None


def _member_total(events: QuerySet, aggregate) -> Subquery:
    """The member's total over these events (NULL when there are none), read by index for
    each member of the outer query."""
    return Subquery(
        events.filter(member=OuterRef("pk"))
        .order_by()
        .values("member_id")
        .annotate(total=aggregate)
        .values("total")
    )


def _ever_q(node, measure: str, op: str, value, *, drive: bool) -> Q:
    """An all-time count or sum, read from the members' totals: no event is added up."""
    exact, all_time, _recent = TOTAL_COLUMNS[measure]
    totals = MemberEventTotal.objects.filter(kind=node["kind"])
    condition = _compare(exact, op, value)
    zero_matches = _satisfies(op, 0, value)
    # Members without events (no totals, or totals of 0) match when 0 does: exclude the others.
    selected = totals.filter(~condition if zero_matches else condition)
    floor = _floor(_NEGATED[op] if zero_matches else op, value)
    if floor is not None and all_time != exact:
        # A sum is at most the sum of its positive values: the same floor there is a range
        # of the index (whose included value_sum checks the sum itself).
        selected = selected.filter(**{f"{all_time}__{floor[0]}": floor[1]})
    inside = Exists(selected.filter(member=OuterRef("pk")))
    if zero_matches:
        return ~Q(inside)
    if drive and _totals_count(selected, DRIVE_EVENTS_MAX) is not None:
        return Q(InArray("pk", selected.values("member_id")))
    return Q(inside)


def _event_q(node, now, *, drive=False, one_member=False) -> Q:
    events = _events(node, now)
    measure = node.get("measure", "count")
    op = node["op"]
    if measure == "count":
        value = _as_int(node["value"])
        if (op, value) in (("gte", 1), ("gt", 0)):
            if drive and _estimated_rows(events) <= DRIVE_EVENTS_MAX:
                return _drive(events)
            return Q(Exists(events.filter(member=OuterRef("pk"))))
        if (op, value) in (("lt", 1), ("eq", 0), ("lte", 0)):
            return ~Q(Exists(events.filter(member=OuterRef("pk"))))
        aggregate = Count("*")  # "*" lets an index without the id answer it
    else:
        value = _as_decimal(node["value"])
        aggregate = Sum("value")
    days = _as_int(node.get("days")) or 0
    # The totals are per kind: a rule on event names adds up the events.
    by_totals = _totals_kept() and not node.get("name")
    if by_totals and not days:
        return _ever_q(node, measure, op, value, drive=drive)
    if one_member:
        # One member's window is an index range: add it up rather than everyone's.
        total = _member_total(events, aggregate)
        total = Coalesce(total, Value(0), output_field=total.output_field)
        return Q(_LOOKUPS[op](total, value))
    totals = events.order_by().values("member_id").annotate(total=aggregate)
    condition = _compare("total", op, value)
    zero_matches = _satisfies(op, 0, value)
    # Members with no such event (a total of 0) match when 0 does: exclude those who fail.
    selected_condition = ~condition if zero_matches else condition
    floor = _floor(_NEGATED[op] if zero_matches else op, value) if by_totals else None
    if floor is not None:
        candidates = _candidates(node, now, measure, floor)
        plan = _window_plan(events, candidates, walk=drive and not zero_matches)
        if plan == "walk":
            # Few members can be past the threshold: the page reads them newest first and
            # adds up each one's window until it is full.
            return Q(InArray("pk", candidates.values("member_id"))) & Q(
                _LOOKUPS[op](_member_total(events, aggregate), value)
            )
        if plan == "candidates":
            # "member_id + 0" keeps PostgreSQL from probing the events member by member (it
            # takes the candidates for several times fewer than they are, and each probe
            # reads the event table for the value: 1.8 s for big_spenders_90d's count on a
            # cold cache): the window's covering index is read once, hashed against them.
            totals = totals.filter(In(F("member_id") + 0, candidates.values("member_id")))
    selected = totals.filter(selected_condition).values("member_id")
    if zero_matches:
        return ~Q(pk__in=selected)
    if drive:
        # The members past the threshold are read by id instead of walking every member to
        # meet them.
        return Q(InArray("pk", selected))
    return Q(pk__in=selected)


def _rich_menu_taps(node, now) -> QuerySet:
    taps = RichMenuTap.objects.all()
    menu = _as_int(node.get("rich_menu"))
    if menu is not None:
        taps = taps.filter(rich_menu_id=menu)
    area = _as_int(node.get("area"))
    if area is not None:
        taps = taps.filter(area=area)
    days = _as_int(node.get("days")) or 0
    if days:
        taps = taps.filter(tapped_at__gte=now - dt.timedelta(days=days))
    return taps


def _rich_menu_tap_q(node, now) -> Q:
    """Tap counts like event counts: ``Exists`` for "at least once" and "never", otherwise
    members by their total; a total any member without taps satisfies ("fewer than 3")
    matches those members too."""
    taps = _rich_menu_taps(node, now)
    op, value = node["op"], _as_int(node["value"])
    if (op, value) in (("gte", 1), ("gt", 0)):
        return Q(Exists(taps.filter(member=OuterRef("pk"))))
    if (op, value) in (("lt", 1), ("eq", 0), ("lte", 0)):
        return ~Q(Exists(taps.filter(member=OuterRef("pk"))))
    # "*" lets the (member, tapped_at) index answer the count without the table.
    totals = taps.order_by().values("member_id").annotate(total=Count("*"))
    condition = _compare("total", op, value)
    if _satisfies(op, 0, value):
        # Members with no tap (a total of 0) match, so exclude those who fail instead.
        return ~Q(pk__in=totals.filter(~condition).values("member_id"))
    return Q(pk__in=totals.filter(condition).values("member_id"))


def _event_followup_q(node, now, *, drive=False) -> Q:
    window = dt.timedelta(hours=_as_int(node["within_hours"]))
    first = _events(node, now).filter(occurred_at__lte=now - window)
    then = MemberEvent.objects.filter(
        member=OuterRef("member_id"),
        kind=node["then_kind"],
        occurred_at__gte=OuterRef("occurred_at"),
        occurred_at__lte=OuterRef("occurred_at") + window,
    )
    if node.get("then_name"):
        then = then.filter(name=node["then_name"])
    followed = Exists(then)
    matching = first.filter(followed if node.get("happened", False) else ~followed)
    if drive and _estimated_rows(first) <= DRIVE_EVENTS_MAX:
        return _drive(matching)
    return Q(Exists(matching.filter(member=OuterRef("pk"))))


def _wrote_q(node, now) -> Q:
    wrote = Exists(
        Message.objects.filter(
            member=OuterRef("pk"),
            direction=Direction.INBOUND,
            source=MessageSource.USER,
            created_at__gte=now - dt.timedelta(days=_as_int(node["days"])),
        )
    )
    return Q(wrote) if node.get("happened", True) else ~Q(wrote)


def _received_campaign_q(node) -> Q:
    campaign_id = _as_int(node["campaign"])
    received = Q(
        Exists(
            Message.objects.filter(
                member=OuterRef("pk"),
                direction=Direction.OUTBOUND,
                source=MessageSource.CAMPAIGN,
                source_id=campaign_id,
            ).exclude(status=MessageStatus.FAILED)
        )
    )
    # A multicast is logged once for all its members: the campaigns app says who received it.
    reader = shared_log_readers().get(MessageSource.CAMPAIGN)
    if reader is not None:
        received |= reader.received(campaign_id)
    return received if node.get("happened", True) else ~received


def _clicked_q(node, now) -> Q:
    clicks = LinkClick.objects.filter(member=OuterRef("pk"), source=MessageSource.CAMPAIGN)
    campaign = node.get("campaign")
    if campaign not in (None, ""):
        clicks = clicks.filter(source_id=_as_int(campaign))
    days = _as_int(node.get("days")) or 0
    if days:
        clicks = clicks.filter(clicked_at__gte=now - dt.timedelta(days=days))
    clicked = Exists(clicks)
    return Q(clicked) if node.get("happened", True) else ~Q(clicked)


AUDIENCE_HASHED_MAX = 200_000  # entries; fits the segment session's work_mem when hashed

AUDIENCE_MEMBER_FIELDS = {
    AudienceKind.LINE_USER_ID: "line_user_id",
    AudienceKind.CUSTOMER_ID: "external_customer_id",
    AudienceKind.EMAIL: "email_sha256",
    AudienceKind.PHONE: "phone_sha256",
}


def _audience_q(node) -> Q:
    audience = (
        Audience.objects.filter(pk=_as_int(node["audience"])).only("kind", "entry_count").first()
    )
    if audience is None:
        return Q(pk__in=[])
    field = AUDIENCE_MEMBER_FIELDS[audience.kind]
    # Entries are never blank, so members with a blank contact field never match.
    entries = AudienceEntry.objects.filter(audience=audience)
    if audience.entry_count <= AUDIENCE_HASHED_MAX:
        # Small enough to hash once in memory: IN gives PostgreSQL the better plans.
        inside = Q(**{f"{field}__in": entries.values("value")})
    else:
        # A list too big to hash in work_mem: one index probe per member never degrades.
        inside = Q(Exists(entries.filter(value=OuterRef(field))))
    return inside if node.get("member", True) else ~inside


def segment_compile(
    definition: dict,
    *,
    now: dt.datetime | None = None,
    first_page: bool = False,
    one_member: bool = False,
    _seen=(),
) -> Q:
    """The ``Q`` over ``Member`` that a (validated) definition means.

    ``first_page`` compiles it for the newest few members rather than a count (see the module
    docstring); ``one_member`` for asking about a single member (``segment_contains``): event
    totals are added up for that member only. Except with ``one_member``, compiling may ask
    PostgreSQL for estimates (EXPLAIN) and count members' event totals to choose a plan."""
    now = now or timezone.now()
    today = timezone.localdate(now)

    def group(node, positive) -> Q:
        op = node.get("op", "and")
        # Only conditions every member must meet (ANDs all the way up) may drive the query.
        parts = [visit(child, positive and op == "and") for child in node.get("rules") or []]
        if not parts:
            return Q()  # an empty group: everyone (an empty segment is the channel)
        if op == "not" and first_page:
            # "None of": not a and not b..., anti-joins a first page can probe per member.
            combined = ~parts[0]
            for part in parts[1:]:
                combined &= ~part
            return combined
        combined = parts[0]
        for part in parts[1:]:
            # "not" is "none of": NOT (a OR b ...).
            combined = combined & part if op == "and" else combined | part
        return ~combined if op == "not" else combined

    simple: dict[str, Callable[[dict], Q]] = {
        "gender": lambda n: Q(gender__in=n["values"]),
        "birthday_month": lambda n: Q(birthday__month__in=[int(v) for v in n["values"]]),
        "prefecture": lambda n: Q(prefecture__in=[int(v) for v in n["values"]]),
        "rank": lambda n: Q(rank__in=n["values"]),
        "friend_status": lambda n: Q(friend_status__in=n["values"]),
        "language": lambda n: Q(language__in=n["values"]),
        "points": lambda n: _compare(
            "points", n["op"], _as_int(n["value"]), _as_int(n.get("value2"))
        ),
        "age": lambda n: _age_q(n, today),
        "attribute": _attribute_q,
        "followed": lambda n: _followed_q(n, now),
        "wrote": lambda n: _wrote_q(n, now),
        "received_campaign": _received_campaign_q,
        "clicked": lambda n: _clicked_q(n, now),
        "rich_menu_tap": lambda n: _rich_menu_tap_q(n, now),
        "audience": _audience_q,
    }

    def visit(node, positive) -> Q:
        kind = node.get("type")
        if kind == "group":
            return group(node, positive)
        drive = first_page and positive
        if kind == "event":
            return _event_q(node, now, drive=drive, one_member=one_member)
        if kind == "event_followup":
            return _event_followup_q(node, now, drive=drive)
        if kind in simple:
            return simple[kind](node)
        if kind == "tags":
            return _tags_q(node)
        if kind == "link":
            return _link_q(node)
        if kind == "segment":
            return _segment_q(node, positive)
        raise ValidationError(_("unknown condition type %(type)r") % {"type": kind})

    def _segment_q(node, positive) -> Q:
        other_id = _as_int(node["segment"])
        if other_id in _seen:
            raise ValidationError(_("segments cannot include themselves"))
        other = Segment.objects.filter(pk=other_id).only("definition").first()
        if other is None:
            inside = Q(pk__in=[])
        else:
            inside = segment_compile(
                other.definition,
                now=now,
                first_page=first_page and positive and node.get("member", True),
                one_member=one_member,
                _seen=(*_seen, other_id),
            )
            # An empty Q() cannot be negated into "nobody"; make "everyone" explicit.
            inside = inside or Q(pk__isnull=False)
        return inside if node.get("member", True) else ~inside

    return group(definition["root"], True)


def _tags_q(node) -> Q:
    tags = [_as_int(t) for t in node["tags"]]
    through = Member.tags.through

    def has(tag_ids):
        return Exists(through.objects.filter(member_id=OuterRef("pk"), tag_id__in=tag_ids))

    match = node["match"]
    if match == "all":
        q = Q()
        for tag in tags:
            q &= Q(has([tag]))
        return q
    return Q(has(tags)) if match == "any" else ~Q(has(tags))


def _link_q(node) -> Q:
    links = MemberLink.objects.filter(member=OuterRef("pk"), unlinked_at__isnull=True)
    methods = node.get("methods") or []
    if methods:
        links = links.filter(method__in=methods)
    linked = Exists(links)
    return Q(linked) if node.get("linked", True) else ~Q(linked)


# Segment queries are analytical: a plan that JIT-compiles costs more than it saves at these
# sizes, and hashing a few hundred thousand member ids wants more than the default work_mem.
SEGMENT_SESSION_SETTINGS = {"jit": "off", "work_mem": "32MB"}


@contextlib.contextmanager
def segment_session():
    """A transaction tuned for segment queries (PostgreSQL settings, reset at its end)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for name, value in SEGMENT_SESSION_SETTINGS.items():
                    cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
        yield


def segment_queryset(segment: Segment, *, now: dt.datetime | None = None) -> QuerySet[Member]:
    """The segment's members, as one query (lazy; order and slice it as you need)."""
    return Member.objects.filter(channel_id=segment.channel_id).filter(
        segment_compile(segment.definition, now=now)
    )


def segment_count(segment: Segment, *, now: dt.datetime | None = None) -> int:
    with segment_session():
        return segment_queryset(segment, now=now).count()


def segment_first_page(
    segment: Segment, *, fields=("pk",), limit: int = 50, now: dt.datetime | None = None
) -> list[dict]:
    """The newest ``limit`` members of the segment (``fields`` of each), as one query planned to
    stop early: what the admin shows as a sample."""
    with segment_session():
        members = Member.objects.filter(channel_id=segment.channel_id).filter(
            segment_compile(segment.definition, now=now, first_page=True)
        )
        return list(members.order_by("-id").values(*fields)[:limit])


def segment_contains(segment: Segment, member: Member, *, now: dt.datetime | None = None) -> bool:
    """Whether one member is in the segment: the segment's rules, asked about that member."""
    return (
        Member.objects.filter(pk=member.pk, channel_id=segment.channel_id)
        .filter(segment_compile(segment.definition, now=now, one_member=True))
        .exists()
    )


# ---------------------------------------------------------------------------------------------
# Summary


def _choices_text(choices, values) -> str:
    labels = dict(choices)
    return _(" or ").join(str(labels.get(v, v)) for v in values)


def _comparison_text(op, value, value2=None) -> str:
    return {
        "eq": _("exactly %(v)s"),
        "ne": _("not %(v)s"),
        "gt": _("more than %(v)s"),
        "gte": _("at least %(v)s"),
        "lt": _("less than %(v)s"),
        "lte": _("at most %(v)s"),
        "between": _("from %(v)s to %(v2)s"),
    }[op] % {"v": value, "v2": value2}


def _days_text(days) -> str:
    days = _as_int(days) or 0
    if not days:
        return _("ever")
    return ngettext("in the last %(n)s day", "in the last %(n)s days", days) % {"n": days}


def _condition_text(node) -> str:
    kind = node.get("type")
    if kind == "gender":
        return _("gender is %(v)s") % {"v": _choices_text(Gender.choices, node["values"])}
    if kind == "age":
        return _("aged %(c)s") % {
            "c": _comparison_text(node["op"], node["value"], node.get("value2"))
        }
    if kind == "birthday_month":
        months = [date_format(dt.date(2000, int(m), 1), "F") for m in node["values"]]
        return _("born in %(v)s") % {"v": _(" or ").join(months)}
    if kind == "prefecture":
        return _("in %(v)s") % {
            "v": _choices_text(Prefecture.choices, [int(v) for v in node["values"]])
        }
    if kind == "rank":
        return _("with rank %(v)s") % {"v": _choices_text(Rank.choices, node["values"])}
    if kind == "points":
        return _("with %(c)s points") % {
            "c": _comparison_text(node["op"], node["value"], node.get("value2"))
        }
    if kind == "attribute":
        key, op = node["key"], node["op"]
        if op == "exists":
            return _("with %(key)s set") % {"key": key}
        if op == "not_exists":
            return _("without %(key)s") % {"key": key}
        if op == "contains":
            return _("whose %(key)s contains “%(v)s”") % {"key": key, "v": node["value"]}
        value = node["value"]
        if isinstance(value, bool):
            value = _("yes") if value else _("no")
        return _("whose %(key)s is %(c)s") % {"key": key, "c": _comparison_text(op, value)}
    if kind == "tags":
        names = dict(
            Member.tags.field.related_model.objects.filter(pk__in=node["tags"]).values_list(
                "pk", "name"
            )
        )
        labels = ", ".join(f"“{names.get(_as_int(t), t)}”" for t in node["tags"])
        return {
            "any": _("tagged %(v)s (any)"),
            "all": _("tagged %(v)s (all)"),
            "none": _("not tagged %(v)s"),
        }[node["match"]] % {"v": labels}
    if kind == "friend_status":
        return _("whose friend status is %(v)s") % {
            "v": _choices_text(FriendStatus.choices, node["values"])
        }
    if kind == "link":
        methods = node.get("methods") or []
        if not node.get("linked", True):
            return _("not ID-linked")
        if methods:
            return _("ID-linked by %(v)s") % {"v": _choices_text(LinkMethod.choices, methods)}
        return _("ID-linked")
    if kind == "followed":
        first = node.get("field") == "first_followed_at"
        templates = {
            "within_days": _("who first followed %(days)s")
            if first
            else _("who followed %(days)s"),
            "before": _("who first followed before %(v)s")
            if first
            else _("who followed before %(v)s"),
            "after": _("who first followed after %(v)s")
            if first
            else _("who followed after %(v)s"),
            "between": _("who first followed from %(v)s to %(v2)s")
            if first
            else _("who followed from %(v)s to %(v2)s"),
        }
        return templates[node["op"]] % {
            "days": _days_text(node["value"]) if node["op"] == "within_days" else "",
            "v": node["value"],
            "v2": node.get("value2"),
        }
    if kind == "language":
        return _("whose language is %(v)s") % {"v": _(" or ").join(node["values"])}
    if kind == "event":
        return _event_text(node)
    if kind == "event_followup":
        then = dict(EventKind.choices)[node["then_kind"]]
        if node.get("then_name"):
            then = f"{then} “{node['then_name']}”"
        template = (
            _("who did %(first)s %(days)s and then %(then)s within %(hours)s hours")
            if node.get("happened")
            else _("who did %(first)s %(days)s with no %(then)s within %(hours)s hours")
        )
        return template % {
            "first": _event_name_text(node),
            "days": _days_text(node["days"]),
            "then": then,
            "hours": node["within_hours"],
        }
    if kind == "wrote":
        template = (
            _("who wrote to us %(days)s")
            if node.get("happened", True)
            else _("who did not write to us %(days)s")
        )
        return template % {"days": _days_text(node["days"])}
    if kind == "received_campaign":
        template = (
            _("who received campaign #%(id)s")
            if node.get("happened", True)
            else _("who did not receive campaign #%(id)s")
        )
        return template % {"id": node["campaign"]}
    if kind == "clicked":
        return _clicked_text(node)
    if kind == "rich_menu_tap":
        return _rich_menu_tap_text(node)
    if kind == "segment":
        name = Segment.objects.filter(pk=node["segment"]).values_list("name", flat=True).first()
        template = (
            _("in segment “%(v)s”") if node.get("member", True) else _("not in segment “%(v)s”")
        )
        return template % {"v": name or node["segment"]}
    if kind == "audience":
        name = Audience.objects.filter(pk=node["audience"]).values_list("name", flat=True).first()
        template = (
            _("in audience “%(v)s”") if node.get("member", True) else _("not in audience “%(v)s”")
        )
        return template % {"v": name or node["audience"]}
    return str(kind)


def _event_name_text(node) -> str:
    text = str(dict(EventKind.choices).get(node["kind"], node["kind"])).lower()
    if node.get("name"):
        pattern = "“%s…”" if node.get("name_match") == "prefix" else "“%s”"
        text = f"{text} {pattern % node['name']}"
    return text


def _event_text(node) -> str:
    what = _event_name_text(node)
    days = _days_text(node.get("days"))
    op = node["op"]
    if node.get("measure", "count") == "sum":
        return _("whose %(what)s value %(days)s totals %(c)s") % {
            "what": what,
            "days": days,
            "c": _comparison_text(op, node["value"]),
        }
    value = _as_int(node["value"])
    if (op, value) in (("lt", 1), ("eq", 0), ("lte", 0)):
        return _("with no %(what)s %(days)s") % {"what": what, "days": days}
    return _("with %(what)s %(c)s times %(days)s") % {
        "what": what,
        "c": _comparison_text(op, value),
        "days": days,
    }


def _clicked_text(node) -> str:
    campaign = node.get("campaign")
    values = {"id": campaign, "days": _days_text(node.get("days"))}
    if node.get("happened", True):
        if campaign in (None, ""):
            return _("who clicked a link in any campaign %(days)s") % values
        return _("who clicked a link in campaign #%(id)s %(days)s") % values
    if campaign in (None, ""):
        return _("who clicked no link in any campaign %(days)s") % values
    return _("who clicked no link in campaign #%(id)s %(days)s") % values


def _rich_menu_tap_target_text(node) -> str:
    menu_id, area = _as_int(node.get("rich_menu")), _as_int(node.get("area"))
    if menu_id is None:
        if area is None:
            return _("any rich menu")
        return _("area %(area)s of any rich menu") % {"area": area}
    name = RichMenu.objects.filter(pk=menu_id).values_list("name", flat=True).first()
    menu = name if name is not None else f"#{menu_id}"
    if area is None:
        return _("any area of “%(menu)s”") % {"menu": menu}
    return _("area %(area)s of “%(menu)s”") % {"area": area, "menu": menu}


def _rich_menu_tap_text(node) -> str:
    what = _rich_menu_tap_target_text(node)
    days = _as_int(node.get("days")) or 0
    op, value = node["op"], _as_int(node["value"])
    if (op, value) in (("lt", 1), ("eq", 0), ("lte", 0)):
        if not days:
            return _("who never tapped %(what)s") % {"what": what}
        return _("who did not tap %(what)s %(days)s") % {"what": what, "days": _days_text(days)}
    return ngettext(
        "who tapped %(what)s %(c)s time %(days)s",
        "who tapped %(what)s %(c)s times %(days)s",
        value,
    ) % {"what": what, "c": _comparison_text(op, value), "days": _days_text(days)}


def segment_summary(definition: dict) -> str:
    """A sentence for people: "members with rank Gold and in Tokyo and with no purchase…"."""

    def visit(node, top=False) -> str:
        if node.get("type") != "group":
            return _condition_text(node)
        parts = [visit(child) for child in node.get("rules") or []]
        if not parts:
            return "" if top else _("(empty group)")
        op = node.get("op", "and")
        if op == "not":
            text = _("not (%(v)s)") % {"v": _(" or ").join(parts)}
            return text
        joined = (_(" and ") if op == "and" else _(" or ")).join(parts)
        return joined if top or len(parts) == 1 else f"({joined})"

    try:
        body = visit(definition["root"], top=True)
    except (KeyError, TypeError, ValueError):
        return _("(the rules are incomplete)")
    if not body:
        return str(_("All members of the channel"))
    return str(format_lazy(_("Members {}"), body))
