"""The Messaging API as the sandbox serves it over HTTP: shapes, limits, errors."""

import time
import uuid

import pytest
import requests

TEXT = {"type": "text", "text": "hello"}


def api(sandbox, channel, method, path, **kwargs):
    headers = {**channel.auth, **kwargs.pop("headers", {})}
    return requests.request(method, f"{sandbox.url}{path}", headers=headers, timeout=10, **kwargs)


@pytest.fixture
def friend(sandbox, sandbox_channel):
    return sandbox.control.user_create(sandbox_channel.channel_id, follow=True)["user"]


def push(sandbox, channel, to, messages, **kwargs):
    return api(
        sandbox,
        channel,
        "POST",
        "/v2/bot/message/push",
        json={"to": to, "messages": messages},
        **kwargs,
    )


def details(response):
    assert response.status_code == 400, response.text
    return {d["property"]: d["message"] for d in response.json()["details"]}


def test_missing_authorization_is_401_with_line_body(sandbox):
    response = requests.get(f"{sandbox.url}/v2/bot/info", timeout=10)
    assert response.status_code == 401
    assert response.json()["message"].startswith("Authorization header required")
    assert response.headers["x-line-request-id"]


def test_unknown_token_is_401_once_auto_channels_are_off(sandbox, sandbox_channel):
    sandbox.control.configure(auto_channels=False)
    response = requests.get(
        f"{sandbox.url}/v2/bot/info", headers={"Authorization": "Bearer nope"}, timeout=10
    )
    assert response.status_code == 401
    assert response.json() == {
        "message": "Authentication failed due to the following reason: invalid token. "
        "Confirm that the access token in the authorization header is valid."
    }
    assert api(sandbox, sandbox_channel, "GET", "/v2/bot/info").status_code == 200


def test_any_token_is_a_channel_when_unconfigured(sandbox):
    response = requests.get(
        f"{sandbox.url}/v2/bot/info", headers={"Authorization": "Bearer anything"}, timeout=10
    )
    assert response.status_code == 200
    assert response.json()["userId"].startswith("U")
    assert response.json()["chatMode"] in ("chat", "bot")


def test_push_delivers_and_answers_sent_messages(sandbox, sandbox_channel, friend):
    response = push(sandbox, sandbox_channel, friend["userId"], [TEXT, TEXT])
    assert response.status_code == 200
    sent = response.json()["sentMessages"]
    assert len(sent) == 2 and all(m["id"].isdigit() and m["quoteToken"] for m in sent)
    chat = sandbox.control.messages(sandbox_channel.channel_id, friend["userId"])
    assert [m["message"]["text"] for m in chat] == ["hello", "hello"]
    assert chat[0]["via"] == "push"


@pytest.mark.parametrize("count", [0, 6])
def test_one_to_five_messages_per_request(sandbox, sandbox_channel, friend, count):
    response = push(sandbox, sandbox_channel, friend["userId"], [TEXT] * count)
    assert "messages" in details(response)
    assert response.json()["message"] == "The request body has 1 error(s)"


def test_text_length_counts_utf16_code_units(sandbox, sandbox_channel, friend):
    emoji = "\U0001f600"
    ok = push(sandbox, sandbox_channel, friend["userId"], [{"type": "text", "text": emoji * 2500}])
    assert ok.status_code == 200
    too_long = push(
        sandbox, sandbox_channel, friend["userId"], [{"type": "text", "text": emoji * 2500 + "a"}]
    )
    assert "messages[0].text" in details(too_long)


def test_text_limit_is_configurable(sandbox, sandbox_channel, friend):
    sandbox.control.limits_set(text_max_length=3)
    response = push(sandbox, sandbox_channel, friend["userId"], [{"type": "text", "text": "abcd"}])
    assert "messages[0].text" in details(response)


def test_alt_text_at_most_1500(sandbox, sandbox_channel, friend):
    bubble = {"type": "bubble", "body": {"type": "box", "layout": "vertical", "contents": []}}
    message = {"type": "flex", "altText": "a" * 1501, "contents": bubble}
    assert "messages[0].altText" in details(
        push(sandbox, sandbox_channel, friend["userId"], [message])
    )


def _bubble(size: int) -> dict:
    text = {"type": "text", "text": "x" * size}
    return {"type": "bubble", "body": {"type": "box", "layout": "vertical", "contents": [text]}}


def test_flex_bubble_at_most_30kb(sandbox, sandbox_channel, friend):
    ok = {"type": "flex", "altText": "a", "contents": _bubble(29 * 1024)}
    assert push(sandbox, sandbox_channel, friend["userId"], [ok]).status_code == 200
    big = {"type": "flex", "altText": "a", "contents": _bubble(31 * 1024)}
    assert "messages[0].contents" in details(
        push(sandbox, sandbox_channel, friend["userId"], [big])
    )


def test_flex_carousel_at_most_12_bubbles_and_50kb(sandbox, sandbox_channel, friend):
    many = {"type": "carousel", "contents": [_bubble(1)] * 13}
    message = {"type": "flex", "altText": "a", "contents": many}
    assert "messages[0].contents.contents" in details(
        push(sandbox, sandbox_channel, friend["userId"], [message])
    )
    heavy = {"type": "carousel", "contents": [_bubble(20 * 1024)] * 3}
    message = {"type": "flex", "altText": "a", "contents": heavy}
    assert "messages[0].contents" in details(
        push(sandbox, sandbox_channel, friend["userId"], [message])
    )


def test_flex_container_type_must_be_bubble_or_carousel(sandbox, sandbox_channel, friend):
    message = {"type": "flex", "altText": "a", "contents": {"type": "box"}}
    assert "messages[0].contents.type" in details(
        push(sandbox, sandbox_channel, friend["userId"], [message])
    )


def test_postback_data_at_most_300(sandbox, sandbox_channel, friend):
    action = {"type": "postback", "label": "go", "data": "d" * 301}
    message = {**TEXT, "quickReply": {"items": [{"type": "action", "action": action}]}}
    assert "messages[0].quickReply.items[0].action.data" in details(
        push(sandbox, sandbox_channel, friend["userId"], [message])
    )


def test_quick_reply_at_most_13_items(sandbox, sandbox_channel, friend):
    item = {"type": "action", "action": {"type": "message", "label": "a", "text": "a"}}
    message = {**TEXT, "quickReply": {"items": [item] * 14}}
    assert "messages[0].quickReply.items" in details(
        push(sandbox, sandbox_channel, friend["userId"], [message])
    )


def test_image_urls_must_be_https(sandbox, sandbox_channel, friend):
    message = {
        "type": "image",
        "originalContentUrl": "http://example.com/a.jpg",
        "previewImageUrl": "https://example.com/a.jpg",
    }
    problems = details(push(sandbox, sandbox_channel, friend["userId"], [message]))
    assert list(problems) == ["messages[0].originalContentUrl"]


def test_unknown_message_type_and_missing_fields(sandbox, sandbox_channel, friend):
    problems = details(
        push(sandbox, sandbox_channel, friend["userId"], [{"type": "fax"}, {"type": "sticker"}])
    )
    assert set(problems) == {"messages[0].type", "messages[1].packageId", "messages[1].stickerId"}


def test_push_to_a_malformed_user_id_names_the_property(sandbox, sandbox_channel):
    assert "to" in details(push(sandbox, sandbox_channel, "someone", [TEXT]))


def test_multicast_at_most_500_recipients(sandbox, sandbox_channel, friend):
    url = "/v2/bot/message/multicast"
    ok = api(
        sandbox,
        sandbox_channel,
        "POST",
        url,
        json={"to": [friend["userId"]] * 500, "messages": [TEXT]},
    )
    assert ok.status_code == 200 and ok.json() == {}
    too_many = api(
        sandbox,
        sandbox_channel,
        "POST",
        url,
        json={"to": [friend["userId"]] * 501, "messages": [TEXT]},
    )
    assert "to" in details(too_many)
    bad_id = api(
        sandbox,
        sandbox_channel,
        "POST",
        url,
        json={"to": [friend["userId"], "C" + "0" * 32], "messages": [TEXT]},
    )
    assert "to[1]" in details(bad_id)


def test_request_body_over_2mb_is_413(sandbox, sandbox_channel, friend):
    body = b'{"to": "x", "messages": [], "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = api(
        sandbox,
        sandbox_channel,
        "POST",
        "/v2/bot/message/push",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["x-line-request-id"]


def _reply_token(sandbox, channel, user_id):
    event = sandbox.control.send_text(channel.channel_id, user_id, "hi")["event"]
    return event["replyToken"]


def test_reply_token_is_single_use(sandbox, sandbox_channel, friend):
    token = _reply_token(sandbox, sandbox_channel, friend["userId"])
    body = {"replyToken": token, "messages": [TEXT]}
    first = api(sandbox, sandbox_channel, "POST", "/v2/bot/message/reply", json=body)
    assert first.status_code == 200 and len(first.json()["sentMessages"]) == 1
    second = api(sandbox, sandbox_channel, "POST", "/v2/bot/message/reply", json=body)
    assert second.status_code == 400
    assert second.json()["message"] == "Invalid reply token"


def test_reply_token_expires(sandbox, sandbox_channel, friend):
    sandbox.control.limits_set(reply_token_ttl=0.2)
    token = _reply_token(sandbox, sandbox_channel, friend["userId"])
    time.sleep(0.3)
    response = api(
        sandbox,
        sandbox_channel,
        "POST",
        "/v2/bot/message/reply",
        json={"replyToken": token, "messages": [TEXT]},
    )
    assert response.status_code == 400


def test_retry_key_repeat_is_409_with_accepted_request_id(sandbox, sandbox_channel, friend):
    key = {"X-Line-Retry-Key": str(uuid.uuid4())}
    first = push(sandbox, sandbox_channel, friend["userId"], [TEXT], headers=key)
    assert first.status_code == 200
    again = push(sandbox, sandbox_channel, friend["userId"], [TEXT], headers=key)
    assert again.status_code == 409
    assert again.json()["message"] == "The retry key is already accepted"
    assert again.json()["sentMessages"] == first.json()["sentMessages"]
    assert again.headers["x-line-accepted-request-id"] == first.headers["x-line-request-id"]
    assert len(sandbox.control.messages(sandbox_channel.channel_id, friend["userId"])) == 1


def test_retry_key_on_multicast_409_has_no_sent_messages(sandbox, sandbox_channel, friend):
    key = {"X-Line-Retry-Key": str(uuid.uuid4())}
    body = {"to": [friend["userId"]], "messages": [TEXT]}
    first = api(
        sandbox, sandbox_channel, "POST", "/v2/bot/message/multicast", json=body, headers=key
    )
    again = api(
        sandbox, sandbox_channel, "POST", "/v2/bot/message/multicast", json=body, headers=key
    )
    assert (first.status_code, again.status_code) == (200, 409)
    assert "sentMessages" not in again.json()


def test_retry_key_after_a_rejected_request_can_be_used_again(sandbox, sandbox_channel, friend):
    key = {"X-Line-Retry-Key": str(uuid.uuid4())}
    assert push(sandbox, sandbox_channel, friend["userId"], [], headers=key).status_code == 400
    assert push(sandbox, sandbox_channel, friend["userId"], [TEXT], headers=key).status_code == 200


def test_retry_key_on_reply_is_400(sandbox, sandbox_channel, friend):
    token = _reply_token(sandbox, sandbox_channel, friend["userId"])
    response = api(
        sandbox,
        sandbox_channel,
        "POST",
        "/v2/bot/message/reply",
        json={"replyToken": token, "messages": [TEXT]},
        headers={"X-Line-Retry-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 400


def test_retry_key_must_be_a_uuid(sandbox, sandbox_channel, friend):
    response = push(
        sandbox,
        sandbox_channel,
        friend["userId"],
        [TEXT],
        headers={"X-Line-Retry-Key": "not-a-uuid"},
    )
    assert response.status_code == 400


def test_rate_limit_is_429(sandbox, sandbox_channel, friend):
    sandbox.control.limits_set(rate_limits={"push": (2, 3600)})
    statuses = [
        push(sandbox, sandbox_channel, friend["userId"], [TEXT]).status_code for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    response = push(sandbox, sandbox_channel, friend["userId"], [TEXT])
    assert response.json() == {"message": "The API rate limit has been exceeded. Try again later."}
    assert api(sandbox, sandbox_channel, "GET", "/v2/bot/info").status_code == 200


def test_rate_limits_can_be_switched_off(sandbox, sandbox_channel, friend):
    sandbox.control.limits_set(rate_limits={"push": (1, 3600)}, rate_limits_enabled=False)
    statuses = {
        push(sandbox, sandbox_channel, friend["userId"], [TEXT]).status_code for _ in range(3)
    }
    assert statuses == {200}


def test_monthly_quota_counts_friends_and_not_replies(sandbox, sandbox_channel, friend):
    control, channel_id = sandbox.control, sandbox_channel.channel_id
    other = control.user_create(channel_id, follow=True)["user"]
    blocked = control.user_create(channel_id, follow=True)["user"]
    control.block(channel_id, blocked["userId"])
    control.quota_set(channel_id, 3)
    quota = api(sandbox, sandbox_channel, "GET", "/v2/bot/message/quota").json()
    assert quota == {"type": "limited", "value": 3}
    to = [friend["userId"], other["userId"], blocked["userId"]]
    multicast = api(
        sandbox,
        sandbox_channel,
        "POST",
        "/v2/bot/message/multicast",
        json={"to": to, "messages": [TEXT, TEXT]},
    )
    assert multicast.status_code == 200
    usage = api(sandbox, sandbox_channel, "GET", "/v2/bot/message/quota/consumption").json()
    assert usage == {"totalUsage": 2}
    token = _reply_token(sandbox, sandbox_channel, friend["userId"])
    reply = api(
        sandbox,
        sandbox_channel,
        "POST",
        "/v2/bot/message/reply",
        json={"replyToken": token, "messages": [TEXT]},
    )
    assert reply.status_code == 200
    assert push(sandbox, sandbox_channel, friend["userId"], [TEXT]).status_code == 200
    over = push(sandbox, sandbox_channel, other["userId"], [TEXT])
    assert over.status_code == 429
    assert over.json()["message"] == "You have reached your monthly limit."


def test_profile_is_404_for_blocked_and_unknown_users(sandbox, sandbox_channel, friend):
    profile = api(sandbox, sandbox_channel, "GET", f"/v2/bot/profile/{friend['userId']}")
    assert profile.status_code == 200
    assert profile.json()["displayName"] == friend["displayName"]
    sandbox.control.block(sandbox_channel.channel_id, friend["userId"])
    assert (
        api(sandbox, sandbox_channel, "GET", f"/v2/bot/profile/{friend['userId']}").status_code
        == 404
    )
    assert api(sandbox, sandbox_channel, "GET", "/v2/bot/profile/U" + "f" * 32).status_code == 404


def test_followers_ids_page_with_start_and_limit(sandbox, sandbox_channel):
    created = {
        sandbox.control.user_create(sandbox_channel.channel_id, follow=True)["user"]["userId"]
        for _ in range(5)
    }
    seen, start = [], None
    while True:
        params = {"limit": 2, **({"start": start} if start else {})}
        page = api(sandbox, sandbox_channel, "GET", "/v2/bot/followers/ids", params=params).json()
        seen += page["userIds"]
        start = page.get("next")
        if not start:
            break
    assert len(seen) == 5 and set(seen) == created


def test_validate_endpoints_check_without_sending(sandbox, sandbox_channel, friend):
    for kind in ("reply", "push", "multicast", "narrowcast", "broadcast"):
        url = f"/v2/bot/message/validate/{kind}"
        ok = api(sandbox, sandbox_channel, "POST", url, json={"messages": [TEXT]})
        assert ok.status_code == 200
        bad = api(sandbox, sandbox_channel, "POST", url, json={"messages": [{"type": "text"}]})
        assert "messages[0].text" in details(bad)
    assert sandbox.control.messages(sandbox_channel.channel_id, friend["userId"]) == []


def test_broadcast_and_narrowcast_progress(sandbox, sandbox_channel, friend):
    broadcast = api(
        sandbox, sandbox_channel, "POST", "/v2/bot/message/broadcast", json={"messages": [TEXT]}
    )
    assert broadcast.status_code == 200
    narrowcast = api(
        sandbox, sandbox_channel, "POST", "/v2/bot/message/narrowcast", json={"messages": [TEXT]}
    )
    assert narrowcast.status_code == 202
    progress = api(
        sandbox,
        sandbox_channel,
        "GET",
        "/v2/bot/message/progress/narrowcast",
        params={"requestId": narrowcast.headers["x-line-request-id"]},
    ).json()
    assert progress["phase"] == "succeeded" and progress["successCount"] == 1
    assert len(sandbox.control.messages(sandbox_channel.channel_id, friend["userId"])) == 2


def test_requests_are_recorded_for_inspection(sandbox, sandbox_channel, friend):
    push(
        sandbox,
        sandbox_channel,
        friend["userId"],
        [TEXT],
        headers={"X-Line-Retry-Key": str(uuid.uuid4())},
    )
    recorded = sandbox.control.requests(endpoint="push")
    assert len(recorded) == 1
    assert recorded[0]["body"]["messages"] == [TEXT]
    assert recorded[0]["status"] == 200
    assert "X-Line-Retry-Key" in recorded[0]["headers"]
    assert "Authorization" not in recorded[0]["headers"]


def test_content_of_a_user_image_can_be_downloaded(sandbox, sandbox_channel, friend):
    sent = sandbox.control.send_image(
        sandbox_channel.channel_id, friend["userId"], b"\xff\xd8jpegdata", "image/jpeg"
    )
    message_id = sent["event"]["message"]["id"]
    response = api(sandbox, sandbox_channel, "GET", f"/v2/bot/message/{message_id}/content")
    assert response.status_code == 200
    assert response.content == b"\xff\xd8jpegdata"
    assert response.headers["Content-Type"] == "image/jpeg"


def test_link_token_is_issued_for_friends(sandbox, sandbox_channel, friend):
    response = api(sandbox, sandbox_channel, "POST", f"/v2/bot/user/{friend['userId']}/linkToken")
    assert response.status_code == 200
    assert response.json()["linkToken"]
