"""The first page of a segment (the admin's sample) is planned differently from the count, but
must list exactly the newest members of the same segment."""

import datetime as dt
import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from members import segments
from members.models import EventKind, Member, MemberEvent, Segment, Tag
from members.segments import segment_first_page, segment_queryset, segment_validate
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()
_serial = itertools.count(1)


def rules(*conditions, op="and"):
    return {"version": 1, "root": {"type": "group", "op": op, "rules": list(conditions)}}


def group(op, *conditions):
    return {"type": "group", "op": op, "rules": list(conditions)}


@pytest.fixture
def shop():
    """Sixty members: the oldest buy a lot, the newest little, like real shops (and the data
    that made walking from the newest member slow)."""
    channel = ChannelFactory()
    vip = Tag.objects.create(channel=channel, name="vip")
    events = []
    for index in range(60):
        who = Member.objects.create(
            channel=channel,
            line_user_id="U" + f"{next(_serial):032x}",
            display_name=f"m{index}",
            friend_status="friend" if index % 7 else "blocked",
            rank="gold" if index % 3 == 0 else "regular",
        )
        if index % 5 == 0:
            who.tags.add(vip)
        for n in range(max(0, 5 - index // 10)):
            events.append(
                MemberEvent(
                    member=who,
                    kind=EventKind.PURCHASE,
                    name=f"SKU-{n}",
                    value=4000 * (n + 1),
                    occurred_at=NOW - dt.timedelta(days=3 * n + index % 4),
                )
            )
        if index % 6 == 1:
            events.append(
                MemberEvent(
                    member=who,
                    kind=EventKind.CART_ADD,
                    name="SKU-1",
                    occurred_at=NOW - dt.timedelta(days=2),
                )
            )
        if index % 4 == 2:
            events.append(
                MemberEvent(
                    member=who,
                    kind=EventKind.PAGE_VIEW,
                    name="/items/1",
                    occurred_at=NOW - dt.timedelta(days=1),
                )
            )
    MemberEvent.objects.bulk_create(events)
    return channel, vip


def definitions(vip):
    event = {"type": "event", "kind": "purchase", "days": 30, "op": "gte", "value": 1}
    return {
        "rare event": rules(
            {"type": "event", "kind": "cart_add", "days": 7, "op": "gte", "value": 1}
        ),
        "event count": rules({**event, "op": "gte", "value": 4}),
        "event sum": rules({**event, "measure": "sum", "value": 40000}),
        "none of the events": rules({**event, "op": "eq", "value": 0}),
        "fewer than": rules({**event, "op": "lt", "value": 3}),
        "followup": rules(
            {
                "type": "event_followup",
                "kind": "cart_add",
                "days": 7,
                "then_kind": "purchase",
                "within_hours": 24,
                "happened": False,
            }
        ),
        "and with fields": rules(
            {"type": "friend_status", "values": ["friend"]},
            {**event, "op": "gte", "value": 3},
            {"type": "event", "kind": "page_view", "days": 7, "op": "gte", "value": 1},
        ),
        "or": rules(
            group("or", {**event, "op": "gte", "value": 5}, {"type": "rank", "values": ["gold"]})
        ),
        "none of": rules(
            {"type": "friend_status", "values": ["friend"]},
            group(
                "not",
                {"type": "tags", "match": "any", "tags": [vip.pk]},
                {**event, "op": "gte", "value": 2},
                {"type": "rank", "values": ["gold"]},
            ),
        ),
        "not of an and": rules(
            group(
                "not",
                group("and", {"type": "rank", "values": ["gold"]}, {**event, "value": 1}),
            )
        ),
    }


@pytest.mark.parametrize("drive", [True, False], ids=["from events", "from members"])
def test_the_first_page_lists_the_newest_members_of_the_segment(shop, monkeypatch, drive):
    channel, vip = shop
    if not drive:
        monkeypatch.setattr(segments, "DRIVE_EVENTS_MAX", -1)
    for name, definition in definitions(vip).items():
        segment_validate(definition, channel=channel)
        seg = Segment.objects.create(channel=channel, name=name, definition=definition)
        expected = list(segment_queryset(seg, now=NOW).order_by("-id").values_list("pk", flat=True))
        assert expected, name  # every case matches someone, or it proves nothing
        for limit in (5, 50):
            page = segment_first_page(seg, limit=limit, now=NOW)
            assert [row["pk"] for row in page] == expected[:limit], name


def test_a_rare_event_drives_the_page_in_one_members_query(shop):
    channel, vip = shop
    seg = Segment.objects.create(
        channel=channel, name="rare", definition=definitions(vip)["rare event"]
    )
    with CaptureQueriesContext(connection) as queries:
        page = segment_first_page(seg, fields=("pk", "display_name"), now=NOW)
    members_queries = [q["sql"] for q in queries if 'FROM "members_member"' in q["sql"]]
    assert len(members_queries) == 1
    assert "= ANY(ARRAY(SELECT" in members_queries[0]
    assert [row["display_name"] for row in page] == [
        f"m{i}" for i in range(59, -1, -1) if i % 6 == 1
    ]
