"""The rich menu area editor in a real browser: a grid template, drawing, moving and resizing
areas, choosing their actions, the LINE-app preview, and saving and syncing to the sandbox."""

import json

import pytest
from playwright.sync_api import expect

from linebot.models import RichMenu, RichMenuAlias, RichMenuSyncStatus
from linebot.richmenus import rich_menu_status
from tests.linebot.test_richmenus import channel_create, make_menu, png

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def channel(sandbox, settings, tmp_path):
    return channel_create(sandbox, settings, tmp_path)


def drag(page, start, end):
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
    page.mouse.move(*end)
    page.mouse.up()


def test_staff_lay_out_areas_pick_actions_preview_and_sync(
    staff_page, live_server, channel, sandbox
):
    menu = make_menu(channel, name="Members", layout="compact_1")
    RichMenuAlias.objects.create(channel=channel, alias_id="tab-b", rich_menu=menu)
    page = staff_page
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{live_server.url}/admin/linebot/richmenu/{menu.pk}/change/")

    editor = page.locator("#richmenu-editor")
    expect(editor.locator(".richmenu-area")).to_have_count(1)
    expect(editor.locator('[data-role="size"]')).to_have_text("2500 × 843 px")

    # A template replaces the areas with LINE's 3-column compact grid.
    editor.locator('[data-role="layout"]').select_option("compact_3")
    expect(editor.locator(".richmenu-area")).to_have_count(3)
    expect(editor.locator('[data-role="count"]')).to_contain_text("3 / 20")

    # Area 1 becomes a URL.
    editor.locator('.richmenu-area[data-area="1"]').click(position={"x": 60, "y": 60})
    editor.locator("#richmenu-action-type").select_option("uri")
    editor.locator("#richmenu-action-uri").fill("https://shop.example.com/coupons")

    # Area 2 starts the account link; area 3 switches tabs.
    editor.locator('.richmenu-area[data-area="2"]').click(position={"x": 60, "y": 60})
    editor.locator("#richmenu-action-type").select_option("account_link")
    editor.locator('.richmenu-area[data-area="3"]').click(position={"x": 60, "y": 60})
    editor.locator("#richmenu-action-type").select_option("richmenuswitch")
    editor.locator("#richmenu-action-richMenuAliasId").select_option("tab-b")
    editor.locator("#richmenu-action-data").fill("tab=b")

    # Shrink area 3 by its corner, then draw a fourth area in the space it left.
    stage = editor.locator('[data-role="stage"]').bounding_box()
    area3 = editor.locator('.richmenu-area[data-area="3"]')
    handle = area3.locator(".richmenu-handle").bounding_box()
    corner = (handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    drag(page, corner, (corner[0], stage["y"] + stage["height"] / 2))
    drag(
        page,
        (stage["x"] + stage["width"] * 0.70, stage["y"] + stage["height"] * 0.65),
        (stage["x"] + stage["width"] * 0.95, stage["y"] + stage["height"] * 0.95),
    )
    expect(editor.locator(".richmenu-area")).to_have_count(4)
    editor.locator("#richmenu-action-type").select_option("message")
    editor.locator("#richmenu-action-text").fill("Opening hours?")

    # Move area 4 a little to the left.
    area4 = editor.locator('.richmenu-area[data-area="4"]').bounding_box()
    centre = (area4["x"] + area4["width"] / 2, area4["y"] + area4["height"] / 2)
    drag(page, centre, (centre[0] - stage["width"] * 0.05, centre[1]))

    # The preview shows the menu under its chat bar; tapping an area says what it does.
    page.fill("#id_chat_bar_text", "Shop menu")
    phone = editor.locator('[data-role="phone"]')
    expect(phone.locator('[data-role="bar"]')).to_contain_text("Shop menu")
    # Not "open by default": the chat shows only the bar until it is tapped.
    expect(phone.locator('[data-role="phone-menu"]')).to_be_hidden()
    phone.locator('[data-role="bar"]').click()
    phone.locator('.richmenu-phone-area[data-area="4"]').click()
    expect(phone.locator('[data-role="toast"]')).to_contain_text("Opening hours?")
    phone.locator('[data-role="bar"]').click()
    expect(phone.locator('[data-role="phone-menu"]')).to_be_hidden()

    page.click('input[name="_sync"]')
    expect(page.locator(".messagelist")).to_contain_text("is on LINE")

    menu.refresh_from_db()
    assert menu.chat_bar_text == "Shop menu"
    actions = [area["action"] for area in menu.areas]
    assert actions[0] == {"type": "uri", "uri": "https://shop.example.com/coupons"}
    assert actions[1] == {"type": "account_link"}
    assert actions[2] == {"type": "richmenuswitch", "richMenuAliasId": "tab-b", "data": "tab=b"}
    assert actions[3] == {"type": "message", "text": "Opening hours?"}
    third, fourth = menu.areas[2]["bounds"], menu.areas[3]["bounds"]
    assert third["height"] < 600 and third["width"] == 833
    assert fourth["x"] < 1750 - 50 and fourth["y"] > 450
    assert rich_menu_status(menu) == RichMenuSyncStatus.SYNCED
    on_line = sandbox.control.rich_menus(channel.channel_id)["richmenus"][0]
    assert on_line["chatBarText"] == "Shop menu"
    assert on_line["areas"][1]["action"] == {"type": "postback", "data": "crm:account-link"}
    assert json.dumps(on_line["areas"][3]["bounds"]) == json.dumps(menu.areas[3]["bounds"])


def test_a_new_image_sets_the_size_and_a_wrong_one_is_explained(
    staff_page, live_server, channel, tmp_path
):
    good = tmp_path / "large.png"
    good.write_bytes(png(2500, 1686))
    bad = tmp_path / "square.png"
    bad.write_bytes(png(1000, 1000))
    page = staff_page
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{live_server.url}/admin/linebot/richmenu/add/")
    page.evaluate(
        """(id) => {
            const select = document.getElementById("id_channel");
            select.appendChild(new Option("Shop", id, true, true));
            select.dispatchEvent(new Event("change"));
        }""",
        str(channel.pk),
    )
    page.fill("#id_name", "Large menu")

    page.set_input_files("#id_image", str(bad))
    page.click('input[name="_save"]')
    expect(page.locator(".errorlist")).to_contain_text("at least 1.45")

    page.set_input_files("#id_image", str(good))
    editor = page.locator("#richmenu-editor")
    expect(editor.locator('[data-role="size"]')).to_have_text("2500 × 1686 px")
    editor.locator('[data-role="layout"]').select_option("large_6")
    expect(editor.locator(".richmenu-area")).to_have_count(6)
    page.click('input[name="_save"]')
    expect(page.locator(".messagelist")).to_be_visible()

    menu = RichMenu.objects.get(name="Large menu")
    assert (menu.width, menu.height, len(menu.areas)) == (2500, 1686, 6)


def test_the_preview_switches_tabs_like_the_line_app(staff_page, live_server, channel):
    tab_a = make_menu(channel, name="Tab A", layout="compact_2", shade=0x10)
    tab_b = make_menu(channel, name="Tab B", layout="compact_2", shade=0x20)
    tab_b.chat_bar_text = "Tab B bar"
    tab_b.save()
    RichMenuAlias.objects.create(channel=channel, alias_id="tab-a", rich_menu=tab_a)
    RichMenuAlias.objects.create(channel=channel, alias_id="tab-b", rich_menu=tab_b)
    tab_a.areas[1]["action"] = {"type": "richmenuswitch", "richMenuAliasId": "tab-b", "data": "b"}
    tab_b.areas[0]["action"] = {"type": "richmenuswitch", "richMenuAliasId": "tab-a", "data": "a"}
    tab_a.save()
    tab_b.save()
    page = staff_page
    page.goto(f"{live_server.url}/admin/linebot/richmenu/{tab_a.pk}/change/")
    phone = page.locator('[data-role="phone"]')
    bar = phone.locator('[data-role="bar"]')
    bar.click()
    expect(bar).to_contain_text("Menu")

    phone.locator('.richmenu-phone-area[data-area="2"]').click()
    expect(bar).to_contain_text("Tab B bar")
    expect(phone.locator('[data-role="phone-image"]')).to_have_attribute("src", tab_b.image.url)

    phone.locator('.richmenu-phone-area[data-area="1"]').click()
    expect(bar).not_to_contain_text("Tab B bar")
    expect(phone.locator('[data-role="phone-image"]')).to_have_attribute("src", tab_a.image.url)

    listing = page.goto(f"{live_server.url}/admin/linebot/richmenu/")
    assert listing.ok
    expect(page.locator("img.richmenu-thumbnail")).to_have_count(2)


def test_a_simulated_user_taps_their_menu_in_the_sandbox_phone_and_the_tap_is_logged(
    browser, line_app
):
    from members.models import MemberRichMenu, RichMenuRule, RichMenuTap
    from tests.conftest import wait_for

    menu = make_menu(line_app.channel, name="Everyone", layout="compact_3", selected=True)
    RichMenuRule.objects.create(channel=line_app.channel, rich_menu=menu)
    user_id = line_app.user(displayName="Phone user")
    assert wait_for(lambda: MemberRichMenu.objects.filter(member__line_user_id=user_id).exists())

    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.goto(f"{line_app.sandbox.url}/sandbox/users/{user_id}")
    areas = page.locator("#richmenu button.area")
    expect(areas).to_have_count(3)
    areas.nth(1).click()
    page.wait_for_load_state()
    context.close()

    tap = wait_for(lambda: RichMenuTap.objects.filter(member__line_user_id=user_id).first())
    assert (tap.rich_menu, tap.area, tap.data) == (menu, 2, "area=2")
