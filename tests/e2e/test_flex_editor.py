"""The message template editor in a real browser: type Flex JSON, watch the preview and errors."""

import json

import pytest
import requests

from campaigns.models import MessageTemplate
from members.models import Member
from tests.factories import ChannelFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BUBBLE = {
    "type": "flex",
    "altText": "Sale",
    "contents": {
        "type": "bubble",
        "body": {
            "type": "box",
            "layout": "vertical",
            "contents": [
                {"type": "text", "text": "Summer sale", "weight": "bold"},
                {"type": "text", "text": "Hi {{ member.display_name }}"},
                {
                    "type": "button",
                    "action": {"type": "uri", "label": "Shop", "uri": "https://example.com/"},
                },
            ],
        },
    },
}


def _type_json(page, value) -> None:
    page.fill("#id_messages", json.dumps(value, indent=2))


def test_editing_flex_changes_the_preview_and_shows_errors_with_paths(staff_page, live_server):
    channel = ChannelFactory()
    Member.objects.create(
        channel=channel, line_user_id="U" + "b" * 32, display_name="Taro <b>", points=40
    )
    page = staff_page
    page.goto(f"{live_server.url}/admin/campaigns/messagetemplate/add/")
    preview = page.locator("#te-preview")
    # A new template starts with a greeting for the sample member.
    preview.get_by_text("Hello Hanako!").wait_for()

    _type_json(page, [BUBBLE])
    preview.locator(".lp-bubble").get_by_text("Summer sale").wait_for()
    assert preview.get_by_text("Hi Hanako").count() == 1
    assert page.locator("#te-status").inner_text().startswith("No problems")

    # The preview follows the text as it changes.
    changed = json.loads(json.dumps(BUBBLE).replace("Summer sale", "Winter sale"))
    _type_json(page, [changed])
    preview.get_by_text("Winter sale").wait_for()
    assert preview.get_by_text("Summer sale").count() == 0

    # A javascript: link is refused with its path and a sentence.
    broken = json.loads(json.dumps(changed))
    broken["contents"]["body"]["contents"][2]["action"]["uri"] = "javascript:alert(1)"
    _type_json(page, [broken])
    problem = page.locator("#te-problems li").first
    problem.wait_for()
    assert problem.locator("code").inner_text() == (
        "messages[0].contents.body.contents[2].action.uri"
    )
    assert "http://, https://" in problem.inner_text()
    assert "te-invalid" in page.locator("#id_messages").get_attribute("class")
    # Clicking the problem selects the offending value in the editor.
    problem.click()
    selected = page.evaluate(
        "() => { const t = document.getElementById('id_messages');"
        " return t.value.slice(t.selectionStart, t.selectionEnd); }"
    )
    assert selected == '"javascript:alert(1)"'

    # A syntax error names its line and keeps the last good preview.
    page.fill("#id_messages", '[{"type": "text", "text": "oops"')
    page.locator("#te-status", has_text="JSON syntax error at line 1").wait_for()
    assert page.locator("#te-problems li code").inner_text() == "JSON"
    assert preview.get_by_text("Winter sale").count() == 1

    # Preview as a real member: their name, escaped.
    _type_json(page, [changed])
    page.locator("#te-member").fill("Taro")
    page.wait_for_function(
        "() => document.querySelectorAll('#te-member-options option').length > 0"
    )
    label = page.locator("#te-member-options option").first.get_attribute("value")
    page.locator("#te-member").fill(label)
    page.locator("#te-member").dispatch_event("change")
    preview.get_by_text("Hi Taro <b>").wait_for()
    assert "member.display_name\tTaro <b>" in page.locator("#te-variables").inner_text()

    # Insert a starter design and save: the template is stored as typed.
    page.select_option("#te-starter", "coupon")
    page.click("#te-insert")
    preview.get_by_text("COUPON").wait_for()
    page.fill("#id_name", "Winter coupon")
    page.click("input[name=_save]")
    page.wait_for_url(f"{live_server.url}/admin/campaigns/messagetemplate/")
    saved = MessageTemplate.objects.get(name="Winter coupon")
    assert [message["type"] for message in saved.messages] == ["flex", "flex"]
    assert saved.created_by.username == "boss"


def test_the_sandbox_phone_draws_flex_with_the_same_renderer_and_taps_post(
    browser, sandbox, sandbox_channel
):
    user = sandbox.control.user_create(sandbox_channel.channel_id, follow=True)["user"]
    flex = json.loads(json.dumps(BUBBLE))
    flex["contents"]["body"]["contents"][2]["action"] = {
        "type": "postback",
        "label": "Reserve",
        "data": "reserve=1",
        "displayText": "Reserve, please",
    }
    requests.post(
        f"{sandbox.url}/v2/bot/message/push",
        json={"to": user["userId"], "messages": [flex]},
        headers=sandbox_channel.auth,
        timeout=10,
    ).raise_for_status()
    page = browser.new_page()
    try:
        page.goto(f"{sandbox.url}/sandbox/users/{user['userId']}")
        bubble = page.locator(".lp-bubble")
        assert "Summer sale" in bubble.inner_text()
        bubble.get_by_text("Reserve").click()
        page.locator(".row.user .lp-balloon", has_text="Reserve, please").wait_for()
        assert sandbox_channel.receiver.events[-1]["postback"] == {"data": "reserve=1"}
    finally:
        page.close()


def test_the_auto_reply_page_previews_messages_as_written(staff_page, live_server):
    page = staff_page
    page.goto(f"{live_server.url}/admin/campaigns/autoreply/add/")
    page.locator("#te-preview").get_by_text("Hello!").wait_for()
    _type_json(page, [{"type": "text", "text": "Hi {{ member.display_name }}"}])
    page.locator("#te-preview").get_by_text("Hi {{ member.display_name }}").wait_for()
    _type_json(page, [{"type": "sticker"}])
    page.locator("#te-problems li", has_text="messages[0].packageId").wait_for()
