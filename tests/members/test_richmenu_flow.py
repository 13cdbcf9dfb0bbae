"""The whole path: staff rules, member changes, a real worker relinking through the sandbox,
and simulated users tapping their menus (postbacks and tab switches)."""

import datetime as dt

import pytest
import requests
from django.utils import timezone

from linebot.models import RichMenu, RichMenuAlias
from linebot.richmenus import alias_sync, rich_menu_sync
from members.models import (
    LinkMethod,
    Member,
    MemberEvent,
    MemberLink,
    MemberRichMenu,
    RichMenuRelink,
    RichMenuRelinkStatus,
    RichMenuRule,
    RichMenuTap,
    Segment,
    Tag,
)
from tests.conftest import wait_for
from tests.linebot.test_richmenus import make_menu

pytestmark = [pytest.mark.worker]


def segment(channel, name, *rules):
    return Segment.objects.create(
        channel=channel,
        name=name,
        definition={"version": 1, "root": {"type": "group", "op": "and", "rules": list(rules)}},
    )


def sees(line_app, user_id, menu):
    """Whether LINE shows ``menu`` to the user now (their own link, else the default)."""
    menu = RichMenu.objects.get(pk=menu.pk)
    if not menu.line_rich_menu_id:
        return False
    linked = line_app.control.user(line_app.channel.channel_id, user_id)["richMenuId"]
    if linked:
        return linked == menu.line_rich_menu_id
    state = line_app.control.rich_menus(line_app.channel.channel_id)
    return state["defaultRichMenuId"] == menu.line_rich_menu_id


def relinks_done():
    return not RichMenuRelink.objects.exclude(status=RichMenuRelinkStatus.DONE).exists()


def test_a_members_menu_follows_their_rank_tags_link_and_events(line_app, django_user_model):
    channel = line_app.channel
    guest = make_menu(channel, name="Guest", shade=0x10)
    gold = make_menu(channel, name="Gold", shade=0x20)
    vip = make_menu(channel, name="VIP", shade=0x30)
    linked = make_menu(channel, name="Linked", shade=0x40)
    buyer = make_menu(channel, name="Buyer", shade=0x50)
    tag = Tag.objects.create(channel=channel, name="VIP")
    rules = [
        (1, buyer, {"type": "event", "kind": "purchase", "days": 0, "op": "gte", "value": 1}),
        (5, vip, {"type": "tags", "match": "any", "tags": [tag.pk]}),
        (10, gold, {"type": "rank", "values": ["gold"]}),
        (20, linked, {"type": "link", "linked": True}),
    ]
    for priority, menu, condition in rules:
        RichMenuRule.objects.create(
            channel=channel,
            priority=priority,
            rich_menu=menu,
            segment=segment(channel, menu.name, condition),
        )
    RichMenuRule.objects.create(channel=channel, rich_menu=guest)
    assert wait_for(relinks_done)

    user_id = line_app.user(displayName="Hana")
    member = wait_for(lambda: MemberRichMenu.objects.filter(member__line_user_id=user_id).first())
    member = Member.objects.get(line_user_id=user_id)
    assert sees(line_app, user_id, guest)

    member.rank = "gold"
    member.save()
    assert wait_for(lambda: sees(line_app, user_id, gold))

    member.tags.add(tag)
    assert wait_for(lambda: sees(line_app, user_id, vip))

    member.tags.remove(tag)
    assert wait_for(lambda: sees(line_app, user_id, gold))

    member.rank = "regular"
    member.save()
    assert wait_for(lambda: sees(line_app, user_id, guest))

    user = django_user_model.objects.create_user("hana", "hana@example.com", "pw")
    MemberLink.objects.create(
        member=member,
        channel=channel,
        user=user,
        method=LinkMethod.STAFF,
        linked_at=timezone.now(),
    )
    assert wait_for(lambda: sees(line_app, user_id, linked))

    MemberEvent.objects.create(
        member=member, kind="purchase", name="SKU-1", occurred_at=timezone.now() - dt.timedelta(1)
    )
    assert wait_for(lambda: sees(line_app, user_id, buyer))
    state = wait_for(lambda: MemberRichMenu.objects.filter(member=member, rich_menu=buyer).first())
    assert state.linked and state.error == ""

    # The simulated user taps the menu they see: the postback is logged against its area.
    line_app.control.tap_rich_menu(channel.channel_id, user_id, 2)
    tap = wait_for(lambda: RichMenuTap.objects.filter(member=member).first())
    assert (tap.rich_menu, tap.area, tap.data) == (buyer, 3, "area=3")


def test_a_tab_switch_moves_the_member_to_the_aliased_menu(line_app):
    channel = line_app.channel
    tab_a = make_menu(channel, name="Tab A", layout="compact_2", shade=0x10)
    tab_b = make_menu(channel, name="Tab B", layout="compact_2", shade=0x20)
    alias_a = RichMenuAlias.objects.create(channel=channel, alias_id="tab-a", rich_menu=tab_a)
    alias_b = RichMenuAlias.objects.create(channel=channel, alias_id="tab-b", rich_menu=tab_b)
    tab_a.areas[1]["action"] = {"type": "richmenuswitch", "richMenuAliasId": "tab-b", "data": "b"}
    tab_b.areas[0]["action"] = {"type": "richmenuswitch", "richMenuAliasId": "tab-a", "data": "a"}
    tab_a.save()
    tab_b.save()
    rich_menu_sync(tab_a)
    rich_menu_sync(tab_b)
    alias_sync(alias_a)
    alias_sync(alias_b)
    RichMenuRule.objects.create(channel=channel, rich_menu=tab_a)
    assert wait_for(relinks_done)

    user_id = line_app.user(displayName="Tabby")
    wait_for(lambda: MemberRichMenu.objects.filter(member__line_user_id=user_id).first())
    assert sees(line_app, user_id, tab_a)

    line_app.control.tap_rich_menu(channel.channel_id, user_id, 1)

    assert sees(line_app, user_id, tab_b)
    state = wait_for(
        lambda: MemberRichMenu.objects.filter(
            member__line_user_id=user_id, switched_by_tap=True
        ).first()
    )
    assert state.rich_menu == tab_b
    tap = RichMenuTap.objects.get(member__line_user_id=user_id)
    assert (tap.rich_menu, tap.area, tap.params["newRichMenuAliasId"]) == (tab_a, 2, "tab-b")

    # The sandbox's phone view shows the simulated user the menu they switched to.
    phone = requests.get(f"{line_app.sandbox.url}/sandbox/users/{user_id}", timeout=10).text
    tab_b.refresh_from_db()
    assert f"/richmenus/{channel.channel_id}/{tab_b.line_rich_menu_id}/image" in phone

    line_app.control.tap_rich_menu(channel.channel_id, user_id, 0)
    assert sees(line_app, user_id, tab_a)
    assert wait_for(lambda: RichMenuTap.objects.filter(rich_menu=tab_b, area=1).exists())
