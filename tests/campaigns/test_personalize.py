"""campaigns.personalize: variables filled inside string values only, escaped, re-validated."""

import json

import pytest

from campaigns.flex_library import STARTERS
from campaigns.personalize import (
    member_context,
    personalize,
    personalize_for_member,
    sample_context,
    template_variables,
    variable_problems,
)
from linebot.preview import render_messages
from linebot.validation import utf16_length, validate_messages
from members.models import Member
from tests.factories import ChannelFactory

HOSTILE_VALUES = [
    'Robert"); DROP TABLE members;--',
    'say "hi" \\ and \\"quote\\"',
    "}} {{ member.points }} {{",
    "<script>alert(1)</script><b>bold</b>",
    "😀🎉👨‍👩‍👧 家族",
    "\n\t\u0000\u2028",
    "x" * 6000,
    "$",
]


def _context(**data) -> dict:
    return {
        "member": {"display_name": "Hanako", "points": 1200, "rank": "Gold"},
        "attributes": {"shop": "Shibuya"},
        "data": data,
    }


def test_variables_are_replaced_inside_strings_and_keys_are_left_alone():
    messages = [
        {
            "type": "text",
            "text": "Hi {{ member.display_name }}, {{member.points}} pt ({{ member.rank }})",
        },
        {"type": "text", "text": '{{ attributes.shop }} / {{ attributes.missing | default:"-" }}'},
    ]
    result = personalize(messages, context=_context())
    assert result[0]["text"] == "Hi Hanako, 1,200 pt (Gold)"
    assert result[1]["text"] == "Shibuya / -"
    assert messages[0]["text"].startswith("Hi {{")  # the template itself is unchanged


def test_a_missing_value_without_default_is_empty_for_members_and_named_in_previews():
    messages = [{"type": "text", "text": "Your order {{ data.order }}."}]
    assert personalize(messages, context=_context())[0]["text"] == "Your order ."
    preview = personalize(messages, context=sample_context())
    assert preview[0]["text"] == "Your order [data.order]."


def test_defaults_may_hold_escaped_quotes():
    messages = [{"type": "text", "text": '{{ data.x | default:"say \\"hi\\"" }}'}]
    assert personalize(messages, context=_context())[0]["text"] == 'say "hi"'


@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=range(len(HOSTILE_VALUES)))
def test_hostile_values_keep_the_json_valid_and_are_not_interpreted(value):
    flex = STARTERS[0].message  # product card: text, image, uri button
    messages = [
        {"type": "text", "text": "Hi {{ data.name }}!"},
        json.loads(json.dumps(flex)),
    ]
    result = personalize(
        messages, context=_context(name=value, product_name=value, product_url="https://e.x/p")
    )
    # Still JSON that round-trips, and the value is one plain string, never re-scanned.
    assert json.loads(json.dumps(result)) == result
    assert result[0]["text"] == f"Hi {value}!"
    title = result[1]["contents"]["body"]["contents"][0]["text"]
    assert title == value
    # The preview escapes it.
    html = str(render_messages(result))
    assert "<script>" not in html
    # A too-long value is caught by validating again, at the path of its string.
    problems = validate_messages(result)
    if utf16_length(f"Hi {value}!") > 5000:
        assert "messages[0].text" in {p.path for p in problems}


def test_values_inside_urls_are_percent_encoded_and_a_leading_url_is_kept():
    messages = [
        {
            "type": "template",
            "altText": "a",
            "template": {
                "type": "buttons",
                "text": "t",
                "actions": [
                    {
                        "type": "uri",
                        "label": "Go",
                        "uri": "https://shop.example/?name={{ member.display_name }}&x=1",
                    },
                    {"type": "uri", "label": "Item", "uri": "{{ data.url }}"},
                    {
                        "type": "uri",
                        "label": "Pts",
                        "uri": "https://s.example/?p={{ member.points }}",
                    },
                ],
            },
        }
    ]
    context = _context(url="https://shop.example/items/1?a=b")
    context["member"]["display_name"] = 'A&B "x" /?#'
    actions = personalize(messages, context=context)[0]["template"]["actions"]
    assert actions[0]["uri"] == "https://shop.example/?name=A%26B%20%22x%22%20%2F%3F%23&x=1"
    assert actions[1]["uri"] == "https://shop.example/items/1?a=b"
    assert actions[2]["uri"] == "https://s.example/?p=1200"  # no thousands separator in URLs
    assert validate_messages(personalize(messages, context=context)) == []


def test_emoji_indexes_move_with_the_substituted_text():
    messages = [
        {
            "type": "text",
            "text": "{{ member.display_name }} $ and $",
            "emojis": [
                {"index": 26, "productId": "p", "emojiId": "001"},
                {"index": 32, "productId": "p", "emojiId": "002"},
            ],
        }
    ]
    assert validate_messages(messages) == []
    context = _context()
    context["member"]["display_name"] = "😀 $ Ann"
    result = personalize(messages, context=context)[0]
    assert result["text"] == "😀 $ Ann $ and $"
    # 😀 counts two UTF-16 units: the markers sit at 9 and 15; the $ from the name is no emoji.
    assert [emoji["index"] for emoji in result["emojis"]] == [9, 15]
    assert validate_messages([result]) == []


def test_unknown_and_malformed_variables_are_reported_with_paths():
    messages = [
        {"type": "text", "text": "{{ member.password }} {{ user.name }} {{ data.x | upper }}"},
        {"type": "text", "text": "{{ member.points }}"},
    ]
    problems = variable_problems(messages)
    assert [p.path for p in problems] == ["messages[0].text"] * 3
    assert "member.password" in problems[0].message
    assert "user.name" in problems[1].message
    assert "{{ data.x | upper }}" in problems[2].message
    assert template_variables(messages) == ["member.password", "user.name", "member.points"]


@pytest.mark.django_db
def test_personalize_for_member_uses_their_data_and_validates_the_result():
    channel = ChannelFactory()
    member = Member.objects.create(
        channel=channel,
        line_user_id="U" + "c" * 32,
        display_name="Ken",
        points=30,
        rank="silver",
        attributes={"shop": "Umeda"},
    )
    assert member_context(member)["member"]["points"] == 30
    messages = [
        {"type": "text", "text": "{{ member.display_name }} {{ attributes.shop }} {{ data.item }}"},
        {"type": "text", "text": "{{ data.missing }}"},
    ]
    rendered, problems = personalize_for_member(messages, member=member, data={"item": "Tea"})
    assert rendered[0]["text"] == "Ken Umeda Tea"
    # The second message is empty for this member: LINE would refuse it, and we say where.
    assert [p.path for p in problems] == ["messages[1].text"]


def test_every_starter_design_is_valid_as_a_preview_and_for_a_member_with_data():
    for starter in STARTERS:
        assert variable_problems([starter.message]) == [], starter.key
        assert validate_messages(personalize([starter.message], context=sample_context())) == []
        full = _context(
            order_number="A-1",
            item_name="Tea",
            item_price="500",
            total="500",
            date="12/24",
            time="18:00",
            reservation_id="r1",
        )
        assert validate_messages(personalize([starter.message], context=full)) == [], starter.key
