"""The phone page renders the user's chat and acts as the user."""

import requests

TEMPLATE = {
    "type": "template",
    "altText": "Choose a size",
    "template": {
        "type": "buttons",
        "title": "Size",
        "text": "Which one?",
        "actions": [
            {"type": "postback", "label": "Large", "data": "size=L", "displayText": "Large"},
            {"type": "uri", "label": "Shop", "uri": "https://example.com/shop"},
        ],
    },
}
FLEX = {
    "type": "flex",
    "altText": "Receipt",
    "contents": {
        "type": "bubble",
        "body": {
            "type": "box",
            "layout": "vertical",
            "contents": [{"type": "text", "text": "Total ¥1,200"}],
        },
    },
}
QUICK = {
    "type": "text",
    "text": "Anything else?",
    "quickReply": {
        "items": [
            {"type": "action", "action": {"type": "message", "label": "No thanks", "text": "no"}}
        ]
    },
}


def test_phone_shows_what_the_user_received(sandbox, sandbox_channel):
    user = sandbox.control.user_create(
        sandbox_channel.channel_id, follow=True, displayName="Hanako <3"
    )["user"]
    requests.post(
        f"{sandbox.url}/v2/bot/message/push",
        json={
            "to": user["userId"],
            "messages": [
                {"type": "text", "text": "Hello <friend>"},
                {"type": "sticker", "packageId": "446", "stickerId": "1988"},
                TEMPLATE,
                FLEX,
                QUICK,
            ],
        },
        headers=sandbox_channel.auth,
        timeout=10,
    ).raise_for_status()
    page = requests.get(f"{sandbox.url}/sandbox/users/{user['userId']}", timeout=10)
    assert page.status_code == 200
    html = page.text
    assert "Hello &lt;friend&gt;" in html and "Hanako &lt;3" in html
    assert "sticker/1988/" in html
    assert "Which one?" in html and 'value="size=L"' in html and "https://example.com/shop" in html
    assert "Total ¥1,200" in html and "&quot;bubble&quot;" in html
    assert "No thanks" in html

    index = requests.get(f"{sandbox.url}/sandbox/", timeout=10)
    assert f"/sandbox/users/{user['userId']}" in index.text


def test_typing_on_the_phone_sends_the_webhook(sandbox, sandbox_channel):
    user = sandbox.control.user_create(sandbox_channel.channel_id, follow=True)["user"]
    answer = requests.post(
        f"{sandbox.url}/sandbox/users/{user['userId']}/act",
        data={"action": "text", "text": "Is the shop open?"},
        timeout=10,
    )
    assert answer.status_code == 200  # followed the redirect back to the phone
    assert "Is the shop open?" in answer.text
    event = sandbox_channel.receiver.events[-1]
    assert event["message"] == {**event["message"], "type": "text", "text": "Is the shop open?"}


def test_tapping_a_template_postback_sends_it(sandbox, sandbox_channel):
    user = sandbox.control.user_create(sandbox_channel.channel_id, follow=True)["user"]
    requests.post(
        f"{sandbox.url}/sandbox/users/{user['userId']}/act",
        data={"action": "postback", "data": "size=L", "display_text": "Large"},
        timeout=10,
    ).raise_for_status()
    assert sandbox_channel.receiver.events[-1]["postback"] == {"data": "size=L"}
    chat = sandbox.control.user(sandbox_channel.channel_id, user["userId"])["chat"]
    assert chat[-1]["message"]["text"] == "Large"


def test_new_user_form_creates_a_friend(sandbox, sandbox_channel):
    answer = requests.post(
        f"{sandbox.url}/sandbox/channels/{sandbox_channel.channel_id}/users",
        data={"display_name": "Ken", "follow": "on"},
        timeout=10,
    )
    assert answer.status_code == 200 and "Ken" in answer.text
    assert sandbox_channel.receiver.events[-1]["type"] == "follow"


def test_loading_animation_shows_until_a_message_arrives(sandbox, sandbox_channel):
    user = sandbox.control.user_create(sandbox_channel.channel_id, follow=True)["user"]
    url = f"{sandbox.url}/v2/bot/chat/loading/start"
    bad = requests.post(
        url,
        json={"chatId": user["userId"], "loadingSeconds": 7},
        headers=sandbox_channel.auth,
        timeout=10,
    )
    assert bad.status_code == 400
    started = requests.post(
        url,
        json={"chatId": user["userId"], "loadingSeconds": 30},
        headers=sandbox_channel.auth,
        timeout=10,
    )
    assert started.status_code == 202
    phone = f"{sandbox.url}/sandbox/users/{user['userId']}"
    assert "•••" in requests.get(phone, timeout=10).text
    requests.post(
        f"{sandbox.url}/v2/bot/message/push",
        json={"to": user["userId"], "messages": [{"type": "text", "text": "done"}]},
        headers=sandbox_channel.auth,
        timeout=10,
    ).raise_for_status()
    assert "•••" not in requests.get(phone, timeout=10).text
