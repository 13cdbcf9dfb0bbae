"""The segment rule builder in a real browser: build a nested segment, watch the count change."""

import json
import re
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import expect

from members.models import Member, Segment, Tag
from members.tracking import track_links
from tests.factories import ChannelFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_build_a_nested_segment_and_see_the_count_change(staff_page, live_server):
    channel = ChannelFactory(name="Builder shop")
    vip = Tag.objects.create(channel=channel, name="vip")
    people = [
        ("Aiko", "gold", 13, "friend", [vip]),
        ("Ben", "gold", 27, "friend", []),
        ("Chika", "platinum", 27, "friend", []),
        ("Daichi", "regular", 13, "friend", [vip]),
        ("Emi", "gold", 13, "blocked", []),
    ]
    for index, (name, rank, prefecture, status, tags) in enumerate(people):
        member = Member.objects.create(
            channel=channel,
            line_user_id="U" + f"{index:032x}",
            display_name=name,
            rank=rank,
            prefecture=prefecture,
            friend_status=status,
        )
        member.tags.set(tags)

    page = staff_page
    page.goto(f"{live_server.url}/admin/members/segment/add/")
    page.select_option("#id_channel", str(channel.pk))
    page.fill("#id_name", "Tokyo or platinum friends")
    count = page.locator("#segment-preview .sb-count")

    # The builder starts empty: everyone in the channel.
    expect(count).to_have_text("5 members match")

    # Friend status (the default new condition is "Friend").
    page.click("#segment-builder .sb-add-rule")
    expect(count).to_have_text("4 members match")

    # A nested "any of" group: in Tokyo, or rank Platinum.
    page.click("#segment-builder > .sb-group > .sb-group-actions .sb-add-group")
    group = page.locator('[data-path="root.rules[1]"] .sb-group')
    expect(group).to_be_visible()
    group.locator(".sb-rule").first.get_by_label("Platinum").check()
    expect(count).to_have_text("1 member matches")
    group.locator(":scope > .sb-group-actions .sb-add-rule").click()
    second = page.locator('[data-path="root.rules[1].rules[1]"]')
    second.locator("select.sb-type").select_option("prefecture")
    second.get_by_label("prefectures").select_option(["13"])
    expect(count).to_have_text("3 members match")
    expect(page.locator("#segment-preview .sb-summary")).to_have_text(
        "Members whose friend status is Friend and (with rank Platinum or in Tokyo)"
    )
    expect(page.locator("#segment-preview .sb-sample")).to_contain_text("Chika")

    # Nobody tagged vip: a third rule at the top level.
    page.click("#segment-builder > .sb-group > .sb-group-actions .sb-add-rule")
    third = page.locator('[data-path="root.rules[2]"]')
    third.locator("select.sb-type").select_option("tags")
    third.locator('select[data-key="match"]').select_option("none")
    third.get_by_label("tags").select_option([str(vip.pk)])
    expect(count).to_have_text("1 member matches")

    # A bad value is named on its rule, and the count waits for a valid rule.
    page.click("#segment-builder > .sb-group > .sb-group-actions .sb-add-rule")
    fourth = page.locator('[data-path="root.rules[3]"]')
    fourth.locator("select.sb-type").select_option("points")
    fourth.get_by_label("points", exact=True).fill("lots")
    expect(fourth.locator(".sb-error")).to_have_text("points comparison needs a whole number")
    fourth.get_by_label("points", exact=True).fill("0")
    expect(fourth.locator(".sb-error")).to_have_text("")
    expect(count).to_have_text("1 member matches")

    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    segment = Segment.objects.get(name="Tokyo or platinum friends")
    assert segment.last_count == 1
    root = segment.definition["root"]
    assert [rule["type"] for rule in root["rules"]] == ["friend_status", "group", "tags", "points"]
    assert root["rules"][1]["op"] == "or"
    assert json.dumps(segment.definition)  # stored as plain JSON

    # Editing again shows the stored rules in the builder.
    page.goto(f"{live_server.url}/admin/members/segment/{segment.pk}/change/")
    expect(count).to_have_text("1 member matches")
    expect(page.locator('[data-path="root.rules[1].rules[1]"] select.sb-type')).to_have_value(
        "prefecture"
    )
    expect(page.locator("a.segment-export")).to_have_attribute(
        "href", re.compile(rf"/admin/members/segment/{segment.pk}/export/$")
    )


def test_staff_build_a_clicked_in_campaign_segment(staff_page, live_server):
    channel = ChannelFactory(name="Click shop")
    clicker, other = (
        Member.objects.create(channel=channel, line_user_id="U" + f"{n:032x}", display_name=name)
        for n, name in ((101, "Clicker"), (102, "Other"))
    )
    message = {
        "type": "text",
        "text": "Sale",
        "quickReply": {
            "items": [
                {
                    "type": "action",
                    "action": {"type": "uri", "label": "Shop", "uri": "https://shop.example.jp/"},
                }
            ]
        },
    }
    [tracked] = track_links([message], source="campaign", source_id=42, member=clicker)
    redirect = tracked["quickReply"]["items"][0]["action"]["uri"]
    assert (
        requests.get(
            live_server.url + urlsplit(redirect).path, allow_redirects=False, timeout=10
        ).status_code
        == 302
    )

    page = staff_page
    page.goto(f"{live_server.url}/admin/members/segment/add/")
    page.select_option("#id_channel", str(channel.pk))
    page.fill("#id_name", "Clicked the sale")
    count = page.locator("#segment-preview .sb-count")
    expect(count).to_have_text("2 members match")

    page.click("#segment-builder .sb-add-rule")
    rule = page.locator('[data-path="root.rules[0]"]')
    rule.locator("select.sb-type").select_option("clicked")
    # Any campaign in the last 30 days, then campaign 42, then a campaign nobody clicked in.
    expect(count).to_have_text("1 member matches")
    expect(page.locator("#segment-preview .sb-sample")).to_contain_text("Clicker")
    rule.get_by_label("campaign ID (blank: any)").fill("42")
    expect(page.locator("#segment-preview .sb-summary")).to_have_text(
        "Members who clicked a link in campaign #42 in the last 30 days"
    )
    expect(count).to_have_text("1 member matches")
    rule.get_by_label("campaign ID (blank: any)").fill("43")
    expect(count).to_have_text("0 members match")
    rule.locator('select[data-key="happened"]').select_option("")
    expect(count).to_have_text("2 members match")
    rule.get_by_label("campaign ID (blank: any)").fill("x")
    expect(rule.locator(".sb-error")).to_have_text(
        "clicked needs a campaign ID, or none for any campaign"
    )
    rule.get_by_label("campaign ID (blank: any)").fill("42")
    expect(count).to_have_text("1 member matches")
    expect(page.locator("#segment-preview .sb-sample")).to_contain_text(other.display_name)

    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    saved = Segment.objects.get(name="Clicked the sale")
    assert saved.definition["root"]["rules"] == [
        {"type": "clicked", "campaign": 42, "days": 30, "happened": False}
    ]
