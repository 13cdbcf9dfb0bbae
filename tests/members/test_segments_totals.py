"""Event counts and sums read through the members' event totals are exact: a member is in the
segment exactly when the rule holds for its events, at the thresholds, with refunds, in every
plan the compiler may choose, for the count, the first page and one member alike."""

import datetime as dt
import itertools
import operator
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from members import segments
from members.events import event_record
from members.models import EventKind, Member, MemberEvent, Segment
from members.segments import (
    segment_contains,
    segment_count,
    segment_first_page,
    segment_queryset,
    segment_validate,
)
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()
_serial = itertools.count(1)

# Purchases per member: (days ago, value). Totals land exactly on the thresholds below.
PURCHASES = {
    "none": [],
    "one small": [(2, "500")],
    "exactly 3000 in 30 days": [(1, "1000"), (29, "2000")],
    "3000.01 in 30 days": [(1, "1000.01"), (29, "2000")],
    "2999.99 in 30 days": [(1, "999.99"), (29, "2000")],
    "big then refunded": [(10, "5000"), (3, "-5000")],
    "refund only": [(5, "-300")],
    "big, 60 days ago": [(60, "4000"), (1, "1")],
    "big, 200 days ago": [(200, "9000")],
    "many small": [(day, "100") for day in range(1, 40, 3)],
    "no value": [(4, None), (6, None), (8, None)],
}
PAGE_VIEWS = {"one small": 3, "many small": 1}
COMPARE = {
    "gte": operator.ge,
    "gt": operator.gt,
    "eq": operator.eq,
    "lte": operator.le,
    "lt": operator.lt,
}


def rules(*conditions):
    return {"version": 1, "root": {"type": "group", "op": "and", "rules": list(conditions)}}


@pytest.fixture
def shop():
    channel = ChannelFactory()
    for name, purchases in PURCHASES.items():
        who = Member.objects.create(
            channel=channel,
            line_user_id="U" + f"{next(_serial):032x}",
            display_name=name,
            friend_status="blocked" if name == "many small" else "friend",
        )
        for days, value in purchases:
            event_record(
                member=who,
                kind=EventKind.PURCHASE,
                occurred_at=NOW - dt.timedelta(days=days),
                value=None if value is None else Decimal(value),
            )
        for day in range(PAGE_VIEWS.get(name, 0)):
            event_record(
                member=who, kind=EventKind.PAGE_VIEW, occurred_at=NOW - dt.timedelta(days=day)
            )
    return channel


def expected(channel, node, now=NOW) -> set[str]:
    """Who meets an event rule, by adding up their events in Python."""
    days = node.get("days") or 0
    found = set()
    for who in Member.objects.filter(channel=channel):
        events = MemberEvent.objects.filter(member=who, kind=node["kind"])
        if days:
            events = events.filter(occurred_at__gte=now - dt.timedelta(days=days))
        if node.get("measure") == "sum":
            total = sum((e.value or Decimal(0) for e in events), Decimal(0))
            value = Decimal(str(node["value"]))
        else:
            total, value = events.count(), node["value"]
        if COMPARE[node["op"]](total, value):
            found.add(who.display_name)
    return found


def check(channel, *conditions, now=NOW, wanted=None):
    """The count, the first page and each member's check all agree with ``wanted`` (or, for one
    event rule, with the events added up in Python)."""
    definition = rules(*conditions)
    segment_validate(definition, channel=channel)
    seg = Segment.objects.create(channel=channel, name=f"s{next(_serial)}", definition=definition)
    if wanted is None:
        (node,) = conditions
        wanted = expected(channel, node, now)
    members = segment_queryset(seg, now=now)
    assert set(members.values_list("display_name", flat=True)) == wanted, conditions
    assert segment_count(seg, now=now) == len(wanted)
    newest = list(members.order_by("-id").values_list("pk", flat=True))
    for limit in (2, 50):
        page = [row["pk"] for row in segment_first_page(seg, limit=limit, now=now)]
        assert page == newest[:limit], conditions
    for who in Member.objects.filter(channel=channel):
        inside = segment_contains(seg, who, now=now)
        assert inside == (who.display_name in wanted), (conditions, who.display_name)
    return wanted


PLANS = {
    # Add up every member's window (what the compiler does when most members could match).
    # (And the first page walks the newest members for an all-time total, not its member ids.)
    "all": {"CANDIDATES_SHARE_MAX": -1, "DRIVE_EVENTS_MAX": -1},
    # Add up the window of the members whose totals can reach the threshold only.
    "candidates": {
        "CANDIDATES_SHARE_MAX": float("inf"),
        "CANDIDATES_MAX": 10**9,
        "WALK_CANDIDATES_MAX": -1,
    },
    # The first page walks those members newest first.
    "walk": {
        "CANDIDATES_SHARE_MAX": float("inf"),
        "CANDIDATES_MAX": 10**9,
        "WALK_CANDIDATES_MAX": 10**9,
    },
}


def event(measure, days, op, value, kind="purchase"):
    node = {"type": "event", "kind": kind, "days": days, "op": op, "value": value}
    if measure == "sum":
        node["measure"] = "sum"
    return node


SUMS = ["0", "0.01", "500", "2999.99", "3000", "3000.01", "4001", "5000", "9000"]
COUNTS = [0, 1, 2, 3, 4, 13, 14]


# Ever (the totals themselves), within the recent totals (30), beyond them (365: all-time bounds).
@pytest.mark.parametrize("plan", PLANS)
@pytest.mark.parametrize("days", [0, 30, 365])
def test_sums_are_exact_at_every_threshold(shop, monkeypatch, plan, days):
    for name, value in PLANS[plan].items():
        monkeypatch.setattr(segments, name, value)
    for op in COMPARE:
        for value in SUMS:
            check(shop, event("sum", days, op, value))


@pytest.mark.parametrize("plan", PLANS)
@pytest.mark.parametrize("days", [0, 7, 365])
def test_counts_are_exact_at_every_threshold(shop, monkeypatch, plan, days):
    for name, value in PLANS[plan].items():
        monkeypatch.setattr(segments, name, value)
    for op in COMPARE:
        for value in COUNTS:
            check(shop, event("count", days, op, value))
            check(shop, event("count", days, op, value, kind="page_view"))


def test_a_refund_takes_a_member_out_of_a_sum_segment(shop):
    assert "big then refunded" not in check(shop, event("sum", 30, "gte", "5000"))
    assert "big then refunded" in check(shop, event("sum", 30, "lt", "1"))
    assert check(shop, event("sum", 30, "lt", "0")) == {"refund only"}
    assert check(shop, event("sum", 4, "lt", "0")) == {"big then refunded"}


def test_a_rule_read_in_the_past_uses_the_all_time_bounds(shop, monkeypatch):
    """Recent totals bound windows that end now; a segment evaluated as of 40 days ago (which
    the recent totals cannot bound) still gets the exact answer."""
    for name, value in PLANS["walk"].items():
        monkeypatch.setattr(segments, name, value)
    then = NOW - dt.timedelta(days=40)
    for op in ("gte", "gt", "eq"):
        check(shop, event("sum", 30, op, "4000"), now=then)
        check(shop, event("count", 30, op, 1), now=then)


def test_an_event_recorded_now_moves_the_member_in_at_once(shop, monkeypatch):
    for name, value in PLANS["walk"].items():
        monkeypatch.setattr(segments, name, value)
    rule = event("sum", 30, "gte", "3000")
    before = check(shop, rule)
    who = Member.objects.get(channel=shop, display_name="2999.99 in 30 days")
    assert who.display_name not in before
    event_record(member=who, kind=EventKind.PURCHASE, occurred_at=NOW, value=Decimal("0.01"))
    assert who.display_name in check(shop, rule)
    event_record(member=who, kind=EventKind.PURCHASE, occurred_at=NOW, value=Decimal("-0.01"))
    assert who.display_name not in check(shop, rule)


def test_totals_combine_with_other_rules(shop, monkeypatch):
    for name, value in PLANS["walk"].items():
        monkeypatch.setattr(segments, name, value)
    friends = {"type": "friend_status", "values": ["friend"]}
    many = event("count", 60, "gte", 5)
    assert check(shop, friends, many, wanted=set()) == set()
    spent = event("sum", 0, "gte", "3000")
    assert check(shop, friends, spent, wanted=expected(shop, spent) - {"many small"})


def test_an_all_time_total_reads_no_events(shop):
    seg = Segment.objects.create(
        channel=shop, name="ever", definition=rules(event("sum", 0, "gte", "3000"))
    )
    with CaptureQueriesContext(connection) as queries:
        count = segment_count(seg)
    assert count == len(expected(shop, event("sum", 0, "gte", "3000")))
    assert not [q for q in queries if '"members_memberevent"' in q["sql"]]


@pytest.mark.parametrize(
    ("plan", "starts_from"),
    [
        ("all", '"members_memberevent"'),  # every member's window added up, then read by id
        ("candidates", '"members_memberevent"'),  # the same for the candidates only
        ("walk", '"members_membereventtotal"'),  # the candidates' ids, each window on the way
    ],
)
def test_each_plan_pages_in_one_members_query(shop, monkeypatch, plan, starts_from):
    for name, value in PLANS[plan].items():
        monkeypatch.setattr(segments, name, value)
    seg = Segment.objects.create(
        channel=shop, name=plan, definition=rules(event("sum", 30, "gte", "3000"))
    )
    with CaptureQueriesContext(connection) as queries:
        page = segment_first_page(seg, fields=("display_name",), now=NOW)
    (members_query,) = [q["sql"] for q in queries if 'FROM "members_member"' in q["sql"]]
    ids = members_query.split("= ANY(ARRAY(SELECT ", 1)[1]
    assert ids.split(" FROM ", 1)[1].startswith(starts_from + " ")
    assert ('"members_membereventtotal"' in members_query) == (plan != "all")
    names = [row["display_name"] for row in page]
    assert names == ["3000.01 in 30 days", "exactly 3000 in 30 days"]
