"""linebot.validation: problems with JSON paths, as the sandbox and the app report them."""

from linebot.validation import MessageLimits, Problem, utf16_length, validate_messages


def test_utf16_length_counts_astral_characters_twice():
    assert utf16_length("a") == 1
    assert utf16_length("あ") == 1
    assert utf16_length("😀") == 2


def test_valid_messages_have_no_problems():
    messages = [
        {"type": "text", "text": "hi"},
        {"type": "sticker", "packageId": "446", "stickerId": "1988"},
        {
            "type": "image",
            "originalContentUrl": "https://e.x/a.jpg",
            "previewImageUrl": "https://e.x/p.jpg",
        },
        {"type": "location", "title": "t", "address": "a", "latitude": 1.0, "longitude": 2.0},
    ]
    assert validate_messages(messages) == []


def test_a_nested_flex_action_is_named_by_its_json_path():
    bubble = {
        "type": "bubble",
        "body": {
            "type": "box",
            "layout": "vertical",
            "contents": [
                {"type": "text", "text": "a"},
                {"type": "text", "text": "b"},
                {"type": "button", "action": {"type": "uri", "label": "Open"}},
            ],
        },
    }
    problems = validate_messages([{"type": "flex", "altText": "x", "contents": bubble}])
    assert problems == [
        Problem("messages[0].contents.body.contents[2].action.uri", "Required for a uri action.")
    ]


def test_the_path_prefix_and_limits_can_be_given():
    problems = validate_messages(
        [{"type": "text", "text": "abc"}],
        path="template.messages",
        limits=MessageLimits(text_max_length=2),
    )
    assert [p.path for p in problems] == ["template.messages[0].text"]
    assert "at most 2" in problems[0].message


def test_not_a_list_and_empty_list():
    assert validate_messages({"type": "text"})[0].path == "messages"
    assert validate_messages([])[0].message == "Must contain at least one message."


def test_template_actions_and_https_thumbnail():
    template = {
        "type": "buttons",
        "text": "t",
        "thumbnailImageUrl": "http://e.x/t.jpg",
        "actions": [{"type": "postback", "label": "a"}],
    }
    problems = validate_messages([{"type": "template", "altText": "a", "template": template}])
    assert {p.path for p in problems} == {
        "messages[0].template.thumbnailImageUrl",
        "messages[0].template.actions[0].data",
    }
