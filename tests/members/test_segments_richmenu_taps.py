"""Segments by rich menu taps: "tapped area A of menu M at least N times in the last D days",
every comparison, any menu or area, the window, validation, the summary and the builder."""

import datetime as dt
import json

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from linebot.models import RichMenu
from members.models import Member, RichMenuTap
from members.segments import (
    segment_contains,
    segment_queryset,
    segment_summary,
    segment_validate,
)
from tests.factories import ChannelFactory
from tests.members.test_segments import NOW, member, names, rules, segment

pytestmark = pytest.mark.django_db

OPS = ("gte", "gt", "eq", "lte", "lt")


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def channel():
    return ChannelFactory()


def menu(channel, name, areas=4):
    return RichMenu.objects.create(
        channel=channel,
        name=name,
        areas=[
            {
                "bounds": {"x": 0, "y": 0, "width": 100, "height": 100},
                "action": {"type": "postback", "label": f"Label {n}", "data": f"area={n}"},
            }
            for n in range(1, areas + 1)
        ],
    )


def tap(who, rich_menu, area, *, times=1, days_ago=1.0):
    RichMenuTap.objects.bulk_create(
        RichMenuTap(
            member=who,
            rich_menu=rich_menu,
            area=area,
            data=f"area={area}",
            tapped_at=NOW - dt.timedelta(days=days_ago, minutes=index),
        )
        for index in range(times)
    )


def taps(rich_menu=None, area=None, *, days=30, op="gte", value=1):
    return {
        "type": "rich_menu_tap",
        "rich_menu": rich_menu.pk if rich_menu is not None else None,
        "area": area,
        "days": days,
        "op": op,
        "value": value,
    }


@pytest.fixture
def counted(channel):
    """Members by how often they tapped area 2 of "Members menu" lately; "other" only tapped
    elsewhere, "none" never tapped anything."""
    members_menu = menu(channel, "Members menu")
    shop_menu = menu(channel, "Shop menu")
    for times in (1, 2, 3, 5):
        tap(member(channel, f"t{times}"), members_menu, 2, times=times)
    other = member(channel, "other")
    tap(other, members_menu, 1, times=4)  # another area of the menu
    tap(other, shop_menu, 2, times=4)  # the same area of another menu
    member(channel, "none")
    return members_menu, shop_menu


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("gte", 3, {"t3", "t5"}),
        ("gte", 1, {"t1", "t2", "t3", "t5"}),
        ("gte", 0, {"t1", "t2", "t3", "t5", "other", "none"}),
        ("gt", 2, {"t3", "t5"}),
        ("gt", 0, {"t1", "t2", "t3", "t5"}),
        ("eq", 2, {"t2"}),
        ("eq", 0, {"other", "none"}),
        ("lte", 2, {"t1", "t2", "other", "none"}),
        ("lte", 0, {"other", "none"}),
        ("lt", 3, {"t1", "t2", "other", "none"}),
        ("lt", 1, {"other", "none"}),
        ("gt", 5, set()),
    ],
)
def test_each_comparison_of_taps_on_one_area(channel, counted, op, value, expected):
    members_menu, _ = counted
    # names() also checks segment_contains against the query for every member.
    assert names(channel, taps(members_menu, 2, op=op, value=value)) == expected


def test_fewer_than_n_includes_members_who_never_tapped(channel, counted):
    members_menu, _ = counted
    found = names(channel, taps(members_menu, 2, op="lt", value=2))
    assert "none" in found
    assert "other" in found


def test_any_area_and_any_menu(channel, counted):
    members_menu, shop_menu = counted
    # Any area of the members menu: "other" has 4 taps on area 1.
    assert names(channel, taps(members_menu, None, op="gte", value=4)) == {"t5", "other"}
    # Area 2 of any menu: "other" has 4 on the shop menu's area 2.
    assert names(channel, taps(None, 2, op="gte", value=4)) == {"t5", "other"}
    # Anything at all: "other" has 8.
    assert names(channel, taps(None, None, op="gt", value=5)) == {"other"}
    assert names(channel, taps(None, None, op="eq", value=0)) == {"none"}
    assert names(channel, taps(shop_menu, None, op="gte", value=1)) == {"other"}


def test_only_taps_in_the_window_count_and_zero_days_is_ever(channel):
    members_menu = menu(channel, "Members menu")
    recent, old, mixed = member(channel, "recent"), member(channel, "old"), member(channel, "mixed")
    tap(recent, members_menu, 1, times=2, days_ago=3)
    tap(old, members_menu, 1, times=2, days_ago=40)
    tap(mixed, members_menu, 1, times=1, days_ago=3)
    tap(mixed, members_menu, 1, times=1, days_ago=40)
    assert names(channel, taps(members_menu, 1, days=30, op="gte", value=2)) == {"recent"}
    assert names(channel, taps(members_menu, 1, days=30, op="gte", value=1)) == {
        "recent",
        "mixed",
    }
    assert names(channel, taps(members_menu, 1, days=30, op="lt", value=2)) == {"old", "mixed"}
    assert names(channel, taps(members_menu, 1, days=30, op="eq", value=0)) == {"old"}
    assert names(channel, taps(members_menu, 1, days=0, op="gte", value=2)) == {
        "recent",
        "old",
        "mixed",
    }
    assert names(channel, taps(members_menu, 1, days=0, op="lt", value=1)) == set()


def test_taps_of_a_deleted_menu_still_count_for_any_menu(channel):
    gone = menu(channel, "Gone")
    someone = member(channel, "someone")
    tap(someone, gone, 1, times=2)
    gone.delete()
    assert names(channel, taps(None, None, op="gte", value=2)) == {"someone"}


def test_contains_agrees_with_the_query_for_every_member_and_op(channel, counted):
    members_menu, _ = counted
    for op in OPS:
        for value in (0, 1, 2, 3, 4):
            for condition in (
                taps(members_menu, 2, op=op, value=value),
                taps(None, None, days=0, op=op, value=value),
            ):
                seg = segment(channel, rules(condition))
                found = set(segment_queryset(seg, now=NOW).values_list("pk", flat=True))
                for each in Member.objects.filter(channel=channel):
                    assert segment_contains(seg, each, now=NOW) == (each.pk in found), (
                        op,
                        value,
                        condition,
                        each.display_name,
                    )


def test_combines_with_other_conditions_and_negation(channel, counted):
    members_menu, _ = counted
    Member.objects.filter(display_name__in=["t3", "none"]).update(rank="gold")
    assert names(
        channel,
        {"type": "rank", "values": ["gold"]},
        taps(members_menu, 2, op="lt", value=3),
    ) == {"none"}
    assert names(
        channel,
        {"type": "group", "op": "not", "rules": [taps(members_menu, 2, op="gte", value=2)]},
    ) == {"t1", "other", "none"}


def test_a_tap_segment_is_one_query(channel, counted):
    members_menu, _ = counted
    seg = segment(channel, rules(taps(members_menu, 2, op="lt", value=3)))
    with CaptureQueriesContext(connection) as queries:
        assert len(list(segment_queryset(seg, now=NOW))) == 4
    assert len(queries) == 1


def test_another_channels_menu_is_refused(channel):
    elsewhere = menu(ChannelFactory(), "Elsewhere")
    with pytest.raises(ValidationError) as error:
        segment_validate(rules(taps(elsewhere, 1)), channel=channel)
    assert error.value.messages == ["root.rules[0]: choose a rich menu of this channel"]
    # Without a channel to check against, any existing menu will do.
    segment_validate(rules(taps(elsewhere, 1)))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"rich_menu": 999999}, "choose a rich menu of this channel"),
        ({"rich_menu": "x"}, "choose a rich menu of this channel"),
        ({"area": 0}, "rich menu area must be 1 to 20"),
        ({"area": 21}, "rich menu area must be 1 to 20"),
        ({"area": "two"}, "rich menu area must be 1 to 20"),
        ({"area": True}, "rich menu area must be 1 to 20"),
        ({"days": -1}, "number of days must be 0 (ever) to 3650"),
        ({"days": "soon"}, "number of days must be 0 (ever) to 3650"),
        ({"op": "ne"}, "tap count needs a comparison (gte, gt, eq, lte, lt)"),
        ({"op": "between"}, "tap count needs a comparison (gte, gt, eq, lte, lt)"),
        ({"value": -1}, "tap count must be at least 0"),
        ({"value": 1.5}, "tap count comparison needs a whole number"),
        ({"value": ""}, "tap count comparison needs a whole number"),
        ({"value": None}, "tap count comparison needs a whole number"),
    ],
)
def test_invalid_tap_rules_are_refused_naming_the_rule(channel, changes, message):
    good = menu(channel, "Members menu")
    condition = {**taps(good, 2), **changes}
    with pytest.raises(ValidationError) as error:
        segment_validate(rules({"type": "rank", "values": ["gold"]}, condition), channel=channel)
    assert error.value.messages == [f"root.rules[1]: {message}"]


def test_valid_tap_rules_pass(channel):
    good = menu(channel, "Members menu")
    for condition in (
        taps(good, 1),
        taps(good, 20, days=0, op="lt", value=0),
        taps(None, None, days=3650, op="eq", value=7),
        {**taps(good, 2), "value": "3", "area": "2"},
        {"type": "rich_menu_tap", "days": 7, "op": "gte", "value": 2},  # any menu, any area
    ):
        segment_validate(rules(condition), channel=channel)


def test_nested_errors_name_the_full_path(channel):
    definition = rules(
        {"type": "group", "op": "or", "rules": [taps(None, 0), taps(None, 1, value=-2)]}
    )
    with pytest.raises(ValidationError) as error:
        segment_validate(definition, channel=channel)
    assert error.value.messages == [
        "root.rules[0].rules[0]: rich menu area must be 1 to 20",
        "root.rules[0].rules[1]: tap count must be at least 0",
    ]


def test_summary_reads_like_a_sentence(channel):
    members_menu = menu(channel, "Members menu")
    summary = lambda *conditions: segment_summary(rules(*conditions))  # noqa: E731
    assert (
        summary(taps(members_menu, 2, days=30, op="gte", value=3))
        == "Members who tapped area 2 of “Members menu” at least 3 times in the last 30 days"
    )
    assert (
        summary(taps(members_menu, None, days=7, op="gte", value=1))
        == "Members who tapped any area of “Members menu” at least 1 time in the last 7 days"
    )
    assert (
        summary(taps(None, 3, days=0, op="lt", value=5))
        == "Members who tapped area 3 of any rich menu less than 5 times ever"
    )
    assert (
        summary(taps(None, None, days=1, op="eq", value=2))
        == "Members who tapped any rich menu exactly 2 times in the last 1 day"
    )
    assert (
        summary(taps(members_menu, 1, days=14, op="eq", value=0))
        == "Members who did not tap area 1 of “Members menu” in the last 14 days"
    )
    assert (
        summary(taps(members_menu, 1, days=0, op="lt", value=1))
        == "Members who never tapped area 1 of “Members menu”"
    )
    assert (
        summary({"type": "rank", "values": ["gold"]}, taps(None, None, op="gt", value=10))
        == "Members with rank Gold and who tapped any rich menu more than 10 times"
        " in the last 30 days"
    )
    assert segment_summary(rules({"type": "rich_menu_tap"})) == "(the rules are incomplete)"


def test_summary_of_a_deleted_menu_names_its_id(channel):
    gone = menu(channel, "Gone")
    condition = taps(gone, 2, op="gte", value=2)
    gone.delete()
    assert segment_summary(rules(condition)) == (
        f"Members who tapped area 2 of “#{condition['rich_menu']}” at least 2 times"
        " in the last 30 days"
    )


def test_condition_type_is_offered_in_the_builder(admin_client, channel):
    members_menu = menu(channel, "Members menu", areas=3)
    response = admin_client.get("/admin/members/segment/add/", headers={"accept-language": "en"})
    options = response.context["builder_options"]
    assert {"value": "rich_menu_tap", "label": "Rich menu taps"} in options["types"]
    offered = next(m for m in options["richMenus"] if m["value"] == members_menu.pk)
    assert offered["channel"] == channel.pk
    assert offered["label"] == "Members menu"
    assert offered["areas"] == [
        {"value": 1, "label": "area 1 (Label 1)"},
        {"value": 2, "label": "area 2 (Label 2)"},
        {"value": 3, "label": "area 3 (Label 3)"},
    ]
    assert [a["value"] for a in options["richMenuAreas"]] == list(range(1, 21))
    assert options["text"]["anyRichMenu"] == "any rich menu"


def test_preview_counts_tap_segments_and_refuses_other_channels_menus(admin_client, channel):
    members_menu = menu(channel, "Members menu")
    tap(member(channel, "fan"), members_menu, 2, times=3)
    member(channel, "quiet")
    elsewhere = menu(ChannelFactory(), "Elsewhere")

    def preview(definition):
        return admin_client.post(
            "/admin/members/segment/preview/",
            json.dumps({"channel": channel.pk, "definition": definition, "segment": None}),
            content_type="application/json",
            headers={"accept-language": "en"},
        )

    answer = preview(rules(taps(members_menu, 2, op="gte", value=3))).json()
    assert answer["count"] == 1
    assert [m["name"] for m in answer["sample"]] == ["fan"]
    assert answer["summary"] == (
        "Members who tapped area 2 of “Members menu” at least 3 times in the last 30 days"
    )
    response = preview(rules(taps(elsewhere, 2)))
    assert response.status_code == 400
    assert response.json()["errors"] == ["root.rules[0]: choose a rich menu of this channel"]
