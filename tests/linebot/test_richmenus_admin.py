"""The rich menu admin pages: upload checks, the editor's page, save and sync, check and repair,
tap counts, and the members' pages for rules, re-evaluations and taps."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

import members.admin_richmenus  # noqa: F401 (registers the members' pages, as members.admin will)
from linebot.models import RichMenu, RichMenuAlias, RichMenuSyncStatus
from linebot.richmenus import rich_menu_status, rich_menu_sync
from members.models import Member, RichMenuRelink, RichMenuRule, RichMenuTap

from .test_richmenus import channel_create, make_menu, png

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel(sandbox, settings, tmp_path):
    return channel_create(sandbox, settings, tmp_path)


@pytest.fixture
def admin_client(admin_client):
    """The admin in English, so the messages compare as written."""
    admin_client.cookies["django_language"] = "en"
    return admin_client


def form_data(channel, **extra):
    areas = (
        '[{"bounds": {"x": 0, "y": 0, "width": 1250, "height": 843},'
        ' "action": {"type": "postback", "data": "coupon"}},'
        ' {"bounds": {"x": 1250, "y": 0, "width": 1250, "height": 843},'
        ' "action": {"type": "account_link", "label": "Link"}}]'
    )
    return {
        "channel": channel.pk,
        "name": "Members",
        "chat_bar_text": "Menu",
        "areas": areas,
        **extra,
    }


def test_a_menu_is_added_with_its_image_and_synced_to_line(admin_client, channel, sandbox):
    image = SimpleUploadedFile("menu.png", png(2500, 843), content_type="image/png")

    response = admin_client.post(
        reverse("admin:linebot_richmenu_add"), {**form_data(channel), "image": image, "_sync": "1"}
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    menu = RichMenu.objects.get()
    assert (menu.width, menu.height, menu.image_content_type) == (2500, 843, "image/png")
    assert rich_menu_status(menu) == RichMenuSyncStatus.SYNCED
    line_menu = sandbox.control.rich_menus(channel.channel_id)["richmenus"][0]
    assert line_menu["areas"][1]["action"]["data"] == "crm:account-link"


@pytest.mark.parametrize(
    ("data", "content_type", "message"),
    [
        (
            png(2500, 843) + b"\0" * (1024 * 1024),
            "image/png",
            "LINE accepts at most 1048576 (1 MB)",
        ),
        (b"GIF89a" + b"\0" * 40, "image/gif", "The image must be a JPEG or PNG file."),
        (png(1000, 1000), "image/png", "width divided by its height must be at least 1.45"),
    ],
)
def test_a_wrong_image_is_refused_with_a_clear_message(
    admin_client, channel, data, content_type, message
):
    image = SimpleUploadedFile("menu.bin", data, content_type=content_type)
    response = admin_client.post(
        reverse("admin:linebot_richmenu_add"), {**form_data(channel), "image": image}
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not RichMenu.objects.exists()


def test_bad_areas_are_refused_with_their_path(admin_client, channel):
    image = SimpleUploadedFile("menu.png", png(2500, 843), content_type="image/png")
    areas = (
        '[{"bounds": {"x": 2000, "y": 0, "width": 1250, "height": 843},'
        ' "action": {"type": "uri", "uri": "x"}}]'
    )
    response = admin_client.post(
        reverse("admin:linebot_richmenu_add"),
        {**form_data(channel), "image": image, "areas": areas},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "areas[0].bounds" in page and "areas[0].action.uri" in page


def test_the_change_page_has_the_editor_status_and_tap_counts(admin_client, channel, sandbox):
    menu = rich_menu_sync(make_menu(channel))
    member = Member.objects.create(channel=channel, line_user_id="U" + "a" * 32)
    for area in (1, 1, 3):
        RichMenuTap.objects.create(
            member=member, rich_menu=menu, area=area, data=f"area={area}", tapped_at=timezone.now()
        )

    page = admin_client.get(reverse("admin:linebot_richmenu_change", args=[menu.pk]))

    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="richmenu-editor"' in html and "richmenu_editor.js" in html
    assert "richmenu-status-synced" in html
    assert '"taps": {"1": 2, "3": 1}' in html
    assert '<td class="richmenu-taps">2</td>' in html

    listing = admin_client.get(reverse("admin:linebot_richmenu_changelist"))
    assert listing.status_code == 200 and "richmenu-status-synced" in listing.content.decode()


def test_sync_now_and_repair_from_the_change_page(admin_client, channel, sandbox):
    menu = make_menu(channel)
    admin_client.post(reverse("admin:linebot_richmenu_sync", args=[menu.pk]))
    menu.refresh_from_db()
    assert menu.line_rich_menu_id

    from linebot.client import client_for_channel

    client_for_channel(channel).rich_menu_delete(rich_menu_id=menu.line_rich_menu_id)
    response = admin_client.post(
        reverse("admin:linebot_richmenu_check", args=[menu.pk]), follow=True
    )
    menu.refresh_from_db()
    assert "1 difference repaired." in response.content.decode()
    assert rich_menu_status(menu) == RichMenuSyncStatus.SYNCED
    assert (
        admin_client.get(reverse("admin:linebot_richmenu_sync", args=[menu.pk])).status_code == 403
    )


def test_an_alias_saved_in_the_admin_is_on_line(admin_client, channel, sandbox):
    menu = make_menu(channel)
    response = admin_client.post(
        reverse("admin:linebot_richmenualias_add"),
        {"channel": channel.pk, "alias_id": "tab-a", "rich_menu": menu.pk},
    )
    assert response.status_code == 302
    menu.refresh_from_db()
    assert sandbox.control.rich_menus(channel.channel_id)["aliases"] == {
        "tab-a": menu.line_rich_menu_id
    }
    assert admin_client.get(reverse("admin:linebot_richmenualias_changelist")).status_code == 200


def test_the_members_pages_render(admin_client, channel):
    menu = make_menu(channel)
    rule = RichMenuRule.objects.create(channel=channel, rich_menu=menu)
    member = Member.objects.create(channel=channel, line_user_id="U" + "b" * 32)
    RichMenuTap.objects.create(
        member=member, rich_menu=menu, area=1, data="area=1", tapped_at=timezone.now()
    )
    for name in ("richmenurule", "richmenurelink", "memberrichmenu", "richmenutap"):
        response = admin_client.get(reverse(f"admin:members_{name}_changelist"))
        assert response.status_code == 200, name
    assert (
        admin_client.get(reverse("admin:members_richmenurule_change", args=[rule.pk])).status_code
        == 200
    )
    assert RichMenuRelink.objects.filter(channel=channel).exists()


def test_relink_action_queues_a_re_evaluation(admin_client, channel):
    rule = RichMenuRule.objects.create(channel=channel, rich_menu=make_menu(channel))
    RichMenuRelink.objects.all().delete()
    admin_client.post(
        reverse("admin:members_richmenurule_changelist"),
        {"action": "relink_now", "_selected_action": [rule.pk]},
    )
    assert RichMenuRelink.objects.filter(channel=channel, status="pending").count() == 1


def test_deleting_a_menu_removes_it_from_line(admin_client, channel, sandbox):
    menu = rich_menu_sync(make_menu(channel))
    RichMenuAlias.objects.all().delete()
    admin_client.post(reverse("admin:linebot_richmenu_delete", args=[menu.pk]), {"post": "yes"})
    assert not RichMenu.objects.exists()
    assert sandbox.control.rich_menus(channel.channel_id)["richmenus"] == []


def test_deleting_several_menus_at_once_removes_them_from_line(admin_client, channel, sandbox):
    menus = [rich_menu_sync(make_menu(channel, name=f"M{n}", shade=n)) for n in (1, 2)]
    admin_client.post(
        reverse("admin:linebot_richmenu_changelist"),
        {"action": "delete_selected", "_selected_action": [m.pk for m in menus], "post": "yes"},
    )
    assert not RichMenu.objects.exists()
    assert sandbox.control.rich_menus(channel.channel_id)["richmenus"] == []


def test_the_rules_list_shows_the_last_re_evaluation(admin_client, channel):
    rule = RichMenuRule.objects.create(channel=channel, rich_menu=make_menu(channel))
    RichMenuRelink.objects.filter(channel=channel).update(status="running", total=200, done=50)
    page = admin_client.get(reverse("admin:members_richmenurule_changelist"))
    assert '<progress class="richmenu-relink" value="25" max="100"' in page.content.decode()
    assert rule.pk


def test_a_menu_used_by_a_rule_cannot_be_deleted_from_the_admin(admin_client, channel):
    menu = make_menu(channel)
    RichMenuRule.objects.create(channel=channel, rich_menu=menu)
    page = admin_client.get(reverse("admin:linebot_richmenu_delete", args=[menu.pk]))
    assert page.status_code == 200
    assert "would require deleting the following protected related objects" in (
        page.content.decode()
    )
    admin_client.post(reverse("admin:linebot_richmenu_delete", args=[menu.pk]), {"post": "yes"})
    assert RichMenu.objects.filter(pk=menu.pk).exists()
