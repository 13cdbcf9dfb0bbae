"""Rich menus on LINE: image and area checks, LINE's object, sync, resync, aliases, repair,
against the sandbox over real HTTP."""

import struct
import zlib

import pytest
from django.core.files.base import ContentFile
from django.utils import translation

from linebot.models import Channel, Platform, RichMenu, RichMenuAlias, RichMenuSyncStatus
from linebot.richmenus import (
    ACCOUNT_LINK_DATA,
    RichMenuSyncError,
    alias_sync,
    image_info,
    image_problems,
    layout_areas,
    rich_menu_bulk_apply,
    rich_menu_delete,
    rich_menu_object,
    rich_menu_problems,
    rich_menu_status,
    rich_menu_sync,
    rich_menus_check,
    rich_menus_repair,
)

pytestmark = pytest.mark.django_db


def png(width: int, height: int, *, shade: int = 0x80) -> bytes:
    """A valid PNG of the given size (LINE checks rich menu image dimensions)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"".join(b"\x00" + bytes([shade]) * width for _ in range(height)))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def jpeg_header(width: int, height: int) -> bytes:
    """The start of a baseline JPEG: enough for the size check."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"


@pytest.fixture
def channel(sandbox, settings, tmp_path):
    return channel_create(sandbox, settings, tmp_path)


def channel_create(sandbox, settings, tmp_path):
    """A channel of the app, registered with the sandbox, with media under ``tmp_path``."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LINE_PLATFORMS = {
        **settings.LINE_PLATFORMS,
        "sandbox": {"api": sandbox.url, "api_data": sandbox.url, "access": sandbox.url},
    }
    channel = Channel.objects.create(
        name="Shop",
        channel_id="1650007777",
        channel_secret="0123456789abcdef0123456789abcdef",
        access_token="rich-menu-test-token",
        platform=Platform.SANDBOX,
    )
    sandbox.control.channel_register(
        channel.channel_id,
        accessToken=channel.access_token,
        channelSecret=channel.channel_secret,
        name=channel.name,
    )
    return channel


def make_menu(channel, *, name="Members", layout="compact_3", height=843, shade=0x80, **fields):
    menu = RichMenu(
        channel=channel,
        name=name,
        chat_bar_text="Menu",
        width=2500,
        height=height,
        areas=layout_areas(layout, width=2500, height=height),
        **fields,
    )
    menu.image.save("menu.png", ContentFile(png(2500, height, shade=shade)), save=False)
    menu.image_content_type = "image/png"
    menu.save()
    return menu


# Checks


def test_image_sizes_and_formats_are_read_from_the_header():
    assert image_info(png(2500, 1686)) == ("image/png", 2500, 1686)
    assert image_info(jpeg_header(2500, 843)) == ("image/jpeg", 2500, 843)
    assert image_info(b"GIF89a....") is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "Choose an image."),
        (b"GIF89a" + b"\x00" * 30, "The image must be a JPEG or PNG file."),
        (png(700, 300), "The image is 700 px wide; LINE needs 800 to 2500 px."),
        (png(2600, 1000), "The image is 2600 px wide; LINE needs 800 to 2500 px."),
        (png(1000, 200), "The image is 200 px high; LINE needs at least 250 px."),
        (jpeg_header(1200, 1000), "width divided by its height must be at least 1.45"),
    ],
)
def test_images_line_refuses_get_a_clear_message(data, message):
    problems = image_problems(data)
    assert problems and problems[0].path == "image"
    assert message in problems[0].message


def test_an_image_over_one_megabyte_is_refused():
    data = png(2500, 1686) + b"\x00" * (1024 * 1024)
    assert [p.message for p in image_problems(data)] == [
        f"The image is {len(data)} bytes; LINE accepts at most 1048576 (1 MB)."
    ]


def test_good_images_pass():
    assert image_problems(png(2500, 1686)) == []
    assert image_problems(jpeg_header(800, 540)) == []


def test_area_problems_name_the_area_and_field(channel):
    menu = RichMenu(channel=channel, name="m", chat_bar_text="this text is too long", height=843)
    menu.areas = [
        {"bounds": {"x": 0, "y": 0, "width": 2600, "height": 843}, "action": {"type": "postback"}},
        {"bounds": {"x": 0, "y": 0, "width": 10}, "action": {"type": "uri", "uri": "ftp://x"}},
        {"bounds": {"x": 0, "y": 0, "width": 9, "height": 9}, "action": {"type": "camera"}},
        {
            "bounds": {"x": 0, "y": 0, "width": 9, "height": 9},
            "action": {"type": "richmenuswitch", "richMenuAliasId": "nope", "data": "t"},
        },
    ]
    paths = [p.path for p in rich_menu_problems(menu)]
    assert paths == [
        "chatBarText",
        "areas[0].bounds",
        "areas[0].action.data",
        "areas[1].bounds",
        "areas[1].action.uri",
        "areas[2].action.type",
        "areas[3].action.richMenuAliasId",
    ]


def test_more_than_twenty_areas_are_refused(channel):
    area = {
        "bounds": {"x": 0, "y": 0, "width": 10, "height": 10},
        "action": {"type": "message", "text": "hi"},
    }
    menu = RichMenu(channel=channel, name="m", height=843, areas=[area] * 21)
    assert [p.message for p in rich_menu_problems(menu)] == [
        "A rich menu has at most 20 areas; this one has 21."
    ]


def test_layouts_cover_the_menu_exactly():
    areas = layout_areas("large_6", width=2500, height=1686)
    assert len(areas) == 6
    assert sum(a["bounds"]["width"] * a["bounds"]["height"] for a in areas) == 2500 * 1686
    assert areas[-1]["bounds"] == {"x": 1667, "y": 843, "width": 833, "height": 843}


def test_the_account_link_area_becomes_lines_postback(channel):
    menu = RichMenu(channel=channel, name="m", height=843)
    menu.areas = [
        {
            "bounds": {"x": 0, "y": 0, "width": 2500, "height": 843},
            "action": {"type": "account_link", "label": "Link"},
        }
    ]
    assert rich_menu_problems(menu) == []
    assert rich_menu_object(menu)["areas"][0]["action"] == {
        "type": "postback",
        "data": ACCOUNT_LINK_DATA,
        "label": "Link",
    }


# Sync


def test_sync_creates_the_menu_and_uploads_its_image(channel, sandbox):
    menu = make_menu(channel)
    assert rich_menu_status(menu) == RichMenuSyncStatus.DRAFT

    rich_menu_sync(menu)

    menu.refresh_from_db()
    state = sandbox.control.rich_menus(channel.channel_id)
    assert [m["richMenuId"] for m in state["richmenus"]] == [menu.line_rich_menu_id]
    assert state["images"] == [menu.line_rich_menu_id]
    assert state["richmenus"][0]["areas"] == rich_menu_object(menu)["areas"]
    assert rich_menu_status(menu) == RichMenuSyncStatus.SYNCED and menu.synced_at


def test_syncing_an_unchanged_menu_creates_nothing(channel, sandbox):
    menu = rich_menu_sync(make_menu(channel))
    rich_menu_sync(menu)
    assert len(sandbox.control.requests(endpoint="richmenu_create")) == 1


def test_a_changed_menu_is_out_of_sync_and_resync_replaces_it_keeping_its_users(channel, sandbox):
    menu = rich_menu_sync(make_menu(channel))
    old_id = menu.line_rich_menu_id
    user = sandbox.control.user_create(channel.channel_id, follow=True)["user"]["userId"]
    sandbox.control.channel(channel.channel_id)
    from linebot.client import client_for_channel

    client_for_channel(channel).rich_menu_user_link(user_id=user, rich_menu_id=old_id)
    client_for_channel(channel).rich_menu_default_set(rich_menu_id=old_id)

    menu.chat_bar_text = "Tap me"
    menu.save()
    assert rich_menu_status(menu) == RichMenuSyncStatus.OUT_OF_SYNC

    rich_menu_sync(menu)

    menu.refresh_from_db()
    state = sandbox.control.rich_menus(channel.channel_id)
    assert menu.line_rich_menu_id != old_id
    assert [m["richMenuId"] for m in state["richmenus"]] == [menu.line_rich_menu_id]
    assert state["richmenus"][0]["chatBarText"] == "Tap me"
    assert state["userLinks"] == {user: menu.line_rich_menu_id}
    assert state["defaultRichMenuId"] == menu.line_rich_menu_id
    assert menu.retired_line_ids == []
    assert rich_menu_status(menu) == RichMenuSyncStatus.SYNCED


def test_a_menu_line_refuses_keeps_the_error_and_creates_nothing(channel, sandbox):
    menu = make_menu(channel)
    menu.image.save("wrong.png", ContentFile(png(2500, 1686)), save=True)

    with translation.override("en"), pytest.raises(RichMenuSyncError) as error:
        rich_menu_sync(menu)

    menu.refresh_from_db()
    assert "is 2500×1686 px but the menu is 2500×843 px" in menu.sync_error
    assert rich_menu_status(menu) == RichMenuSyncStatus.FAILED
    assert error.value.problems[0].path == "image"
    assert sandbox.control.requests(endpoint="richmenu_create") == []


def test_a_menu_deleted_on_line_is_found_and_repaired(channel, sandbox):
    menu = rich_menu_sync(make_menu(channel))
    from linebot.client import client_for_channel

    client_for_channel(channel).rich_menu_delete(rich_menu_id=menu.line_rich_menu_id)

    report = rich_menus_check(channel)
    assert report.missing == [menu] and not report.in_sync

    report = rich_menus_repair(channel)
    menu.refresh_from_db()
    assert report.in_sync
    assert rich_menu_status(menu) == RichMenuSyncStatus.SYNCED
    ids = [m["richMenuId"] for m in sandbox.control.rich_menus(channel.channel_id)["richmenus"]]
    assert ids == [menu.line_rich_menu_id]


def test_menus_on_line_the_crm_does_not_know_are_reported(channel):
    rich_menu_sync(make_menu(channel))
    from linebot.client import client_for_channel

    stray = client_for_channel(channel).rich_menu_create(
        rich_menu=rich_menu_object(make_menu(channel, name="Other"))
    )
    assert rich_menus_check(channel).unknown_line_ids == [stray.rich_menu_id]


def test_aliases_are_created_and_moved_with_their_menu(channel, sandbox):
    tab_a = make_menu(channel, name="Tab A", shade=0x10)
    tab_b = make_menu(channel, name="Tab B", shade=0x20)
    alias_a = RichMenuAlias.objects.create(channel=channel, alias_id="tab-a", rich_menu=tab_a)
    alias_b = RichMenuAlias.objects.create(channel=channel, alias_id="tab-b", rich_menu=tab_b)
    tab_a.areas[0]["action"] = {"type": "richmenuswitch", "richMenuAliasId": "tab-b", "data": "b"}
    tab_a.save()
    assert rich_menu_problems(tab_a) == []

    alias_sync(alias_a)
    alias_sync(alias_b)
    tab_a.refresh_from_db()
    tab_b.refresh_from_db()
    aliases = sandbox.control.rich_menus(channel.channel_id)["aliases"]
    assert aliases == {"tab-a": tab_a.line_rich_menu_id, "tab-b": tab_b.line_rich_menu_id}

    tab_b.chat_bar_text = "B!"
    tab_b.save()
    rich_menu_sync(tab_b)
    tab_b.refresh_from_db()
    assert sandbox.control.rich_menus(channel.channel_id)["aliases"]["tab-b"] == (
        tab_b.line_rich_menu_id
    )
    assert rich_menus_check(channel).in_sync


def test_a_tab_switch_in_the_sandbox_follows_the_alias(channel, sandbox):
    tab_a = make_menu(channel, name="Tab A", shade=0x10)
    tab_b = make_menu(channel, name="Tab B", shade=0x20)
    RichMenuAlias.objects.create(channel=channel, alias_id="tab-b", rich_menu=tab_b)
    tab_a.areas[0]["action"] = {"type": "richmenuswitch", "richMenuAliasId": "tab-b", "data": "b"}
    tab_a.save()
    for alias in RichMenuAlias.objects.all():
        alias_sync(alias)
    tab_a = rich_menu_sync(tab_a)
    user = sandbox.control.user_create(channel.channel_id, follow=True)["user"]["userId"]
    from linebot.client import client_for_channel

    client_for_channel(channel).rich_menu_user_link(
        user_id=user, rich_menu_id=tab_a.line_rich_menu_id
    )

    sandbox.control.tap_rich_menu(channel.channel_id, user, 0)

    tab_b.refresh_from_db()
    assert sandbox.control.user(channel.channel_id, user)["richMenuId"] == tab_b.line_rich_menu_id


def test_deleting_removes_the_menu_and_its_aliases_from_line(channel, sandbox):
    menu = make_menu(channel)
    alias = RichMenuAlias.objects.create(channel=channel, alias_id="main", rich_menu=menu)
    alias_sync(alias)
    menu.refresh_from_db()

    rich_menu_delete(menu)

    state = sandbox.control.rich_menus(channel.channel_id)
    assert state["richmenus"] == [] and state["aliases"] == {}
    menu.refresh_from_db()
    assert menu.line_rich_menu_id == "" and rich_menu_status(menu) == RichMenuSyncStatus.DRAFT


def test_bulk_link_sends_500_users_a_request_and_waits_out_rate_limits(channel, sandbox):
    menu = rich_menu_sync(make_menu(channel))
    users = [f"U{i:032x}" for i in range(1, 1202)]
    sandbox.control.limits_set(rate_limits={"richmenu_bulk_link": (2, 1.0)})
    batches = []

    calls = rich_menu_bulk_apply(
        channel, menu=menu, user_ids=users, on_batch=batches.append, requests_per_second=0
    )

    sent = sandbox.control.requests(endpoint="richmenu_bulk_link")
    accepted = [r for r in sent if r["status"] == 202]
    assert [len(b) for b in batches] == [500, 500, 201]
    assert len(accepted) == 3 and calls >= 3
    assert sum(1 for r in sent if r["status"] == 429) >= 1


def test_when_lines_hourly_batches_are_used_up_the_old_menu_keeps_its_users_until_repair(
    channel, sandbox
):
    from linebot.client import client_for_channel

    menu = rich_menu_sync(make_menu(channel))
    old_id = menu.line_rich_menu_id
    user = sandbox.control.user_create(channel.channel_id, follow=True)["user"]["userId"]
    client_for_channel(channel).rich_menu_user_link(user_id=user, rich_menu_id=old_id)
    sandbox.control.limits_set(rate_limits={"richmenu_batch": (1, 3600.0)})
    client_for_channel(channel).rich_menu_batch(
        operations=[{"type": "unlink", "from": "richmenu-none"}]
    )  # the one batch of the hour

    menu.chat_bar_text = "New"
    menu.save()
    rich_menu_sync(menu)

    menu.refresh_from_db()
    state = sandbox.control.rich_menus(channel.channel_id)
    assert state["userLinks"] == {user: old_id}
    assert [e["id"] for e in menu.retired_line_ids] == [old_id]
    assert not rich_menus_check(channel).in_sync

    sandbox.control.limits_set(rate_limits={"richmenu_batch": None})
    sandbox.control.limits_set(rate_limits_enabled=False)
    assert rich_menus_repair(channel).in_sync

    menu.refresh_from_db()
    state = sandbox.control.rich_menus(channel.channel_id)
    assert state["userLinks"] == {user: menu.line_rich_menu_id}
    assert [m["richMenuId"] for m in state["richmenus"]] == [menu.line_rich_menu_id]
    assert menu.retired_line_ids == []
