"""MessageTemplate: validated on save, and its admin editor's endpoints (check, members, test)."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from campaigns.flex_library import STARTERS
from campaigns.models import MessageTemplate
from linebot.models import Channel, Platform
from members.models import Member, MemberLink, Message, MessageSource
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    """The admin's default language is Japanese; these tests read the English sentences."""
    with translation.override("en"):
        yield


@pytest.fixture
def admin_client(admin_client):
    admin_client.cookies["django_language"] = "en"
    return admin_client


TEXT = [{"type": "text", "text": "Hi {{ member.display_name }}"}]
CHECK = reverse("admin:campaigns_messagetemplate_check")
SEND = reverse("admin:campaigns_messagetemplate_send_test")


def _post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_a_valid_template_saves_and_knows_its_types(admin_user):
    template = MessageTemplate.objects.create(
        name="Welcome",
        messages=[*TEXT, STARTERS[0].message],
        created_by=admin_user,
    )
    assert template.message_types == ["text", "flex"]
    assert template.channel is None  # every channel


def test_an_invalid_template_is_refused_with_paths_in_the_active_language():
    broken = [{"type": "text", "text": "{{ member.secret }}"}, {"type": "sticker"}]
    template = MessageTemplate(name="Broken", messages=broken)
    with pytest.raises(ValidationError) as caught:
        template.full_clean()
    errors = caught.value.message_dict["messages"]
    assert errors[0].startswith("messages[0].text: Unknown member field member.secret")
    with pytest.raises(ValidationError):
        template.save()
    assert not MessageTemplate.objects.exists()
    fixed = MessageTemplate(name="Broken", messages=[TEXT[0], {"type": "sticker"}])
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        fixed.full_clean()
    assert caught.value.message_dict["messages"] == [
        "messages[1].packageId: Required: every sticker message needs it.",
        "messages[1].stickerId: Required: every sticker message needs it.",
    ]


def test_six_messages_or_not_a_list_are_refused():
    with pytest.raises(ValidationError):
        MessageTemplate(name="x", messages=TEXT * 6).full_clean()
    with pytest.raises(ValidationError):
        MessageTemplate(name="x", messages={"type": "text", "text": "x"}).full_clean()


def test_check_returns_problems_with_paths_and_the_preview(admin_client):
    answer = _post(
        admin_client,
        CHECK,
        {"text": json.dumps([{"type": "text", "text": "<b>{{ member.display_name }}</b>"}])},
    )
    body = answer.json()
    assert body["valid"] is True and body["problems"] == []
    assert "&lt;b&gt;Hanako&lt;/b&gt;" in body["html"] and 'class="lp-chat"' in body["html"]

    bad = [{"type": "image", "originalContentUrl": "http://x", "previewImageUrl": "https://x/"}]
    body = _post(admin_client, CHECK, {"text": json.dumps(bad)}).json()
    assert body["valid"] is False
    assert body["problems"] == [
        {"path": "messages[0].originalContentUrl", "message": "Must be an https URL."}
    ]


def test_check_reports_a_syntax_error_with_line_and_column(admin_client):
    body = _post(admin_client, CHECK, {"text": '[\n  {"type": "text",,}\n]'}).json()
    assert body["syntax_error"]["line"] == 2
    assert body["syntax_error"]["column"] == 19
    assert "line 2, column 19" in body["syntax_error"]["message"]
    assert body["valid"] is False


def test_check_previews_as_a_member_with_per_send_data(admin_client):
    member = Member.objects.create(
        channel=ChannelFactory(), line_user_id="U" + "d" * 32, display_name="Aiko", points=7
    )
    text = json.dumps([{"type": "text", "text": "{{ member.display_name }} {{ data.item }}"}])
    body = _post(
        admin_client, CHECK, {"text": text, "member": member.pk, "data": {"item": "Tea"}}
    ).json()
    assert "Aiko Tea" in body["html"]
    assert body["variables"] == {"member.display_name": "Aiko", "data.item": "Tea"}


def test_check_answers_in_japanese_for_a_japanese_admin(admin_client):
    bad = json.dumps([{"type": "image", "originalContentUrl": "x", "previewImageUrl": "x"}])
    admin_client.cookies["django_language"] = "ja"
    body = _post(admin_client, CHECK, {"text": bad}).json()
    assert body["problems"][0]["path"] == "messages[0].originalContentUrl"
    with translation.override("ja"):
        expected = translation.gettext("Must be an https URL.")
    assert body["problems"][0]["message"] == expected


def test_members_search_for_preview_as(admin_client):
    channel = ChannelFactory()
    Member.objects.create(channel=channel, line_user_id="U" + "e" * 32, display_name="Yuki")
    url = reverse("admin:campaigns_messagetemplate_members")
    results = admin_client.get(url, {"q": "yuk"}).json()["results"]
    assert [result["label"] for result in results] == [f"Yuki ({channel.name})"]
    other = ChannelFactory()
    assert admin_client.get(url, {"q": "yuk", "channel": other.pk}).json()["results"] == []


def test_editor_endpoints_need_staff(client):
    assert _post(client, CHECK, {"text": "[]"}).status_code == 302  # to the login page


def test_the_change_page_has_the_editor_and_starters(admin_client):
    answer = admin_client.get(reverse("admin:campaigns_messagetemplate_add"))
    html = answer.content.decode()
    assert 'id="template-editor"' in html and "template_editor.js" in html
    assert "linebot/preview.css" in html
    for starter in STARTERS:
        assert f'value="{starter.key}"' in html


def test_send_test_refuses_members_that_are_not_yours(admin_client):
    channel = ChannelFactory(platform=Platform.LINE)
    stranger = Member.objects.create(channel=channel, line_user_id="U" + "f" * 32)
    answer = _post(admin_client, SEND, {"text": json.dumps(TEXT), "recipient": stranger.pk})
    assert answer.status_code == 400
    assert not Message.objects.exists()


def test_send_test_reports_problems_for_the_member(admin_client, admin_user):
    channel = ChannelFactory(platform=Platform.LINE)
    member = Member.objects.create(channel=channel, line_user_id="U" + "1" * 32)
    MemberLink.objects.create(
        member=member, channel=channel, user=admin_user, method="staff", linked_at=timezone.now()
    )
    messages = [{"type": "text", "text": "{{ data.missing }}"}]
    answer = _post(admin_client, SEND, {"text": json.dumps(messages), "recipient": member.pk})
    assert answer.status_code == 400
    assert answer.json()["problems"][0]["path"] == "messages[0].text"
    assert not Message.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_send_test_reaches_a_sandbox_user_personalised(settings, sandbox, sandbox_channel, client):
    settings.LINE_PLATFORMS = {
        **settings.LINE_PLATFORMS,
        "sandbox": {"api": sandbox.url, "api_data": sandbox.url, "access": sandbox.url},
    }
    channel = Channel.objects.create(
        name="Sandbox shop",
        channel_id=sandbox_channel.channel_id,
        channel_secret=sandbox_channel.channel_secret,
        access_token=sandbox_channel.access_token,
        platform=Platform.SANDBOX,
    )
    user = sandbox.control.user_create(sandbox_channel.channel_id, follow=True, displayName="Mika")[
        "user"
    ]
    member = Member.objects.create(
        channel=channel, line_user_id=user["userId"], display_name="Mika", points=5
    )
    staff = get_user_model().objects.create_superuser("staff", "s@example.com", "pw-123456-x")
    client.force_login(staff)
    messages = [*TEXT, STARTERS[3].message]
    answer = _post(
        client,
        SEND,
        {"text": json.dumps(messages), "recipient": member.pk, "data": {"code": "MIKA5"}},
    )
    assert answer.status_code == 200, answer.content
    chat = sandbox.control.user(sandbox_channel.channel_id, user["userId"])["chat"]
    received = [entry["message"] for entry in chat if entry["from"] == "bot"]
    assert received[0]["text"] == "Hi Mika"
    assert "MIKA5" in json.dumps(received[1], ensure_ascii=False)
    logged = Message.objects.filter(member=member, source=MessageSource.SYSTEM)
    assert logged.count() == 2 and all(row.sent_by == staff for row in logged)


def test_the_auto_reply_page_uses_the_same_editor_without_variables(admin_client):
    html = admin_client.get(reverse("admin:campaigns_autoreply_add")).content.decode()
    assert 'id="template-editor"' in html and "template_editor.js" in html
    assert "sent exactly as written" in html and 'id="te-member"' not in html
    # Auto-replies are sent as written: the preview shows them so.
    text = json.dumps(TEXT)
    body = _post(admin_client, CHECK, {"text": text, "personalized": False}).json()
    assert "{{ member.display_name }}" in body["html"] and body["valid"] is True


def test_templates_can_be_duplicated_from_the_list(admin_client, admin_user):
    original = MessageTemplate.objects.create(name="Sale", messages=TEXT)
    answer = admin_client.post(
        reverse("admin:campaigns_messagetemplate_changelist"),
        {"action": "duplicate", "_selected_action": [original.pk]},
    )
    assert answer.status_code == 302
    copy = MessageTemplate.objects.exclude(pk=original.pk).get()
    assert copy.name == "Copy of Sale" and copy.messages == TEXT
    assert copy.created_by == admin_user
    listing = admin_client.get(reverse("admin:campaigns_messagetemplate_changelist"))
    assert "Copy of Sale" in listing.content.decode()
