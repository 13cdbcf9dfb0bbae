"""Segments: every condition type, nesting, validation naming the rule, cycles, and the
single-member check agreeing with the query."""

import datetime as dt
import itertools

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from members.audiences import audience_import, contact_hash_email
from members.models import (
    Audience,
    Direction,
    Member,
    MemberEvent,
    MemberLink,
    Message,
    MessageSource,
    MessageStatus,
    Segment,
    Tag,
)
from members.segments import (
    segment_contains,
    segment_count,
    segment_queryset,
    segment_summary,
    segment_validate,
)
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()
_serial = itertools.count(1)


def member(channel, name, **fields):
    return Member.objects.create(
        channel=channel,
        line_user_id="U" + f"{next(_serial):032x}",
        display_name=name,
        **fields,
    )


def event(who, kind, *, name="", days_ago=0.0, hours_ago=0.0, value=None):
    return MemberEvent.objects.create(
        member=who,
        kind=kind,
        name=name,
        value=value,
        occurred_at=NOW - dt.timedelta(days=days_ago, hours=hours_ago),
    )


def rules(*conditions, op="and"):
    return {"version": 1, "root": {"type": "group", "op": op, "rules": list(conditions)}}


def segment(channel, definition, name=None):
    segment_validate(definition, channel=channel)
    return Segment.objects.create(
        channel=channel, name=name or f"segment {next(_serial)}", definition=definition
    )


def names(channel, *conditions, op="and"):
    """Names of the members matching, checked against segment_contains for every member."""
    seg = segment(channel, rules(*conditions, op=op))
    found = set(segment_queryset(seg, now=NOW).values_list("display_name", flat=True))
    for each in Member.objects.filter(channel=channel):
        assert segment_contains(seg, each, now=NOW) == (each.display_name in found), each
    return found


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def channel():
    return ChannelFactory()


def test_empty_segment_is_every_member_of_the_channel_only(channel):
    member(channel, "a")
    member(channel, "b")
    member(ChannelFactory(), "elsewhere")
    seg = segment(channel, rules())
    assert segment_count(seg) == 2
    assert segment_summary(seg.definition) == "All members of the channel"


def test_segment_matching_nobody_is_empty(channel):
    member(channel, "a", points=10)
    assert names(channel, {"type": "points", "op": "gt", "value": 1000}) == set()


def test_member_fields(channel):
    today = timezone.localdate(NOW)
    member(channel, "young", gender="female", birthday=today.replace(year=today.year - 20))
    member(channel, "old", gender="male", birthday=today.replace(year=today.year - 45))
    member(channel, "unknown")
    assert names(channel, {"type": "gender", "values": ["female"]}) == {"young"}
    assert names(channel, {"type": "gender", "values": [""]}) == {"unknown"}
    assert names(channel, {"type": "age", "op": "between", "value": 18, "value2": 29}) == {"young"}
    assert names(channel, {"type": "age", "op": "eq", "value": 20}) == {"young"}
    assert names(channel, {"type": "age", "op": "gte", "value": 21}) == {"old"}
    assert names(channel, {"type": "age", "op": "lt", "value": 20}) == set()
    assert names(channel, {"type": "birthday_month", "values": [today.month]}) == {
        "young",
        "old",
    }


def test_prefecture_rank_points_language(channel):
    member(channel, "tokyo gold", prefecture=13, rank="gold", points=500, language="ja")
    member(channel, "osaka", prefecture=27, rank="regular", points=50, language="en")
    assert names(channel, {"type": "prefecture", "values": [13, 14]}) == {"tokyo gold"}
    assert names(channel, {"type": "rank", "values": ["gold", "platinum"]}) == {"tokyo gold"}
    assert names(channel, {"type": "points", "op": "gte", "value": 500}) == {"tokyo gold"}
    assert names(channel, {"type": "points", "op": "lt", "value": 500}) == {"osaka"}
    assert names(channel, {"type": "points", "op": "ne", "value": 50}) == {"tokyo gold"}
    assert names(channel, {"type": "points", "op": "between", "value": 10, "value2": 100}) == {
        "osaka"
    }
    assert names(channel, {"type": "language", "values": ["en"]}) == {"osaka"}


def test_custom_attributes_with_typed_comparisons(channel):
    member(
        channel,
        "a",
        attributes={"store": "Shibuya", "visits": 12, "vip": True, "joined": "2024-03-01"},
    )
    member(channel, "b", attributes={"store": "Umeda", "visits": "many", "vip": False})
    member(channel, "c")

    def attr(**rule):
        return names(channel, {"type": "attribute", **rule})

    assert attr(key="store", value_type="string", op="eq", value="Shibuya") == {"a"}
    assert attr(key="store", value_type="string", op="ne", value="Shibuya") == {"b"}
    assert attr(key="store", value_type="string", op="contains", value="ume") == {"b"}
    # "many" is not a number: it never takes part in a numeric comparison.
    assert attr(key="visits", value_type="number", op="gt", value=10) == {"a"}
    assert attr(key="visits", value_type="number", op="lte", value=10) == set()
    assert attr(key="visits", value_type="number", op="ne", value=3) == {"a"}
    assert attr(key="vip", value_type="boolean", op="eq", value=True) == {"a"}
    assert attr(key="vip", value_type="boolean", op="ne", value=True) == {"b"}
    assert attr(key="joined", value_type="date", op="lt", value="2024-06-01") == {"a"}
    assert attr(key="joined", value_type="date", op="gte", value="2024-06-01") == set()
    assert attr(key="store", op="exists") == {"a", "b"}
    assert attr(key="store", op="not_exists") == {"c"}


def test_tags_any_all_none(channel):
    vip, sale = (
        Tag.objects.create(channel=channel, name="vip"),
        Tag.objects.create(channel=channel, name="sale"),
    )
    member(channel, "both").tags.set([vip, sale])
    member(channel, "vip").tags.set([vip])
    member(channel, "none")
    assert names(channel, {"type": "tags", "match": "any", "tags": [vip.pk, sale.pk]}) == {
        "both",
        "vip",
    }
    assert names(channel, {"type": "tags", "match": "all", "tags": [vip.pk, sale.pk]}) == {"both"}
    assert names(channel, {"type": "tags", "match": "none", "tags": [sale.pk]}) == {
        "vip",
        "none",
    }


def test_friend_status_link_status_and_method(channel):
    user_model = get_user_model()
    friend = member(channel, "friend linked", friend_status="friend")
    blocked = member(channel, "blocked unlinked", friend_status="blocked")
    member(channel, "never linked", friend_status="friend")
    MemberLink.objects.create(
        member=friend,
        channel=channel,
        user=user_model.objects.create(username="u1"),
        method="line_login",
        linked_at=NOW,
    )
    MemberLink.objects.create(
        member=blocked,
        channel=channel,
        user=user_model.objects.create(username="u2"),
        method="account_link",
        linked_at=NOW - dt.timedelta(days=9),
        unlinked_at=NOW - dt.timedelta(days=1),
    )
    assert names(channel, {"type": "friend_status", "values": ["blocked"]}) == {"blocked unlinked"}
    assert names(channel, {"type": "link", "linked": True}) == {"friend linked"}
    assert names(channel, {"type": "link", "linked": True, "methods": ["account_link"]}) == set()
    assert names(channel, {"type": "link", "linked": True, "methods": ["line_login"]}) == {
        "friend linked"
    }
    assert names(channel, {"type": "link", "linked": False}) == {
        "blocked unlinked",
        "never linked",
    }


def test_follow_date_ranges(channel):
    member(channel, "new", followed_at=NOW - dt.timedelta(days=2), first_followed_at=NOW)
    member(
        channel,
        "2024",
        followed_at=timezone.make_aware(dt.datetime(2024, 5, 10, 12)),
        first_followed_at=timezone.make_aware(dt.datetime(2024, 5, 10, 12)),
    )
    member(channel, "never")
    assert names(channel, {"type": "followed", "op": "within_days", "value": 7}) == {"new"}
    assert names(channel, {"type": "followed", "op": "before", "value": "2025-01-01"}) == {"2024"}
    assert names(channel, {"type": "followed", "op": "after", "value": "2024-05-10"}) == {"new"}
    assert names(
        channel,
        {
            "type": "followed",
            "field": "first_followed_at",
            "op": "between",
            "value": "2024-05-10",
            "value2": "2024-05-10",
        },
    ) == {"2024"}


def test_event_counts_in_a_window(channel):
    twice = member(channel, "twice")
    event(twice, "purchase", name="SKU-1", days_ago=3, value=1000)
    event(twice, "purchase", name="SKU-1", days_ago=20, value=2500)
    once = member(channel, "once")
    event(once, "purchase", name="SKU-1", days_ago=5, value=300)
    event(once, "purchase", name="SKU-1", days_ago=90, value=300)
    member(channel, "never")

    def purchases(**rule):
        return names(channel, {"type": "event", "kind": "purchase", "name": "SKU-1", **rule})

    assert purchases(days=30, op="gte", value=2) == {"twice"}
    assert purchases(days=30, op="gte", value=1) == {"twice", "once"}
    assert purchases(days=0, op="gte", value=2) == {"twice", "once"}
    assert purchases(days=30, op="eq", value=0) == {"never"}
    assert purchases(days=30, op="lt", value=2) == {"once", "never"}
    assert purchases(days=30, op="eq", value=1) == {"once"}
    assert purchases(days=30, measure="sum", op="gte", value="3000") == {"twice"}
    assert purchases(days=30, measure="sum", op="lt", value="1000") == {"once", "never"}
    assert names(
        channel,
        {
            "type": "event",
            "kind": "purchase",
            "name": "SKU",
            "name_match": "prefix",
            "days": 10,
            "op": "gte",
            "value": 1,
        },
    ) == {"twice", "once"}


def test_viewed_a_page_three_times_in_seven_days_without_a_purchase(channel):
    browsing = member(channel, "browsing")
    bought = member(channel, "bought")
    for who in (browsing, bought):
        for day in (1, 2, 3):
            event(who, "page_view", name="/items/42", days_ago=day)
    event(bought, "purchase", days_ago=1)
    casual = member(channel, "casual")
    event(casual, "page_view", name="/items/42", days_ago=1)
    assert names(
        channel,
        {
            "type": "event",
            "kind": "page_view",
            "name": "/items/42",
            "days": 7,
            "op": "gte",
            "value": 3,
        },
        {"type": "event", "kind": "purchase", "days": 7, "op": "eq", "value": 0},
    ) == {"browsing"}


def test_cart_added_and_no_purchase_within_24_hours(channel):
    abandoned = member(channel, "abandoned")
    event(abandoned, "cart_add", days_ago=2)
    event(abandoned, "purchase", days_ago=0.5)  # a day and a half later: too late
    converted = member(channel, "converted")
    event(converted, "cart_add", days_ago=2)
    event(converted, "purchase", days_ago=1.8)
    too_recent = member(channel, "still deciding")
    event(too_recent, "cart_add", hours_ago=3)
    rule = {
        "type": "event_followup",
        "kind": "cart_add",
        "days": 7,
        "then_kind": "purchase",
        "within_hours": 24,
        "happened": False,
    }
    assert names(channel, rule) == {"abandoned"}
    assert names(channel, {**rule, "happened": True}) == {"converted"}


def test_wrote_to_us_and_received_a_campaign(channel):
    chatty = member(channel, "chatty")
    quiet = member(channel, "quiet")
    for who, days, direction, source, source_id in (
        (chatty, 2, Direction.INBOUND, MessageSource.USER, None),
        (quiet, 40, Direction.INBOUND, MessageSource.USER, None),
        (quiet, 1, Direction.OUTBOUND, MessageSource.CAMPAIGN, 7),
        (chatty, 1, Direction.OUTBOUND, MessageSource.CAMPAIGN, 8),
    ):
        Message.objects.create(
            channel=channel,
            member=who,
            direction=direction,
            message_type="text",
            text="hi",
            source=source,
            source_id=source_id,
            status=MessageStatus.SENT if direction == Direction.OUTBOUND else "received",
            created_at=NOW - dt.timedelta(days=days),
        )
    Message.objects.create(
        channel=channel,
        member=chatty,
        direction=Direction.OUTBOUND,
        message_type="text",
        source=MessageSource.CAMPAIGN,
        source_id=7,
        status=MessageStatus.FAILED,
        created_at=NOW,
    )
    assert names(channel, {"type": "wrote", "days": 30}) == {"chatty"}
    assert names(channel, {"type": "wrote", "days": 30, "happened": False}) == {"quiet"}
    assert names(channel, {"type": "received_campaign", "campaign": 7}) == {"quiet"}
    assert names(channel, {"type": "received_campaign", "campaign": 7, "happened": False}) == {
        "chatty"
    }


def test_membership_of_another_segment(channel):
    member(channel, "gold", rank="gold")
    member(channel, "regular")
    golds = segment(channel, rules({"type": "rank", "values": ["gold"]}), name="Golds")
    assert names(channel, {"type": "segment", "segment": golds.pk}) == {"gold"}
    assert names(channel, {"type": "segment", "segment": golds.pk, "member": False}) == {"regular"}
    everyone = segment(channel, rules(), name="Everyone")
    assert names(channel, {"type": "segment", "segment": everyone.pk, "member": False}) == set()


def test_membership_of_an_uploaded_audience_include_or_exclude(channel):
    listed = member(channel, "listed", email_sha256=contact_hash_email("Hanako@Example.com"))
    member(channel, "by id", external_customer_id="C-1")
    member(channel, "other", external_customer_id="C-2")
    emails = Audience.objects.create(channel=channel, name="emails", kind="email")
    audience_import(audience=emails, upload=b" hanako@example.COM \nnobody@example.com\n")
    ids = Audience.objects.create(channel=channel, name="ids", kind="customer_id")
    audience_import(audience=ids, upload=b"customer_id\nC-1\n")
    assert names(channel, {"type": "audience", "audience": emails.pk}) == {listed.display_name}
    assert names(channel, {"type": "audience", "audience": ids.pk}) == {"by id"}
    assert names(channel, {"type": "audience", "audience": ids.pk, "member": False}) == {
        "listed",
        "other",
    }


def test_nested_and_or_not_groups(channel):
    member(channel, "tokyo gold", prefecture=13, rank="gold", friend_status="friend")
    member(channel, "osaka platinum", prefecture=27, rank="platinum", friend_status="friend")
    member(channel, "tokyo regular", prefecture=13, rank="regular", friend_status="friend")
    member(channel, "blocked gold", prefecture=13, rank="gold", friend_status="blocked")
    buyer = member(channel, "tokyo gold buyer", prefecture=13, rank="gold", friend_status="friend")
    event(buyer, "purchase", days_ago=3)
    definition = rules(
        {"type": "friend_status", "values": ["friend"]},
        {
            "type": "group",
            "op": "or",
            "rules": [
                {"type": "prefecture", "values": [13]},
                {"type": "rank", "values": ["platinum"]},
            ],
        },
        {
            "type": "group",
            "op": "not",
            "rules": [
                {"type": "rank", "values": ["regular"]},
                {"type": "event", "kind": "purchase", "days": 60, "op": "gte", "value": 1},
            ],
        },
    )
    found = names(channel, *definition["root"]["rules"])
    assert found == {"tokyo gold", "osaka platinum"}
    summary = segment_summary(definition)
    assert summary.startswith("Members whose friend status is Friend and (in Tokyo or with rank")
    assert "not (with rank Regular or with purchase at least 1 times in the last 60 days)" in (
        summary
    )


def test_a_segment_is_one_query(channel):
    tag = Tag.objects.create(channel=channel, name="vip")
    other = segment(channel, rules({"type": "rank", "values": ["gold"]}))
    seg = segment(
        channel,
        rules(
            {"type": "tags", "match": "all", "tags": [tag.pk]},
            {"type": "event", "kind": "purchase", "days": 30, "op": "gte", "value": 2},
            {"type": "wrote", "days": 7},
        ),
    )
    seg.definition["root"]["rules"].append({"type": "segment", "segment": other.pk})
    queryset = segment_queryset(seg)
    with CaptureQueriesContext(connection) as queries:
        list(queryset)
    assert len(queries) == 1


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"type": "points", "op": "gte", "value": "many"}, "root.rules[1]: points comparison"),
        ({"type": "points", "op": "about", "value": 1}, "root.rules[1]: points needs a comparison"),
        ({"type": "rank", "values": ["diamond"]}, "root.rules[1]: unknown rank: diamond"),
        ({"type": "rank", "values": []}, "root.rules[1]: choose at least one rank"),
        ({"type": "tags", "match": "any", "tags": [999999]}, "root.rules[1]: unknown tag"),
        ({"type": "event", "kind": "bought", "days": 3, "op": "gte", "value": 1}, "event kind"),
        ({"type": "wrote", "days": 0}, "root.rules[1]: number of days"),
        ({"type": "attribute", "key": "n", "value_type": "number", "op": "gt", "value": "x"}, "n"),
        ({"type": "followed", "op": "before", "value": "yesterday"}, "YYYY-MM-DD"),
        ({"type": "segment", "segment": 999999}, "root.rules[1]: choose a segment"),
        ({"type": "audience", "audience": 999999}, "root.rules[1]: choose an audience"),
        ({"type": "group", "op": "or", "rules": []}, "root.rules[1]: this group is empty"),
        ({"type": "teleport"}, "root.rules[1]: unknown condition type"),
    ],
)
def test_invalid_rules_are_refused_naming_the_rule(channel, rule, message):
    definition = rules({"type": "rank", "values": ["gold"]}, rule)
    seg = Segment(channel=channel, name="bad", definition=definition)
    with pytest.raises(ValidationError) as error:
        seg.full_clean()
    assert any(message in text for text in error.value.message_dict["definition"])


def test_errors_in_nested_groups_name_the_full_path(channel):
    definition = rules(
        {
            "type": "group",
            "op": "or",
            "rules": [
                {"type": "rank", "values": ["gold"]},
                {"type": "points", "op": "gte", "value": None},
            ],
        }
    )
    with pytest.raises(ValidationError) as error:
        segment_validate(definition, channel=channel)
    assert error.value.messages == [
        "root.rules[0].rules[1]: points comparison needs a whole number"
    ]


def test_unknown_version_is_refused(channel):
    with pytest.raises(ValidationError, match="version"):
        segment_validate({"version": 2, "root": {"type": "group", "op": "and", "rules": []}})


def test_rules_of_another_channel_are_refused(channel):
    elsewhere = ChannelFactory()
    tag = Tag.objects.create(channel=elsewhere, name="vip")
    foreign = segment(elsewhere, rules())
    with pytest.raises(ValidationError) as error:
        segment_validate(
            rules(
                {"type": "tags", "match": "any", "tags": [tag.pk]},
                {"type": "segment", "segment": foreign.pk},
            ),
            channel=channel,
        )
    assert len(error.value.messages) == 2


def test_cycles_are_refused_on_save_naming_the_path(channel):
    a = segment(channel, rules(), name="A")
    b = segment(channel, rules({"type": "segment", "segment": a.pk}), name="B")
    c = segment(channel, rules({"type": "segment", "segment": b.pk}), name="C")
    a.definition = rules({"type": "rank", "values": ["gold"]}, {"type": "segment", "segment": c.pk})
    with pytest.raises(ValidationError) as error:
        a.full_clean()
    assert error.value.message_dict["definition"] == [
        "root.rules[1]: segments cannot include themselves: “A” → “C” → “B” → “A”"
    ]
    a.definition = rules({"type": "segment", "segment": a.pk})
    with pytest.raises(ValidationError, match="“A” → “A”"):
        a.full_clean()


def test_summary_reads_like_a_sentence(channel):
    definition = rules(
        {"type": "friend_status", "values": ["friend"]},
        {"type": "prefecture", "values": [13]},
        {"type": "rank", "values": ["gold"]},
        {"type": "event", "kind": "purchase", "days": 60, "op": "eq", "value": 0},
    )
    assert segment_summary(definition) == (
        "Members whose friend status is Friend and in Tokyo and with rank Gold "
        "and with no purchase in the last 60 days"
    )


def test_summary_of_follow_dates():
    assert segment_summary(
        rules(
            {"type": "followed", "op": "within_days", "value": 30},
            {
                "type": "followed",
                "field": "first_followed_at",
                "op": "before",
                "value": "2024-01-01",
            },
        )
    ) == ("Members who followed in the last 30 days and who first followed before 2024-01-01")


def test_a_bad_definition_never_reaches_the_database(channel):
    with pytest.raises(ValidationError, match=r"root\.rules\[0\]: choose at least one rank"):
        Segment.objects.create(
            channel=channel, name="bad", definition=rules({"type": "rank", "values": []})
        )
    assert not Segment.objects.exists()


def test_big_audiences_match_the_same_members(channel, monkeypatch):
    from members import segments

    member(channel, "listed", external_customer_id="C-1")
    member(channel, "other", external_customer_id="C-2")
    ids = Audience.objects.create(channel=channel, name="ids", kind="customer_id")
    audience_import(audience=ids, upload=b"C-1\nC-3\n")
    monkeypatch.setattr(segments, "AUDIENCE_HASHED_MAX", 1)  # probe per member instead
    assert names(channel, {"type": "audience", "audience": ids.pk}) == {"listed"}
    assert names(channel, {"type": "audience", "audience": ids.pk, "member": False}) == {"other"}
