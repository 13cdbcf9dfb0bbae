"""linebot.validation: every message type accepted when valid, and a corpus of broken messages,
each reported at the right JSON path with the right sentence (in English and in Japanese)."""

import copy

import pytest

from linebot.validation import (
    MessageLimits,
    Problem,
    problem_text,
    validate_action,
    validate_messages,
)

IMG = "https://example.com/a.jpg"


def _bubble(*contents, **extra) -> dict:
    return {
        "type": "bubble",
        "body": {"type": "box", "layout": "vertical", "contents": list(contents)},
        **extra,
    }


def _flex(contents: dict) -> dict:
    return {"type": "flex", "altText": "alt", "contents": contents}


POSTBACK = {"type": "postback", "label": "Buy", "data": "buy=1", "displayText": "Buy"}
URI = {"type": "uri", "label": "Open", "uri": "https://example.com/"}
MESSAGE = {"type": "message", "label": "Yes", "text": "yes"}

AREA = {"x": 0, "y": 0, "width": 520, "height": 1040}

EVERY_TYPE = [
    {
        "type": "text",
        "text": "Hi $ there",
        "emojis": [{"index": 3, "productId": "5ac1bfd5040ab15980c9b435", "emojiId": "001"}],
        "quickReply": {
            "items": [
                {"type": "action", "action": MESSAGE},
                {"type": "action", "action": {"type": "camera", "label": "Camera"}},
                {"type": "action", "action": {"type": "cameraRoll", "label": "Roll"}},
                {"type": "action", "action": {"type": "location", "label": "Where"}},
                {
                    "type": "action",
                    "imageUrl": IMG,
                    "action": {
                        "type": "datetimepicker",
                        "label": "When",
                        "data": "d",
                        "mode": "datetime",
                        "initial": "2026-12-24T18:30",
                        "min": "2026-12-01T00:00",
                        "max": "2026-12-31T23:59",
                    },
                },
            ]
        },
        "sender": {"name": "Shop", "iconUrl": IMG},
    },
    {
        "type": "textV2",
        "text": "{smile} Hi {everyone}",
        "substitution": {
            "smile": {"type": "emoji", "productId": "5ac1bfd5040ab15980c9b435", "emojiId": "002"},
            "everyone": {"type": "mention", "mentionee": {"type": "all"}},
        },
    },
    {"type": "sticker", "packageId": "446", "stickerId": "1988"},
    {"type": "image", "originalContentUrl": IMG, "previewImageUrl": IMG},
    {"type": "video", "originalContentUrl": IMG, "previewImageUrl": IMG, "trackingId": "t1"},
    {"type": "audio", "originalContentUrl": IMG, "duration": 60000},
    {"type": "location", "title": "Shop", "address": "Tokyo", "latitude": 35.6, "longitude": 139.7},
    {
        "type": "imagemap",
        "baseUrl": "https://example.com/imagemap",
        "altText": "Menu",
        "baseSize": {"width": 1040, "height": 1040},
        "actions": [
            {"type": "uri", "linkUri": "https://example.com/", "area": AREA},
            {"type": "message", "text": "hello", "area": {**AREA, "x": 520}},
        ],
        "video": {
            "originalContentUrl": IMG,
            "previewImageUrl": IMG,
            "area": AREA,
            "externalLink": {"linkUri": "https://example.com/", "label": "More"},
        },
    },
    {
        "type": "template",
        "altText": "Buttons",
        "template": {
            "type": "buttons",
            "thumbnailImageUrl": IMG,
            "imageAspectRatio": "square",
            "imageSize": "contain",
            "imageBackgroundColor": "#FFFFFF",
            "title": "Menu",
            "text": "Pick one",
            "defaultAction": URI,
            "actions": [
                POSTBACK,
                MESSAGE,
                URI,
                {"type": "clipboard", "label": "Copy", "clipboardText": "CODE10"},
            ],
        },
    },
    {
        "type": "template",
        "altText": "Confirm",
        "template": {"type": "confirm", "text": "Sure?", "actions": [MESSAGE, POSTBACK]},
    },
    {
        "type": "template",
        "altText": "Carousel",
        "template": {
            "type": "carousel",
            "columns": [
                {"thumbnailImageUrl": IMG, "title": "A", "text": "a", "actions": [URI]},
                {"thumbnailImageUrl": IMG, "title": "B", "text": "b", "actions": [POSTBACK]},
            ],
        },
    },
    {
        "type": "template",
        "altText": "Images",
        "template": {
            "type": "image_carousel",
            "columns": [{"imageUrl": IMG, "action": {**URI, "label": "Go"}}],
        },
    },
]

FULL_BUBBLE = {
    "type": "bubble",
    "size": "giga",
    "direction": "ltr",
    "header": {"type": "box", "layout": "vertical", "contents": [{"type": "text", "text": "H"}]},
    "hero": {
        "type": "video",
        "url": "https://example.com/v.mp4",
        "previewUrl": IMG,
        "aspectRatio": "16:9",
        "altContent": {"type": "image", "url": IMG, "size": "full", "aspectRatio": "16:9"},
    },
    "body": {
        "type": "box",
        "layout": "vertical",
        "spacing": "md",
        "paddingAll": "12px",
        "paddingStart": "5%",
        "backgroundColor": "#FFFFFF",
        "borderColor": "#00000080",
        "borderWidth": "semi-bold",
        "cornerRadius": "8px",
        "justifyContent": "space-between",
        "alignItems": "center",
        "background": {
            "type": "linearGradient",
            "angle": "90deg",
            "startColor": "#FFFFFF",
            "endColor": "#000000",
            "centerColor": "#888888",
            "centerPosition": "40%",
        },
        "action": URI,
        "contents": [
            {
                "type": "box",
                "layout": "baseline",
                "spacing": "sm",
                "contents": [
                    {"type": "icon", "url": IMG, "size": "sm", "aspectRatio": "2:1"},
                    {
                        "type": "text",
                        "contents": [
                            {"type": "span", "text": "Big", "size": "xl", "weight": "bold"},
                            {"type": "span", "text": "small", "decoration": "underline"},
                        ],
                    },
                    {"type": "filler", "flex": 1},
                ],
            },
            {
                "type": "image",
                "url": IMG,
                "size": "120px",
                "aspectRatio": "20:13",
                "aspectMode": "cover",
                "animated": True,
                "position": "absolute",
                "offsetTop": "-4px",
                "offsetStart": "10%",
            },
            {"type": "separator", "margin": "xl", "color": "#DDDDDD"},
            {
                "type": "text",
                "text": "Wrapped",
                "wrap": True,
                "maxLines": 3,
                "lineSpacing": "4px",
                "size": "13px",
                "align": "center",
                "gravity": "bottom",
                "adjustMode": "shrink-to-fit",
                "scaling": True,
            },
            {"type": "spacer", "size": "lg"},
            {
                "type": "button",
                "style": "primary",
                "height": "sm",
                "color": "#06C755",
                "gravity": "center",
                "action": POSTBACK,
            },
        ],
    },
    "footer": {"type": "box", "layout": "horizontal", "contents": []},
    "styles": {
        "header": {"backgroundColor": "#EEEEEE"},
        "footer": {"separator": True, "separatorColor": "#CCCCCC"},
    },
}


def test_every_message_type_is_accepted_when_valid():
    for message in EVERY_TYPE:
        assert validate_messages([message]) == [], message["type"]


def test_a_flex_bubble_using_every_component_and_property_is_accepted():
    assert validate_messages([_flex(FULL_BUBBLE)]) == []
    carousel = {"type": "carousel", "contents": [_bubble({"type": "text", "text": "a"})] * 12}
    assert validate_messages([_flex(carousel)]) == []


def _nested_text(uri: str) -> dict:
    return _flex(
        _bubble(
            {"type": "text", "text": "a"},
            {"type": "text", "text": "b"},
            {"type": "button", "action": {"type": "uri", "label": "Open", "uri": uri}},
        )
    )


# (message, path, English sentence) — one broken thing each.
CORPUS = [
    (
        _nested_text("javascript:alert(1)"),
        "messages[0].contents.body.contents[2].action.uri",
        "Must be a URL starting with http://, https://, line:// or tel:.",
    ),
    (
        {"type": "text", "text": "x" * 5001},
        "messages[0].text",
        "Must be at most 5000 characters (UTF-16 code units); got 5001.",
    ),
    (
        {"type": "text", "text": "😀" * 2501},
        "messages[0].text",
        "Must be at most 5000 characters (UTF-16 code units); got 5002.",
    ),
    ({"type": "text"}, "messages[0].text", "Required: every text message needs it."),
    (
        {"type": "fax"},
        "messages[0].type",
        "Must be one of text, textV2, sticker, image, video, audio, location, imagemap, "
        "template, flex; got 'fax'.",
    ),
    (
        {
            "type": "text",
            "text": "no marker",
            "emojis": [{"index": 0, "productId": "p", "emojiId": "001"}],
        },
        "messages[0].emojis[0].index",
        "The text must have a $ at index 0 for this LINE emoji.",
    ),
    (
        {
            "type": "textV2",
            "text": "{friend}",
            "substitution": {"friend": {"type": "mention", "mentionee": {"type": "user"}}},
        },
        "messages[0].substitution.friend.mentionee.userId",
        "Must be a LINE user ID: U followed by 32 hexadecimal digits.",
    ),
    (
        {"type": "textV2", "text": "{a-b}", "substitution": {"a-b": {"type": "sticker"}}},
        "messages[0].substitution.a-b.type",
        "Must be one of emoji, mention; got 'sticker'.",
    ),
    (
        {"type": "image", "originalContentUrl": "http://e.x/a.jpg", "previewImageUrl": IMG},
        "messages[0].originalContentUrl",
        "Must be an https URL.",
    ),
    (
        {
            "type": "image",
            "originalContentUrl": "https://e.x/" + "a" * 2000,
            "previewImageUrl": IMG,
        },
        "messages[0].originalContentUrl",
        "A URL must be at most 2000 characters; got 2012.",
    ),
    (
        {"type": "audio", "originalContentUrl": IMG, "duration": "60s"},
        "messages[0].duration",
        "Must be a whole number.",
    ),
    (
        {"type": "location", "title": "t", "address": "a", "latitude": 91, "longitude": 0},
        "messages[0].latitude",
        "Must be between -90 and 90; got 91.",
    ),
    (
        {"type": "text", "text": "t", "sender": {"name": "LINE Official"}},
        "messages[0].sender.name",
        "A sender name may not contain 'LINE'.",
    ),
    (
        _flex(_bubble({"type": "text", "text": "a", "color": "red"})),
        "messages[0].contents.body.contents[0].color",
        "Must be a colour as #RRGGBB or #RRGGBBAA (for example #06C755).",
    ),
    (
        _flex(_bubble({"type": "text", "text": "a", "size": "huge"})),
        "messages[0].contents.body.contents[0].size",
        "Must be one of xxs, xs, sm, md, lg, xl, xxl, 3xl, 4xl, 5xl, or pixels such as 16px; "
        "got 'huge'.",
    ),
    (
        _flex(_bubble({"type": "text", "text": "a", "margin": "12"})),
        "messages[0].contents.body.contents[0].margin",
        "Must be one of none, xs, sm, md, lg, xl, xxl, or pixels such as 8px; got '12'.",
    ),
    (
        _flex(_bubble({"type": "image", "url": IMG, "aspectRatio": "1:4"})),
        "messages[0].contents.body.contents[0].aspectRatio",
        "The height may be at most three times the width.",
    ),
    (
        _flex(_bubble({"type": "image", "url": IMG, "aspectRatio": "16/9"})),
        "messages[0].contents.body.contents[0].aspectRatio",
        "Must be width:height with numbers from 1 to 100000 (for example 20:13); got '16/9'.",
    ),
    (
        _flex(_bubble({"type": "image"})),
        "messages[0].contents.body.contents[0].url",
        "Required: every image component needs it.",
    ),
    (
        _flex(_bubble({"type": "text", "text": "a", "colour": "#FFFFFF"})),
        "messages[0].contents.body.contents[0].colour",
        "Unknown property: LINE does not accept it here.",
    ),
    (
        _flex(_bubble({"type": "icon", "url": IMG})),
        "messages[0].contents.body.contents[0].type",
        "A component of type icon cannot be placed in a vertical box.",
    ),
    (
        _flex(
            _bubble(
                {
                    "type": "video",
                    "url": IMG,
                    "previewUrl": IMG,
                    "altContent": {"type": "image", "url": IMG},
                }
            )
        ),
        "messages[0].contents.body.contents[0].type",
        "A video component can only be the hero of a bubble.",
    ),
    (
        _flex(_bubble({"type": "box", "layout": "grid", "contents": []})),
        "messages[0].contents.body.contents[0].layout",
        "Must be one of horizontal, vertical, baseline; got 'grid'.",
    ),
    (
        _flex(_bubble({"type": "text"})),
        "messages[0].contents.body.contents[0].text",
        "A text component needs text or spans (contents).",
    ),
    (
        _flex(_bubble({"type": "text", "contents": [{"type": "text", "text": "x"}]})),
        "messages[0].contents.body.contents[0].contents[0].type",
        "A text component's contents may hold only span components.",
    ),
    (
        _flex(_bubble({"type": "button", "action": {"type": "message", "text": "x"}})),
        "messages[0].contents.body.contents[0].action.label",
        "Required for a message action.",
    ),
    (
        _flex(_bubble({"type": "text", "text": "a"}, size="huge")),
        "messages[0].contents.size",
        "Must be one of nano, micro, deca, hecto, kilo, mega, giga; got 'huge'.",
    ),
    (
        _flex({"type": "bubble", "body": {"type": "text", "text": "a"}}),
        "messages[0].contents.body.type",
        "The body of a bubble must be a box component.",
    ),
    (
        _flex({"type": "bubble", "hero": {"type": "text", "text": "a"}}),
        "messages[0].contents.hero.type",
        "The hero of a bubble must be a box, image or video component.",
    ),
    (
        _flex({"type": "box"}),
        "messages[0].contents.type",
        "Must be 'bubble' or 'carousel'; got 'box'.",
    ),
    (
        _flex({"type": "carousel", "contents": [_bubble()] * 13}),
        "messages[0].contents.contents",
        "A carousel holds at most 12 bubbles; got 13.",
    ),
    (
        _flex(_bubble(background={"type": "linearGradient"})),
        "messages[0].contents.background",
        "Unknown property: LINE does not accept it here.",
    ),
    (
        {"type": "flex", "altText": "a" * 1501, "contents": _bubble()},
        "messages[0].altText",
        "Must be at most 1500 characters (UTF-16 code units); got 1501.",
    ),
    (
        {
            "type": "template",
            "altText": "a" * 401,
            "template": {"type": "confirm", "text": "?", "actions": [MESSAGE, MESSAGE]},
        },
        "messages[0].altText",
        "Must be at most 400 characters (UTF-16 code units); got 401.",
    ),
    (
        {
            "type": "template",
            "altText": "a",
            "template": {"type": "confirm", "text": "?", "actions": [MESSAGE]},
        },
        "messages[0].template.actions",
        "Must contain exactly 2 items; got 1.",
    ),
    (
        {
            "type": "template",
            "altText": "a",
            "template": {"type": "buttons", "text": "t", "actions": [MESSAGE] * 5},
        },
        "messages[0].template.actions",
        "Must contain 1 to 4 items; got 5.",
    ),
    (
        {
            "type": "template",
            "altText": "a",
            "template": {"type": "buttons", "title": "T", "text": "x" * 61, "actions": [MESSAGE]},
        },
        "messages[0].template.text",
        "With an image or title the text may be at most 60 characters; got 61.",
    ),
    (
        {
            "type": "template",
            "altText": "a",
            "template": {
                "type": "carousel",
                "columns": [
                    {"text": "a", "actions": [MESSAGE, MESSAGE]},
                    {"text": "b", "actions": [MESSAGE]},
                ],
            },
        },
        "messages[0].template.columns[1].actions",
        "Every carousel column must have the same number of actions (the first has 2).",
    ),
    (
        {
            "type": "template",
            "altText": "a",
            "template": {
                "type": "buttons",
                "text": "t",
                "actions": [{"type": "camera", "label": "c"}],
            },
        },
        "messages[0].template.actions[0].type",
        "An action of type camera cannot be used here.",
    ),
    (
        {
            "type": "template",
            "altText": "a",
            "template": {
                "type": "image_carousel",
                "columns": [{"imageUrl": IMG, "action": {**URI, "label": "Thirteen chars"}}],
            },
        },
        "messages[0].template.columns[0].action.label",
        "Must be at most 12 characters (UTF-16 code units); got 14.",
    ),
    (
        {
            "type": "imagemap",
            "baseUrl": "https://e.x/m",
            "altText": "m",
            "baseSize": {"width": 1000, "height": 1000},
            "actions": [
                {"type": "message", "text": "x", "area": {"x": 0, "y": 0, "width": 1, "height": 1}}
            ],
        },
        "messages[0].baseSize.width",
        "An imagemap's base width must be 1040.",
    ),
    (
        {
            "type": "imagemap",
            "baseUrl": "https://e.x/m",
            "altText": "m",
            "baseSize": {"width": 1040, "height": 1040},
            "actions": [
                {
                    "type": "uri",
                    "linkUri": "ftp://e.x/",
                    "area": {"x": 0, "y": 0, "width": 1, "height": 1},
                }
            ],
        },
        "messages[0].actions[0].linkUri",
        "Must be a URL starting with http://, https://, line:// or tel:.",
    ),
    (
        {
            "type": "text",
            "text": "t",
            "quickReply": {
                "items": [{"type": "action", "action": {"type": "postback", "label": "go"}}]
            },
        },
        "messages[0].quickReply.items[0].action.data",
        "Required for a postback action.",
    ),
    (
        {
            "type": "text",
            "text": "t",
            "quickReply": {
                "items": [
                    {
                        "type": "action",
                        "action": {
                            "type": "datetimepicker",
                            "label": "When",
                            "data": "d",
                            "mode": "date",
                            "initial": "24/12/2026",
                        },
                    }
                ]
            },
        },
        "messages[0].quickReply.items[0].action.initial",
        "Must be a date written as 2026-12-24; got '24/12/2026'.",
    ),
    (
        {
            "type": "text",
            "text": "t",
            "quickReply": {
                "items": [
                    {
                        "type": "action",
                        "action": {
                            "type": "richmenuswitch",
                            "label": "x",
                            "data": "d",
                            "richMenuAliasId": "a",
                        },
                    }
                ]
            },
        },
        "messages[0].quickReply.items[0].action.type",
        "An action of type richmenuswitch cannot be used here.",
    ),
    (
        {
            "type": "text",
            "text": "t",
            "quickReply": {"items": [{"type": "action", "action": MESSAGE}] * 14},
        },
        "messages[0].quickReply.items",
        "Must contain 1 to 13 items; got 14.",
    ),
    (
        _flex(_bubble(*[{"type": "image", "url": IMG, "animated": True}] * 11)),
        "messages[0].contents",
        "At most 10 animated images are allowed in one message; got 11.",
    ),
]


@pytest.mark.parametrize(("message", "path", "sentence"), CORPUS, ids=[c[1] for c in CORPUS])
def test_each_broken_message_gets_its_path_and_sentence(message, path, sentence):
    assert Problem(path, sentence) in validate_messages([message])


def test_one_mistake_is_one_problem():
    """A marketer fixes what is listed: a single mistake must not produce a cascade."""
    for message, path, _sentence in CORPUS:
        problems = validate_messages([message])
        assert [p.path for p in problems].count(path) == 1, path


def test_the_bubble_size_limit_counts_bytes_of_json():
    big = _flex(_bubble({"type": "text", "text": "あ" * 11000}))
    problems = validate_messages([big])
    assert problems[0].path == "messages[0].contents"
    assert problems[0].message.startswith("A bubble must be at most 30720 bytes of JSON")


def test_six_messages_are_too_many():
    problems = validate_messages([{"type": "text", "text": "a"}] * 6)
    assert problems == [Problem("messages", "Must contain at most 5 messages.")]


def test_limits_can_be_changed():
    limits = MessageLimits(quick_reply_max_items=1)
    message = {
        "type": "text",
        "text": "t",
        "quickReply": {"items": [{"type": "action", "action": MESSAGE}] * 2},
    }
    assert validate_messages([message], limits=limits)[0].path == "messages[0].quickReply.items"


def test_rich_menu_actions_allow_richmenuswitch_without_a_label():
    action = {"type": "richmenuswitch", "richMenuAliasId": "page-2", "data": "to=2"}
    assert validate_action(action, path="areas[0].action") == []
    assert validate_action({**action, "richMenuAliasId": "x" * 33}, path="a")[0].path == (
        "a.richMenuAliasId"
    )
    assert validate_action(action, path="a", context="template")[0].path == "a.type"


def test_the_input_is_never_changed():
    message = copy.deepcopy(FULL_BUBBLE)
    validate_messages([_flex(message)])
    assert message == FULL_BUBBLE


def test_sentences_are_translated_at_display_time():
    problem = validate_messages([_nested_text("javascript:x")])[0]
    assert problem_text(problem, "en") == problem.message
    japanese = problem_text(problem, "ja")
    assert japanese  # the Japanese catalogue may still lack it; then English shows
    long = validate_messages([{"type": "text", "text": "x" * 5001}])[0]
    assert "5000" in problem_text(long, "ja") and "5001" in problem_text(long, "ja")


def test_every_valid_message_type_is_also_drawn_by_the_preview():
    from linebot.preview import render_messages

    for message in [*EVERY_TYPE, _flex(FULL_BUBBLE)]:
        html = str(render_messages([message]))
        assert "lp-unsupported" not in html, message["type"]
        assert f"lp-message-{message['type']}" in html


def test_a_translation_with_wrong_placeholders_falls_back_to_english(monkeypatch):
    from django.utils import translation

    problem = validate_messages([{"type": "text", "text": "x" * 5001}])[0]
    monkeypatch.setattr(translation, "gettext", lambda text: "%(nope)s")
    assert problem_text(problem) == problem.message
