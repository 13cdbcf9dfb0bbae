"""Simulated LINE users act in the sandbox; real signed webhooks reach the live app over HTTP,
a real worker handles them, and the member, the conversation and the replies show the result."""

import pytest

from campaigns.models import AutoReply, AutoReplyTrigger, MatchType
from linebot.models import WebhookEvent, WebhookEventStatus
from members.models import FriendStatus, Member, Message
from tests.conftest import wait_for

pytestmark = [pytest.mark.worker]


def member_of(line_app, user_id):
    return Member.objects.filter(channel=line_app.channel, line_user_id=user_id).first()


def test_a_new_friend_becomes_a_member_with_their_line_profile(line_app):
    user_id = line_app.user(displayName="佐藤 花子", language="ja")

    member = wait_for(
        lambda: Member.objects.filter(line_user_id=user_id, display_name="佐藤 花子").first()
    )

    assert member.friend_status == FriendStatus.FRIEND
    assert member.followed_at is not None and member.language == "ja"
    assert WebhookEvent.objects.get(event_type="follow").status == WebhookEventStatus.DONE


def test_block_and_unblock_are_recorded_with_their_times(line_app):
    user_id = line_app.user(displayName="Ken")
    channel_id = line_app.channel.channel_id
    wait_for(lambda: member_of(line_app, user_id))

    line_app.control.block(channel_id, user_id)
    blocked = wait_for(
        lambda: Member.objects.filter(line_user_id=user_id, friend_status="blocked").first()
    )
    assert blocked.blocked_at is not None

    line_app.control.unblock(channel_id, user_id)
    friend = wait_for(
        lambda: Member.objects.filter(
            line_user_id=user_id, friend_status="friend", followed_at__gt=blocked.blocked_at
        ).first()
    )
    assert friend.first_followed_at < friend.followed_at


def test_what_a_member_sends_is_in_their_conversation(line_app):
    user_id = line_app.user(displayName="Aki")
    channel_id = line_app.channel.channel_id
    line_app.control.send_text(channel_id, user_id, "こんにちは <b>")
    line_app.control.send_sticker(channel_id, user_id, "446", "1988")
    line_app.control.send_location(
        channel_id, user_id, title="Shibuya", address="Tokyo", latitude=35.66, longitude=139.7
    )
    line_app.control.postback(channel_id, user_id, "action=coupon&id=7")

    messages = wait_for(
        lambda: (
            list(Message.objects.filter(member__line_user_id=user_id)) or None
            if Message.objects.filter(member__line_user_id=user_id).count() == 4
            else None
        )
    )

    assert [m.text for m in messages] == [
        "こんにちは <b>",
        "[Sticker]",
        "[Location] Shibuya Tokyo",
        "[Postback] action=coupon&id=7",
    ]
    assert all(m.direction == "in" and m.source == "user" for m in messages)


def test_an_image_is_downloaded_and_kept(line_app):
    user_id = line_app.user(displayName="Mio")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    line_app.control.send_image(line_app.channel.channel_id, user_id, png, "image/png")

    message = wait_for(
        lambda: (
            Message.objects.filter(member__line_user_id=user_id, message_type="image")
            .exclude(content="")
            .first()
        )
    )

    assert message.content_type == "image/png"
    with message.content.open("rb") as stored:
        assert stored.read() == png


def test_an_unsent_message_disappears_from_the_conversation(line_app):
    user_id = line_app.user(displayName="Rin")
    channel_id = line_app.channel.channel_id
    sent = line_app.control.send_text(channel_id, user_id, "oops, wrong chat")
    message = wait_for(lambda: Message.objects.filter(text="oops, wrong chat").first())

    line_app.control.unsend(channel_id, user_id, sent["event"]["message"]["id"])

    hidden = wait_for(
        lambda: Message.objects.filter(pk=message.pk, unsent_at__isnull=False).first()
    )
    assert hidden.text == "" and "oops" not in str(hidden.payload)
    assert not Message.objects.visible().filter(pk=message.pk).exists()


def test_a_redelivered_event_has_no_second_effect(line_app):
    user_id = line_app.user(displayName="Yui")
    channel_id = line_app.channel.channel_id
    sent = line_app.control.send_text(channel_id, user_id, "once")
    wait_for(lambda: Message.objects.filter(text="once").exists())

    again = line_app.control.redeliver(channel_id, sent["event"]["webhookEventId"])

    assert again["delivery"]["statusCode"] == 200
    wait_for(lambda: False, timeout=1.0)
    assert Message.objects.filter(text="once").count() == 1
    assert (
        WebhookEvent.objects.filter(webhook_event_id=sent["event"]["webhookEventId"]).count() == 1
    )


def test_welcome_and_keyword_replies_reach_the_user(line_app):
    welcome = [{"type": "text", "text": "友だち追加ありがとうございます！"}]
    AutoReply.objects.create(
        channel=line_app.channel, name="Welcome", trigger=AutoReplyTrigger.WELCOME, messages=welcome
    )
    AutoReply.objects.create(
        channel=line_app.channel,
        name="Hours",
        trigger=AutoReplyTrigger.KEYWORD,
        match_type=MatchType.CONTAINS,
        keywords="営業時間\nopening hours",
        messages=[{"type": "text", "text": "10:00-20:00 です"}],
    )
    user_id = line_app.user(displayName="Sora")
    channel_id = line_app.channel.channel_id
    line_app.control.send_text(channel_id, user_id, "営業時間を教えて")

    received = wait_for(
        lambda: (
            [m for m in line_app.control.messages(channel_id, user_id)]
            if len(line_app.control.messages(channel_id, user_id)) >= 2
            else None
        )
    )

    texts = [item["message"]["text"] for item in received]
    assert texts == ["友だち追加ありがとうございます！", "10:00-20:00 です"]
    replies = wait_for(
        lambda: (
            list(Message.objects.filter(source="auto_reply", status="sent"))
            if Message.objects.filter(source="auto_reply", status="sent").count() == 2
            else None
        )
    )
    assert {m.text for m in replies} == {"友だち追加ありがとうございます！", "10:00-20:00 です"}
    # Both answered in time: by reply (free), not by push.
    assert line_app.control.requests(endpoint="push") == []
