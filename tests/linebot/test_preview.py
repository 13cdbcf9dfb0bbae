"""The HTML preview of LINE messages: what a friend would see, escaped, and never an error."""

import copy
import json
import os
import random
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from linebot.preview import (
    PREVIEW_CSS_PATH,
    preview_css,
    render_flex,
    render_message,
    render_messages,
)
from linebot.preview.__main__ import main as preview_main

IMG = "https://example.com/img"

PRODUCT_CARD = {
    "type": "bubble",
    "hero": {
        "type": "image",
        "url": f"{IMG}/coffee.png",
        "size": "full",
        "aspectRatio": "20:13",
        "aspectMode": "cover",
        "action": {"type": "uri", "label": "Open", "uri": "https://example.com/coffee"},
    },
    "body": {
        "type": "box",
        "layout": "vertical",
        "contents": [
            {"type": "text", "text": "Brown Cafe", "weight": "bold", "size": "xl"},
            {
                "type": "box",
                "layout": "baseline",
                "margin": "md",
                "contents": [
                    *[{"type": "icon", "size": "sm", "url": f"{IMG}/star.png"} for _ in range(4)],
                    {"type": "icon", "size": "sm", "url": f"{IMG}/star-grey.png"},
                    {
                        "type": "text",
                        "text": "4.0",
                        "size": "sm",
                        "color": "#999999",
                        "margin": "md",
                        "flex": 0,
                    },
                ],
            },
            {
                "type": "box",
                "layout": "vertical",
                "margin": "lg",
                "spacing": "sm",
                "contents": [
                    {
                        "type": "box",
                        "layout": "baseline",
                        "spacing": "sm",
                        "contents": [
                            {
                                "type": "text",
                                "text": "Place",
                                "color": "#aaaaaa",
                                "size": "sm",
                                "flex": 1,
                            },
                            {
                                "type": "text",
                                "text": "Flex Tower, 7-7-4 Midori-ku, Tokyo",
                                "wrap": True,
                                "color": "#666666",
                                "size": "sm",
                                "flex": 5,
                            },
                        ],
                    },
                    {
                        "type": "box",
                        "layout": "baseline",
                        "spacing": "sm",
                        "contents": [
                            {
                                "type": "text",
                                "text": "Time",
                                "color": "#aaaaaa",
                                "size": "sm",
                                "flex": 1,
                            },
                            {
                                "type": "text",
                                "text": "10:00 - 23:00",
                                "wrap": True,
                                "color": "#666666",
                                "size": "sm",
                                "flex": 5,
                            },
                        ],
                    },
                ],
            },
        ],
    },
    "footer": {
        "type": "box",
        "layout": "vertical",
        "spacing": "sm",
        "contents": [
            {
                "type": "button",
                "style": "link",
                "height": "sm",
                "action": {"type": "uri", "label": "CALL", "uri": "tel:0312345678"},
            },
            {
                "type": "button",
                "style": "primary",
                "height": "sm",
                "action": {"type": "postback", "label": "Reserve", "data": "reserve=1"},
            },
        ],
    },
}


def _receipt_row(name: str, price: str, *, bold: bool = False) -> dict:
    weight = "bold" if bold else "regular"
    return {
        "type": "box",
        "layout": "horizontal",
        "contents": [
            {"type": "text", "text": name, "size": "sm", "color": "#555555", "flex": 0},
            {"type": "text", "text": price, "size": "sm", "align": "end", "weight": weight},
        ],
    }


RECEIPT = {
    "type": "bubble",
    "styles": {"footer": {"separator": True}},
    "body": {
        "type": "box",
        "layout": "vertical",
        "contents": [
            {"type": "text", "text": "RECEIPT", "weight": "bold", "color": "#1DB446", "size": "sm"},
            {"type": "text", "text": "LINE Store", "weight": "bold", "size": "xxl", "margin": "md"},
            {
                "type": "text",
                "text": "Flex Tower, 7-7-4 Midori-ku, Tokyo",
                "size": "xs",
                "color": "#aaaaaa",
                "wrap": True,
            },
            {"type": "separator", "margin": "xxl"},
            {
                "type": "box",
                "layout": "vertical",
                "margin": "xxl",
                "spacing": "sm",
                "contents": [
                    _receipt_row("Energy Drink", "¥290"),
                    _receipt_row("Chewing Gum", "¥99"),
                    _receipt_row("Bottled Water", "¥120"),
                    {"type": "separator", "margin": "xxl"},
                    _receipt_row("TOTAL", "¥509", bold=True),
                ],
            },
            {
                "type": "box",
                "layout": "horizontal",
                "margin": "md",
                "contents": [
                    {"type": "text", "text": "PAYMENT ID", "size": "xs", "color": "#aaaaaa"},
                    {"type": "text", "text": "#743289384279", "size": "xs", "align": "end"},
                ],
            },
        ],
    },
    "footer": {
        "type": "box",
        "layout": "vertical",
        "contents": [
            {
                "type": "text",
                "text": "Thank you!",
                "align": "center",
                "style": "italic",
                "color": "#888888",
            }
        ],
    },
}


def _carousel_bubble(index: int, size: str = "micro") -> dict:
    return {
        "type": "bubble",
        "size": size,
        "hero": {
            "type": "image",
            "url": f"{IMG}/item{index}.png",
            "size": "full",
            "aspectMode": "cover",
            "aspectRatio": "320:213",
        },
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "sm",
            "paddingAll": "13px",
            "contents": [
                {"type": "text", "text": f"Item {index}", "weight": "bold", "size": "sm"},
                {
                    "type": "text",
                    "text": f"¥{index * 1000:,}",
                    "size": "xs",
                    "decoration": "line-through",
                    "color": "#aaaaaa",
                },
                {
                    "type": "box",
                    "layout": "vertical",
                    "position": "absolute",
                    "offsetTop": "8px",
                    "offsetEnd": "8px",
                    "cornerRadius": "xl",
                    "backgroundColor": "#ff334b",
                    "paddingAll": "2px",
                    "contents": [
                        {"type": "text", "text": "SALE", "size": "xxs", "color": "#ffffff"}
                    ],
                },
            ],
        },
    }


CAROUSEL = {"type": "carousel", "contents": [_carousel_bubble(i) for i in range(1, 4)]}

EVERY_MESSAGE_TYPE = [
    {
        "type": "text",
        "text": "Hello $ friend\nsecond line https://example.com/x",
        "emojis": [{"index": 6, "productId": "5ac1bfd5040ab15980c9b435", "emojiId": "001"}],
    },
    {
        "type": "textV2",
        "text": "Hi {user}! {smile}",
        "substitution": {
            "user": {"type": "mention", "mentionee": {"type": "all"}},
            "smile": {"type": "emoji", "productId": "5ac1bfd5040ab15980c9b435", "emojiId": "002"},
        },
    },
    {"type": "sticker", "packageId": "446", "stickerId": "1988"},
    {"type": "image", "originalContentUrl": f"{IMG}/full.jpg", "previewImageUrl": f"{IMG}/p.jpg"},
    {"type": "video", "originalContentUrl": f"{IMG}/v.mp4", "previewImageUrl": f"{IMG}/v.jpg"},
    {"type": "audio", "originalContentUrl": f"{IMG}/a.m4a", "duration": 65000},
    {
        "type": "location",
        "title": "LINE Corp",
        "address": "Tokyo",
        "latitude": 35.6,
        "longitude": 139.7,
    },
    {
        "type": "imagemap",
        "baseUrl": f"{IMG}/map",
        "altText": "Imagemap",
        "baseSize": {"width": 1040, "height": 520},
        "actions": [
            {
                "type": "uri",
                "linkUri": "https://example.com/left",
                "area": {"x": 0, "y": 0, "width": 520, "height": 520},
            },
            {
                "type": "message",
                "text": "right",
                "label": "Right",
                "area": {"x": 520, "y": 0, "width": 520, "height": 520},
            },
        ],
    },
    {
        "type": "template",
        "altText": "Buttons",
        "template": {
            "type": "buttons",
            "thumbnailImageUrl": f"{IMG}/t.jpg",
            "title": "Menu",
            "text": "Please select",
            "actions": [
                {"type": "postback", "label": "Buy", "data": "action=buy&itemid=123"},
                {"type": "uri", "label": "View detail", "uri": "https://example.com/page/123"},
            ],
        },
    },
    {
        "type": "template",
        "altText": "Confirm",
        "template": {
            "type": "confirm",
            "text": "Are you sure?",
            "actions": [
                {"type": "message", "label": "Yes", "text": "yes"},
                {"type": "message", "label": "No", "text": "no"},
            ],
        },
    },
    {
        "type": "template",
        "altText": "Carousel",
        "template": {
            "type": "carousel",
            "columns": [
                {
                    "title": f"Column {i}",
                    "text": "desc",
                    "thumbnailImageUrl": f"{IMG}/c{i}.jpg",
                    "defaultAction": {"type": "uri", "uri": f"https://example.com/c{i}"},
                    "actions": [{"type": "message", "label": "Pick", "text": f"pick {i}"}],
                }
                for i in range(3)
            ],
        },
    },
    {
        "type": "template",
        "altText": "Images",
        "template": {
            "type": "image_carousel",
            "columns": [
                {
                    "imageUrl": f"{IMG}/ic{i}.jpg",
                    "action": {"type": "postback", "label": f"Image {i}", "data": f"i={i}"},
                }
                for i in range(2)
            ],
        },
    },
    {"type": "flex", "altText": "Product", "contents": PRODUCT_CARD},
    {"type": "flex", "altText": "Receipt", "contents": RECEIPT},
    {
        "type": "flex",
        "altText": "Carousel",
        "contents": CAROUSEL,
        "quickReply": {
            "items": [
                {
                    "type": "action",
                    "imageUrl": f"{IMG}/sushi.png",
                    "action": {"type": "message", "label": "Sushi", "text": "Sushi"},
                },
                {"type": "action", "action": {"type": "camera", "label": "Camera"}},
                {"type": "action", "action": {"type": "location", "label": "Location"}},
            ]
        },
    },
    {"type": "file", "fileName": "report.pdf", "fileSize": 1536000},
]


class _Tree(HTMLParser):
    """Parses preview HTML into (tag, attrs) pairs and checks that every element is closed."""

    VOID = {"img", "br"}

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.open: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.elements.append((tag, dict(attrs)))
        if tag not in self.VOID:
            if tag == "a":
                assert "a" not in self.open, "links must not nest"
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> _Tree:
    tree = _Tree()
    tree.feed(html)
    tree.close()
    assert not tree.open, f"unclosed elements: {tree.open}"
    return tree


def find(tree: _Tree, tag: str, css_class: str | None = None) -> list[dict]:
    return [
        attrs
        for name, attrs in tree.elements
        if name == tag and (css_class is None or css_class in (attrs.get("class") or "").split())
    ]


def actions(tree: _Tree) -> list[dict]:
    return [
        json.loads(attrs["data-action"]) for _, attrs in tree.elements if "data-action" in attrs
    ]


def test_every_message_type_renders_as_well_formed_html_without_errors():
    html = render_messages(EVERY_MESSAGE_TYPE)
    tree = parse(html)
    assert "lp-unsupported" not in html
    assert len(find(tree, "div", "lp-message")) == len(EVERY_MESSAGE_TYPE)


def test_text_keeps_line_breaks_links_urls_and_shows_emojis():
    tree = parse(render_message(EVERY_MESSAGE_TYPE[0]))
    assert "".join(tree.text) == "Hello  friendsecond line https://example.com/x"
    assert find(tree, "br")
    [link] = find(tree, "a", "lp-link")
    assert link["href"] == "https://example.com/x"
    assert link["rel"] == "noopener noreferrer"
    [emoji] = find(tree, "img", "lp-emoji")
    assert emoji["src"].endswith("/sticon/5ac1bfd5040ab15980c9b435/android/001.png")


def test_emoji_index_counts_utf16_units_like_line():
    html = render_message(
        {"type": "text", "text": "😀$", "emojis": [{"index": 2, "productId": "p", "emojiId": "1"}]}
    )
    assert "/sticon/p/android/1.png" in html


def test_emoji_index_not_on_a_dollar_sign_is_ignored():
    message = {"type": "text", "text": "ab", "emojis": [{"index": 1, "productId": "p"}]}
    assert "lp-emoji" not in render_message(message)


def test_received_text_shows_emojis_and_mentions_by_index_and_length():
    message = {
        "type": "text",
        "text": "@Brown hello (love) world",
        "emojis": [{"index": 13, "length": 6, "productId": "p1", "emojiId": "e1"}],
        "mention": {"mentionees": [{"index": 0, "length": 6, "type": "user", "userId": "U1"}]},
    }
    tree = parse(render_message(message))
    assert find(tree, "img", "lp-emoji")[0]["src"].endswith("/sticon/p1/android/e1.png")
    assert "(love)" not in tree.text
    assert find(tree, "span", "lp-mention")
    assert "".join(tree.text) == "@Brown hello  world"


@pytest.mark.parametrize(
    "emojis",
    [
        [{"index": 99, "length": 1, "productId": "p", "emojiId": "e"}],
        [{"index": 0, "length": -3, "productId": "p", "emojiId": "e"}],
        [{"index": 0, "length": 50, "productId": "p", "emojiId": "e"}],
        [{"index": "0", "productId": "p", "emojiId": "e"}],
    ],
)
def test_emoji_positions_outside_the_text_are_ignored(emojis):
    html = render_message({"type": "text", "text": "$ab", "emojis": emojis})
    assert "lp-emoji" not in html


def test_overlapping_emojis_show_once():
    emojis = [
        {"index": 0, "length": 4, "productId": "p", "emojiId": "a"},
        {"index": 2, "length": 2, "productId": "p", "emojiId": "b"},
    ]
    html = render_message({"type": "text", "text": "abcdef", "emojis": emojis})
    assert html.count("lp-emoji") == 1
    assert "ef" in html


def test_text_v2_substitutes_mentions_and_emojis():
    tree = parse(render_message(EVERY_MESSAGE_TYPE[1]))
    assert "@All" in "".join(tree.text)
    assert find(tree, "img", "lp-emoji")


def test_sticker_has_cdn_image_and_alt_text():
    [img] = find(parse(render_message(EVERY_MESSAGE_TYPE[2])), "img")
    assert img["src"] == (
        "https://stickershop.line-scdn.net/stickershop/v1/sticker/1988/android/sticker.png"
    )
    assert img["alt"] == "Sticker 446/1988"


def test_image_shows_preview_and_links_to_original():
    tree = parse(render_message(EVERY_MESSAGE_TYPE[3]))
    assert find(tree, "img")[0]["src"] == f"{IMG}/p.jpg"
    assert find(tree, "a")[0]["href"] == f"{IMG}/full.jpg"


def test_received_image_stored_at_line_shows_a_placeholder():
    message = {"type": "image", "id": "1", "contentProvider": {"type": "line"}}
    assert "lp-media-missing" in render_message(message)


def test_media_stored_by_the_host_wins_over_line_content_and_may_be_a_site_path():
    message = {
        "type": "image",
        "contentProvider": {"type": "line"},
        "previewImageUrl": "/media/messages/1.jpg",
        "originalContentUrl": "/media/messages/1.jpg",
    }
    tree = parse(render_message(message))
    assert find(tree, "img")[0]["src"] == "/media/messages/1.jpg"
    assert find(tree, "a")[0]["href"] == "/media/messages/1.jpg"


def test_protocol_relative_and_other_scheme_media_are_not_loaded():
    for url in ("//evil.example/x.png", "data:image/png;base64,AAAA", "javascript:alert(1)"):
        html = render_message({"type": "image", "previewImageUrl": url, "originalContentUrl": url})
        assert "lp-media-missing" in html
        assert url not in html


def test_received_external_content_uses_the_provider_urls():
    provider = {"type": "external", "previewImageUrl": f"{IMG}/ext.jpg"}
    html = render_message({"type": "image", "contentProvider": provider})
    assert f'src="{IMG}/ext.jpg"' in html


def test_audio_and_file_link_to_their_content_when_stored():
    audio = {"type": "audio", "duration": 3000, "originalContentUrl": "/media/a.m4a"}
    assert find(parse(render_message(audio)), "a", "lp-audio")[0]["href"] == "/media/a.m4a"
    file = {"type": "file", "fileName": "a.pdf", "fileSize": 10, "originalContentUrl": "/media/a"}
    assert find(parse(render_message(file)), "a", "lp-file")[0]["href"] == "/media/a"


def test_sent_messages_are_marked_for_the_senders_side():
    html = render_message({"type": "text", "text": "hi"}, sent=True)
    assert "lp-sent" in find(parse(html), "div", "lp-message")[0]["class"]
    assert "lp-sent" not in render_message({"type": "text", "text": "hi"})
    assert ".lp-sent .lp-balloon" in preview_css()


def test_video_shows_preview_with_play_glyph():
    tree = parse(render_message(EVERY_MESSAGE_TYPE[4]))
    assert find(tree, "img")[0]["src"] == f"{IMG}/v.jpg"
    assert find(tree, "span", "lp-play")


def test_audio_shows_duration_as_minutes_and_seconds():
    assert ">1:05<" in render_message(EVERY_MESSAGE_TYPE[5])


def test_location_shows_title_and_address():
    text = "".join(parse(render_message(EVERY_MESSAGE_TYPE[6])).text)
    assert "LINE Corp" in text
    assert "Tokyo" in text


def test_imagemap_uses_1040_image_and_scales_areas_from_base_size():
    tree = parse(render_message(EVERY_MESSAGE_TYPE[7]))
    assert find(tree, "img")[0]["src"] == f"{IMG}/map/1040"
    left, right = find(tree, "a", "lp-imagemap-area")
    assert "left:0.000%;top:0.000%;width:50.000%;height:100.000%" in left["style"]
    assert "left:50.000%" in right["style"]
    assert left["href"] == "https://example.com/left"
    assert json.loads(right["data-action"]) == {
        "type": "message",
        "label": "Right",
        "text": "right",
    }


def test_buttons_template_shows_thumbnail_title_text_and_actions():
    tree = parse(render_message(EVERY_MESSAGE_TYPE[8]))
    assert find(tree, "img")[0]["src"] == f"{IMG}/t.jpg"
    assert {"Menu", "Please select", "Buy", "View detail"} <= set(tree.text)
    buy, detail = actions(tree)
    assert buy == {"type": "postback", "label": "Buy", "data": "action=buy&itemid=123"}
    assert detail["uri"] == "https://example.com/page/123"


def test_confirm_template_shows_two_actions():
    tree = parse(render_message(EVERY_MESSAGE_TYPE[9]))
    assert [a["label"] for a in actions(tree)] == ["Yes", "No"]


def test_template_carousel_has_one_card_per_column_linked_by_its_default_action():
    tree = parse(render_message(EVERY_MESSAGE_TYPE[10]))  # the parser rejects nested links
    cards = find(tree, "a", "lp-card")
    assert [card["href"] for card in cards] == [f"https://example.com/c{i}" for i in range(3)]
    assert [a["label"] for a in actions(tree) if a["type"] == "message"] == ["Pick"] * 3


def test_image_carousel_has_labelled_images():
    tree = parse(render_message(EVERY_MESSAGE_TYPE[11]))
    assert len(find(tree, "a", "lp-image-column")) == 2
    assert "Image 1" in tree.text


def test_flex_carousel_has_one_bubble_per_content_and_scrolls_sideways():
    tree = parse(render_flex(CAROUSEL))
    assert len(find(tree, "div", "lp-bubble")) == 3
    assert find(tree, "div", "lp-carousel")
    css = preview_css()
    carousel_rule = css[css.index("\n.lp-carousel {") :].split("}")[0]
    assert "overflow-x: auto" in carousel_rule
    assert "scroll-snap-type: x mandatory" in carousel_rule


def test_quick_reply_renders_chips_with_labels_and_icons():
    tree = parse(render_message(EVERY_MESSAGE_TYPE[14]))
    chips = find(tree, "a", "lp-chip")
    assert len(chips) == 3
    assert {"Sushi", "Camera", "Location"} <= set(tree.text)
    assert find(tree, "img", "lp-chip-icon")[0]["src"] == f"{IMG}/sushi.png"


def test_only_the_last_message_of_a_chat_shows_its_quick_reply():
    quick = {
        "items": [{"type": "action", "action": {"type": "message", "label": "Hi", "text": "hi"}}]
    }
    first = {"type": "text", "text": "one", "quickReply": quick}
    last = {"type": "text", "text": "two", "quickReply": quick}
    assert render_messages([first, last]).count("lp-quickreply") == 1
    assert render_messages([last, {"type": "text", "text": "three"}]).count("lp-quickreply") == 0
    assert "lp-quickreply" in render_message(first)


def test_flex_message_alt_text_is_its_tooltip_and_render_flex_takes_the_message_too():
    message = {"type": "flex", "altText": "Your receipt", "contents": RECEIPT}
    assert find(parse(render_message(message)), "div", "lp-flex")[0]["title"] == "Your receipt"
    assert render_flex(message) == render_flex(RECEIPT)


@pytest.mark.parametrize(
    ("action", "payload"),
    [
        (
            {"type": "postback", "label": "L", "data": "a=1", "displayText": "D", "x": "y"},
            {"type": "postback", "label": "L", "data": "a=1", "displayText": "D"},
        ),
        (
            {
                "type": "datetimepicker",
                "label": "When",
                "data": "d",
                "mode": "date",
                "min": "2020-01-01",
            },
            {
                "type": "datetimepicker",
                "label": "When",
                "data": "d",
                "mode": "date",
                "min": "2020-01-01",
            },
        ),
        (
            {"type": "richmenuswitch", "richMenuAliasId": "b", "data": "s"},
            {"type": "richmenuswitch", "data": "s", "richMenuAliasId": "b"},
        ),
        (
            {"type": "clipboard", "label": "Copy", "clipboardText": "CODE1"},
            {"type": "clipboard", "label": "Copy", "clipboardText": "CODE1"},
        ),
        (
            {"type": "message", "label": "Say", "text": "hello", "onclick": "alert(1)"},
            {"type": "message", "label": "Say", "text": "hello"},
        ),
    ],
)
def test_actions_expose_their_payload_to_host_pages(action, payload):
    html = render_flex(
        {
            "type": "bubble",
            "body": {
                "type": "box",
                "layout": "vertical",
                "contents": [{"type": "button", "action": action}],
            },
        }
    )
    [attrs] = [attrs for _, attrs in parse(html).elements if "data-action" in attrs]
    assert json.loads(attrs["data-action"]) == payload
    assert attrs["role"] == "button" and attrs["tabindex"] == "0"


def test_file_shows_name_and_human_size():
    text = "".join(parse(render_message(EVERY_MESSAGE_TYPE[15])).text)
    assert "report.pdf" in text
    assert "1.5 MB" in text


def test_sender_name_and_icon_shown_above_the_message():
    message = {"type": "text", "text": "hi", "sender": {"name": "Cony", "iconUrl": f"{IMG}/c"}}
    tree = parse(render_message(message))
    assert "Cony" in tree.text
    assert find(tree, "img", "lp-sender-icon")


# Flex layout


def test_flex_ratios_become_css_flex_in_horizontal_boxes():
    html = render_flex(PRODUCT_CARD)
    assert "flex:1 0 0" in html
    assert "flex:5 0 0" in html


def test_flex_defaults_differ_between_horizontal_and_vertical_boxes():
    box = {
        "type": "bubble",
        "body": {
            "type": "box",
            "layout": "vertical",
            "contents": [
                {"type": "text", "text": "v"},
                {"type": "text", "text": "v2", "flex": 2},
                {
                    "type": "box",
                    "layout": "horizontal",
                    "contents": [
                        {"type": "text", "text": "h"},
                        {"type": "text", "text": "h0", "flex": 0},
                    ],
                },
            ],
        },
    }
    tree = parse(render_flex(box))
    flex = [attrs["style"].split(";")[0] for attrs in find(tree, "div", "lp-text")]
    # Vertical boxes: default 0, N grows the height. Horizontal: default 1, N shares the width.
    assert flex == ["flex:0 0 auto", "flex:2 0 auto", "flex:1 0 0", "flex:0 0 auto"]


def test_spacing_and_margin_keywords_use_line_pixel_values():
    bubble = {
        "type": "bubble",
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "lg",
            "contents": [
                {"type": "text", "text": "first"},
                {"type": "text", "text": "second"},
                {"type": "text", "text": "third", "margin": "xxl"},
                {"type": "text", "text": "fourth", "margin": "7px"},
            ],
        },
    }
    texts = [a["style"] for a in find(parse(render_flex(bubble)), "div", "lp-text")]
    assert "margin-top" not in texts[0]
    assert "margin-top:12px" in texts[1]
    assert "margin-top:20px" in texts[2]
    assert "margin-top:7px" in texts[3]


def test_horizontal_spacing_uses_the_start_side_so_rtl_mirrors_it():
    bubble = {
        "type": "bubble",
        "direction": "rtl",
        "body": {
            "type": "box",
            "layout": "horizontal",
            "spacing": "md",
            "contents": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
        },
    }
    tree = parse(render_flex(bubble))
    assert find(tree, "div", "lp-bubble")[0]["dir"] == "rtl"
    assert "margin-inline-start:8px" in find(tree, "div", "lp-text")[1]["style"]


@pytest.mark.parametrize("size", ["nano", "micro", "deca", "hecto", "kilo", "mega", "giga"])
def test_bubble_sizes_have_line_widths(size):
    widths = {
        "nano": 120,
        "micro": 160,
        "deca": 220,
        "hecto": 241,
        "kilo": 260,
        "mega": 300,
        "giga": 500,
    }
    html = render_flex(
        {
            "type": "bubble",
            "size": size,
            "body": {"type": "box", "layout": "vertical", "contents": []},
        }
    )
    assert f"lp-size-{size}" in html
    if size != "mega":
        rule = preview_css().split(f".lp-size-{size} {{")[1].split("}")[0]
        assert f"--lp-bubble-width: {widths[size]}px" in rule


def test_box_styles_padding_border_corner_and_position():
    box = {
        "type": "box",
        "layout": "horizontal",
        "position": "absolute",
        "offsetTop": "10px",
        "offsetStart": "md",
        "paddingAll": "lg",
        "paddingStart": "5%",
        "backgroundColor": "#ff0000cc",
        "borderWidth": "semi-bold",
        "borderColor": "#00ff00",
        "cornerRadius": "xxl",
        "width": "50%",
        "maxHeight": "80px",
        "justifyContent": "space-between",
        "alignItems": "center",
        "contents": [],
    }
    bubble = {"type": "bubble", "body": {"type": "box", "layout": "vertical", "contents": [box]}}
    style = find(parse(render_flex(bubble)), "div", "lp-horizontal")[0]["style"]
    for expected in (
        "position:absolute",
        "top:10px",
        "inset-inline-start:8px",
        "padding:12px",
        "padding-inline-start:5%",
        "background-color:#ff0000cc",
        "border-width:3px",
        "border-style:solid",
        "border-color:#00ff00",
        "border-radius:20px",
        "width:50%",
        "max-height:80px",
        "justify-content:space-between",
        "align-items:center",
    ):
        assert expected in style


def test_linear_gradient_background():
    box = {
        "type": "box",
        "layout": "vertical",
        "contents": [],
        "background": {
            "type": "linearGradient",
            "angle": "90deg",
            "startColor": "#ff0000",
            "centerColor": "#00ff00",
            "centerPosition": "30%",
            "endColor": "#0000ff",
        },
    }
    html = render_flex({"type": "bubble", "body": box})
    assert "linear-gradient(90deg, #ff0000 0%, #00ff00 30%, #0000ff 100%)" in html


def test_text_styles_and_spans():
    component = {
        "type": "text",
        "text": "ignored when spans exist",
        "size": "3xl",
        "weight": "bold",
        "color": "#123456",
        "style": "italic",
        "decoration": "underline",
        "align": "end",
        "gravity": "center",
        "wrap": True,
        "maxLines": 2,
        "lineSpacing": "6px",
        "contents": [
            {"type": "span", "text": "Big ", "size": "xl", "color": "#ff0000"},
            {"type": "span", "text": "<small>", "size": "10px", "decoration": "line-through"},
        ],
    }
    html = render_flex(
        {"type": "bubble", "body": {"type": "box", "layout": "vertical", "contents": [component]}}
    )
    tree = parse(html)
    [text] = find(tree, "div", "lp-text")
    assert "lp-wrap" in text["class"]
    for expected in (
        "font-size:35px",
        "font-weight:bold",
        "color:#123456",
        "font-style:italic",
        "text-decoration:underline",
        "text-align:end",
        "justify-content:center",
    ):
        assert expected in text["style"]
    [paragraph] = find(tree, "p")
    assert "-webkit-line-clamp:2" in paragraph["style"]
    assert "line-height:calc(1.4em + 6px)" in paragraph["style"]
    assert tree.text == ["Big ", "<small>"]
    assert "font-size:22px;color:#ff0000" in html
    assert "text-decoration:line-through" in html


def test_image_size_ratio_mode_and_background():
    image = {
        "type": "image",
        "url": f"{IMG}/x.png",
        "size": "xl",
        "aspectRatio": "16:9",
        "aspectMode": "cover",
        "backgroundColor": "#eeeeee",
        "align": "start",
        "animated": True,
    }
    tree = parse(render_flex({"type": "bubble", "hero": image}))
    frame = find(tree, "div", "lp-image-frame")[0]["style"]
    assert "width:140px" in frame
    assert "aspect-ratio:16 / 9" in frame
    assert "background-color:#eeeeee" in frame
    assert find(tree, "img")[0]["style"] == "object-fit:cover"
    assert "lp-animated" in find(tree, "div", "lp-image")[0]["class"]
    assert "align-items:flex-start" in find(tree, "div", "lp-image")[0]["style"]


def test_image_pixel_and_percent_sizes():
    html = render_flex({"type": "bubble", "hero": {"type": "image", "url": IMG, "size": "45%"}})
    assert "width:45%" in html
    html = render_flex({"type": "bubble", "hero": {"type": "image", "url": IMG, "size": "87px"}})
    assert "width:87px" in html


def test_icon_in_baseline_box_is_sized_by_keyword_and_aspect_ratio():
    bubble = {
        "type": "bubble",
        "body": {
            "type": "box",
            "layout": "baseline",
            "contents": [
                {"type": "icon", "url": f"{IMG}/i.png", "size": "lg", "aspectRatio": "2:1"},
                {"type": "text", "text": "label"},
            ],
        },
    }
    tree = parse(render_flex(bubble))
    assert find(tree, "div", "lp-baseline")
    icon = find(tree, "div", "lp-icon")[0]
    assert "font-size:19px" in icon["style"]
    assert "width:2em;height:1em" in find(tree, "img")[0]["style"]


def test_buttons_have_style_color_height_and_action():
    bubble = {
        "type": "bubble",
        "footer": {
            "type": "box",
            "layout": "horizontal",
            "contents": [
                {
                    "type": "button",
                    "style": "primary",
                    "color": "#905c44",
                    "height": "sm",
                    "action": {"type": "message", "label": "Buy", "text": "buy"},
                },
                {
                    "type": "button",
                    "style": "link",
                    "color": "#ff0000",
                    "action": {"type": "uri", "label": "Site", "uri": "https://example.com"},
                },
            ],
        },
    }
    tree = parse(render_flex(bubble))
    primary, link = find(tree, "div", "lp-button")
    assert "lp-button-primary" in primary["class"] and "lp-button-sm" in primary["class"]
    assert "lp-button-link" in link["class"] and "lp-button-md" in link["class"]
    buy, site = find(tree, "a", "lp-action")
    assert buy["style"] == "background-color:#905c44"
    assert buy["role"] == "button"
    assert site["style"] == "color:#ff0000"
    assert site["href"] == "https://example.com"
    assert {"Buy", "Site"} <= set(tree.text)


def test_separator_color_and_block_styles():
    bubble = {
        "type": "bubble",
        "styles": {
            "header": {"backgroundColor": "#000000"},
            "body": {"separator": True, "separatorColor": "#ff00ff"},
        },
        "header": {
            "type": "box",
            "layout": "vertical",
            "contents": [{"type": "separator", "color": "#abcdef"}],
        },
        "body": {"type": "box", "layout": "vertical", "contents": [{"type": "filler", "flex": 2}]},
    }
    tree = parse(render_flex(bubble))
    header, body = find(tree, "div", "lp-block")
    assert header["style"] == "background-color:#000000"
    assert body["style"] == "border-top:1px solid #ff00ff"
    assert "border-color:#abcdef" in find(tree, "div", "lp-separator")[0]["style"]
    assert "flex:2 0 auto" in find(tree, "div", "lp-filler")[0]["style"]


def test_hero_video_shows_preview_or_alt_content():
    video = {
        "type": "video",
        "url": f"{IMG}/v.mp4",
        "previewUrl": f"{IMG}/v.png",
        "aspectRatio": "20:13",
        "altContent": {"type": "image", "url": f"{IMG}/alt.png"},
    }
    tree = parse(render_flex({"type": "bubble", "hero": video}))
    assert find(tree, "img")[0]["src"] == f"{IMG}/v.png"
    assert "aspect-ratio:20 / 13" in find(tree, "div", "lp-flex-video")[0]["style"]
    del video["previewUrl"]
    assert f"{IMG}/alt.png" in render_flex({"type": "bubble", "hero": video})


def test_bubble_action_makes_one_link_and_no_nested_links():
    bubble = copy.deepcopy(PRODUCT_CARD)
    bubble["action"] = {"type": "uri", "uri": "https://example.com/bubble"}
    tree = parse(render_flex(bubble))  # the parser asserts links never nest
    [link] = find(tree, "a")
    assert link["href"] == "https://example.com/bubble"
    assert len(actions(tree)) == 4  # bubble, hero, two buttons: all still report taps


# Hostile input

HOSTILE = "\"><script>alert(1)</script>{{ x }}'; background:url(x)"


def test_hostile_text_everywhere_is_escaped():
    messages = copy.deepcopy(EVERY_MESSAGE_TYPE)

    def poison(value):
        if isinstance(value, dict):
            return {
                key: poison(v) if key not in ("type", "layout") else v for key, v in value.items()
            }
        if isinstance(value, list):
            return [poison(v) for v in value]
        if isinstance(value, str):
            return value + HOSTILE
        return value

    html = render_messages(poison(messages))
    parse(html)
    assert "<script" not in html
    assert "&lt;script&gt;" in html
    assert "{{ x }}" in html  # shown literally: the output is never a template


def test_hostile_css_values_are_dropped_not_emitted():
    box = {
        "type": "box",
        "layout": "vertical",
        "backgroundColor": "red;position:fixed;inset:0",
        "width": "100px;z-index:9",
        "cornerRadius": "expression(alert(1))",
        "contents": [
            {"type": "text", "text": "x", "color": '#fff" onmouseover="alert(1)', "size": "1e9px"},
            {"type": "image", "url": "javascript:alert(1)", "aspectRatio": "1:0"},
        ],
    }
    html = render_flex({"type": "bubble", "body": box})
    tree = parse(html)
    assert "fixed" not in html and "z-index" not in html and "expression" not in html
    assert "onmouseover" not in [key for _, attrs in tree.elements for key in attrs]
    assert "javascript" not in html
    assert "aspect-ratio:1 / 1" in html


@pytest.mark.parametrize(
    "uri",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:x",
        "https://ok.example/\njavascript:alert(1)",
    ],
)
def test_unsafe_uri_actions_never_become_links(uri):
    message = {
        "type": "template",
        "altText": "x",
        "template": {
            "type": "buttons",
            "text": "t",
            "actions": [{"type": "uri", "label": "Go", "uri": uri}],
        },
    }
    tree = parse(render_message(message))
    [link] = find(tree, "a", "lp-card-action")
    assert "href" not in link
    assert "uri" not in json.loads(link["data-action"])


@pytest.mark.parametrize(
    "uri", ["https://example.com/a?b=c", "http://x.test", "line://nv/chat", "tel:0120"]
)
def test_safe_uri_actions_become_links(uri):
    html = render_flex(
        {
            "type": "bubble",
            "body": {
                "type": "box",
                "layout": "vertical",
                "contents": [
                    {"type": "button", "action": {"type": "uri", "label": "Go", "uri": uri}}
                ],
            },
        }
    )
    [link] = find(parse(html), "a")
    assert link["href"] == uri


def test_text_links_never_carry_other_schemes():
    html = render_message({"type": "text", "text": "javascript:alert(1) and https://ok.example"})
    tree = parse(html)
    assert [a["href"] for a in find(tree, "a")] == ["https://ok.example"]


def test_very_long_strings_render_whole_and_escaped():
    long_text = "<b>" * 5000
    html = render_message({"type": "text", "text": long_text})
    assert html.count("&lt;b&gt;") == 5000


def test_emoji_ids_cannot_break_out_of_the_url_path():
    message = {
        "type": "text",
        "text": "$",
        "emojis": [{"index": 0, "productId": "../../evil", "emojiId": 'x" onerror="alert(1)'}],
    }
    html = render_message(message)
    assert "evil" not in html and "onerror" not in html


@pytest.mark.parametrize(
    "message",
    [
        {"type": "coupon", "couponId": "x"},
        {"type": "<b>bold</b>"},
        {},
        {"type": None},
        {"type": "flex", "contents": {"type": "bubblegum"}},
        {"type": "flex", "contents": None},
        {"type": "template", "template": {"type": "nope"}},
        {
            "type": "flex",
            "contents": {
                "type": "bubble",
                "body": {"type": "box", "contents": [{"type": "weird"}]},
            },
        },
    ],
)
def test_unknown_types_render_a_neutral_placeholder(message):
    html = render_message(message)
    parse(html)
    assert "lp-unsupported" in html
    assert "lp-error" not in html
    assert "<b>" not in html


@pytest.mark.parametrize("value", [None, 1, "text", [], ["x", None, 3], {"a": 1}])
def test_render_messages_accepts_anything(value):
    parse(render_messages(value))


def test_partial_and_mistyped_fields_never_fail():
    """Shuffle field values between all samples: every renderer must cope with any JSON type."""
    samples = EVERY_MESSAGE_TYPE
    leaves = [None, True, 0, -5, 2.5, "", "x", "md", "#fff", "12px", [], {}, [{}], {"type": "box"}]
    randomizer = random.Random(1234)  # noqa: S311 - a seeded fuzzer, not a secret

    def mutate(value):
        if isinstance(value, dict):
            return {
                key: (randomizer.choice(leaves) if randomizer.random() < 0.25 else mutate(v))
                for key, v in value.items()
                if randomizer.random() > 0.1
            }
        if isinstance(value, list):
            return [mutate(v) for v in value]
        return value

    for _ in range(200):
        message = mutate(randomizer.choice(samples))
        html = render_message(message)
        parse(html)
        assert "lp-error" not in html, message


def test_deeply_nested_boxes_do_not_take_the_page_down():
    box: dict = {"type": "text", "text": "deep"}
    for _ in range(5000):
        box = {"type": "box", "layout": "vertical", "contents": [box]}
    bubble = {"type": "bubble", "body": box}
    html = render_messages(
        [{"type": "flex", "contents": bubble}, {"type": "text", "text": "after"}]
    )
    assert "after" in html
    assert "lp-error" in render_flex(bubble)


# Stylesheet


def test_stylesheet_is_available_without_staticfiles():
    css = preview_css()
    assert PREVIEW_CSS_PATH.name == "preview.css"
    assert css == PREVIEW_CSS_PATH.read_text(encoding="utf-8")
    assert "#8cabd9" in css


def test_every_class_in_the_stylesheet_and_output_is_prefixed():
    classes = set(re.findall(r"\.([a-zA-Z][\w-]*)", re.sub(r"\d+\.\d+", "", preview_css())))
    assert classes and all(name.startswith("lp-") for name in classes), classes
    tree = parse(render_messages(EVERY_MESSAGE_TYPE))
    used = {name for _, attrs in tree.elements for name in (attrs.get("class") or "").split()}
    assert all(name.startswith("lp-") for name in used)


def test_command_writes_a_standalone_script_free_page(tmp_path):
    request = tmp_path / "push.json"
    request.write_text(json.dumps({"to": "U1", "messages": [{"type": "text", "text": "<hi>"}]}))
    output = tmp_path / "page.html"
    preview_main([str(request), "-o", str(output)])
    html = output.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>")
    assert preview_css() in html
    assert "&lt;hi&gt;" in html
    assert "<script" not in html


def test_command_accepts_a_bare_flex_container(tmp_path, capsys):
    container = tmp_path / "bubble.json"
    container.write_text(json.dumps(RECEIPT))
    preview_main([str(container)])
    assert "LINE Store" in capsys.readouterr().out


def test_renderer_needs_no_django():
    """The standalone sandbox imports the renderer without Django settings."""
    code = (
        "import sys; from linebot.preview import render_messages, preview_css;"
        "render_messages([{'type': 'text', 'text': 'x'}]); preview_css();"
        "assert 'django' not in sys.modules, 'django imported'"
    )
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=Path(__file__).parents[2], env=env, capture_output=True
    )
    assert result.returncode == 0, result.stderr.decode()
