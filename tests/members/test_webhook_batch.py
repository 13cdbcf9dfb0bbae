"""A webhook request of many users and event types is handled as one batch: members read and
created at once, messages written in one insert, rules read once; one bad event fails alone,
and a redelivered batch changes nothing."""

import datetime as dt
import json
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.models import AutoReply, AutoReplyTrigger, MatchType
from linebot.models import WebhookEvent, WebhookEventStatus
from linebot.signature import signature_create
from linebot.webhook import webhook_events_handle_batch
from members.models import FriendStatus, Member, Message
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db
T0 = 1_790_000_000_000


def user(name: str) -> str:
    return "U" + name.encode().hex().ljust(32, "0")[:32]


class Events:
    """Builds LINE webhook events in the shape of ``shared/line-openapi/webhook.yml``."""

    def __init__(self, t0: int = T0):
        self.t0 = t0
        self.serial = 0

    def __call__(self, kind: str, user_id: str | None, **extra) -> dict:
        self.serial += 1
        event = {
            "type": kind,
            "mode": "active",
            "timestamp": self.t0 + self.serial * 1000,
            "webhookEventId": f"01HBATCH{self.serial:018d}",
            "deliveryContext": {"isRedelivery": False},
            "source": {"type": "user", "userId": user_id},
        }
        if kind in ("message", "follow", "postback"):
            event["replyToken"] = f"{self.serial:032d}"
        event.update(extra)
        return event

    def text(self, user_id: str, text: str) -> dict:
        return self(
            "message", user_id, message={"type": "text", "id": str(self.serial), "text": text}
        )


def post(client, channel, events: list[dict]):
    body = json.dumps({"destination": channel.bot_user_id or None, "events": events}).encode()
    return client.post(
        f"/line/webhook/{channel.webhook_key}/",
        body,
        content_type="application/json",
        headers={
            "x-line-signature": signature_create(channel_secret=channel.channel_secret, body=body)
        },
    )


def receive(client, channel, events, capture) -> list[int]:
    """Post the request as LINE would and return the stored events' ids (one task's batch)."""
    with capture():
        assert post(client, channel, events).status_code == 200
    return list(
        WebhookEvent.objects.filter(
            webhook_event_id__in=[event["webhookEventId"] for event in events]
        )
        .order_by("id")
        .values_list("id", flat=True)
    )


def test_one_request_of_many_users_and_types_is_handled_and_a_bad_event_fails_alone(
    client, django_capture_on_commit_callbacks
):
    channel = ChannelFactory()
    known = Member.objects.create(
        channel=channel,
        line_user_id=user("known"),
        friend_status=FriendStatus.FRIEND,
        followed_at=timezone.now() - dt.timedelta(days=30),
    )
    leaving = Member.objects.create(
        channel=channel, line_user_id=user("leaving"), friend_status=FriendStatus.FRIEND
    )
    e = Events()
    broken = e("message", user("broken"))  # a message event without its message
    events = [
        e("follow", user("new")),
        e.text(user("chatty"), "こんにちは"),
        e.text(known.line_user_id, "again"),
        e(
            "message",
            user("sticker"),
            message={"type": "sticker", "id": "s1", "packageId": "446", "stickerId": "1988"},
        ),
        broken,
        e("postback", user("sticker"), postback={"data": "action=coupon&id=7"}),
        e("unfollow", leaving.line_user_id),
        e("follow", user("flaky")),
        e("unfollow", user("flaky")),  # follows, then blocks, in one request: blocked
        e.text(None, "from a group") | {"source": {"type": "group", "groupId": "C" + "0" * 32}},
        e("somethingNew", user("chatty")),
    ]
    ids = receive(client, channel, events, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks():
        handled = webhook_events_handle_batch(ids)

    assert len(handled) == len(events)
    statuses = dict(WebhookEvent.objects.values_list("webhook_event_id", "status"))
    assert statuses.pop(broken["webhookEventId"]) == WebhookEventStatus.FAILED
    assert statuses.pop(events[-1]["webhookEventId"]) == WebhookEventStatus.IGNORED
    assert set(statuses.values()) == {WebhookEventStatus.DONE}
    failed = WebhookEvent.objects.get(status=WebhookEventStatus.FAILED)
    assert "KeyError" in failed.error and "message" in failed.error
    assert failed.attempts == 1

    members = dict(Member.objects.values_list("line_user_id", "friend_status"))
    assert members == {
        user("new"): FriendStatus.FRIEND,
        user("chatty"): FriendStatus.UNKNOWN,
        known.line_user_id: FriendStatus.FRIEND,
        user("sticker"): FriendStatus.UNKNOWN,
        leaving.line_user_id: FriendStatus.BLOCKED,
        user("flaky"): FriendStatus.BLOCKED,
    }  # nothing of the broken event's user was left half-written
    log = list(Message.objects.order_by("created_at").values_list("member__line_user_id", "text"))
    assert log == [
        (user("chatty"), "こんにちは"),
        (known.line_user_id, "again"),
        (user("sticker"), "[Sticker]"),
        (user("sticker"), "[Postback] action=coupon&id=7"),
    ]

    # Staff fix the payload and retry: it is handled like any other event.
    failed.payload["message"] = {"type": "text", "id": "9", "text": "fixed"}
    failed.save()
    WebhookEvent.objects.filter(pk=failed.pk).update(status=WebhookEventStatus.PENDING)
    with django_capture_on_commit_callbacks():
        webhook_events_handle_batch([failed.pk])
    failed.refresh_from_db()
    assert failed.status == WebhookEventStatus.DONE and failed.attempts == 2
    assert Message.objects.get(text="fixed").member.line_user_id == user("broken")


def test_a_redelivered_batch_has_no_second_effect(client, django_capture_on_commit_callbacks):
    channel = ChannelFactory()
    AutoReply.objects.create(
        channel=channel,
        name="Hours",
        trigger=AutoReplyTrigger.KEYWORD,
        match_type=MatchType.CONTAINS,
        keywords="hours",
        messages=[{"type": "text", "text": "10:00-20:00"}],
    )
    e = Events()
    events = [e.text(user(f"u{n}"), "opening hours?") for n in range(8)]
    events.append(
        e(
            "message",
            user("u0"),
            message={"type": "image", "id": "i1", "contentProvider": {"type": "line"}},
        )
    )
    ids = receive(client, channel, events, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks() as first:
        webhook_events_handle_batch(ids)
    assert Message.objects.count() == 9
    assert len(first) == 9  # 8 auto-replies and 1 content download, after commit

    # LINE redelivers the whole request: nothing new is stored or queued.
    for event in events:
        event["deliveryContext"]["isRedelivery"] = True
    with django_capture_on_commit_callbacks() as queued:
        assert post(client, channel, events).status_code == 200
    assert queued == [] and WebhookEvent.objects.count() == 9

    # Even handled again (say a retry of rows already done): no row, reply or download twice.
    WebhookEvent.objects.update(status=WebhookEventStatus.PENDING)
    with django_capture_on_commit_callbacks() as second:
        webhook_events_handle_batch(ids)
    assert second == []
    assert Message.objects.count() == 9
    assert set(WebhookEvent.objects.values_list("status", "attempts")) == {
        (WebhookEventStatus.DONE, 2)
    }


def test_welcome_and_keyword_rules_are_read_once_per_batch(
    client, django_capture_on_commit_callbacks
):
    channel = ChannelFactory()
    welcome = AutoReply.objects.create(
        channel=channel,
        name="Welcome",
        trigger=AutoReplyTrigger.WELCOME,
        messages=[{"type": "text", "text": "ようこそ"}],
    )
    AutoReply.objects.create(
        channel=channel,
        name="Hours",
        trigger=AutoReplyTrigger.KEYWORD,
        match_type=MatchType.CONTAINS,
        keywords="営業時間",
        messages=[{"type": "text", "text": "10:00-20:00 です"}],
    )
    e = Events()
    events = [e("follow", user(f"f{n}")) for n in range(3)]
    events += [e.text(user(f"k{n}"), "営業時間を教えて") for n in range(5)]
    events += [e.text(user(f"o{n}"), "hello") for n in range(4)]
    ids = receive(client, channel, events, django_capture_on_commit_callbacks)

    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks() as after_commit,
    ):
        webhook_events_handle_batch(ids)

    rule_reads = [q for q in queries.captured_queries if '"campaigns_autoreply"' in q["sql"]]
    assert len(rule_reads) == 1  # the channel's rules once: not per event or trigger
    # One profile task for the 3 new friends, 3 welcomes, 5 keyword answers, none for "hello".
    assert len(after_commit) == 1 + 3 + 5
    assert welcome.pk  # the rule the welcomes use
    assert Member.objects.filter(friend_status=FriendStatus.FRIEND).count() == 3


def test_statements_per_batch_do_not_grow_with_its_events(
    client, django_capture_on_commit_callbacks
):
    channel = ChannelFactory()
    e = Events()
    counts = []
    for size in (10, 30):
        users = [user(f"s{n}") for n in range(size)]
        # First sight creates the members; the second batch of the same users is the steady state.
        for _round in range(2):
            ids = receive(
                client,
                channel,
                [e.text(u, "hi") for u in users],
                django_capture_on_commit_callbacks,
            )
            with CaptureQueriesContext(connection) as queries:
                webhook_events_handle_batch(ids)
        counts.append(len(queries.captured_queries))

    assert counts[0] == counts[1] <= 10
    assert Message.objects.count() == 2 * (10 + 30)


@pytest.mark.worker
def test_a_request_of_many_users_is_handled_by_the_worker_and_auto_replies_reach_them(line_app):
    """A signed request of several users' events, posted over HTTP to the live app like LINE's,
    handled by the real worker: the conversation, the bad event failing alone, and the keyword
    answers (by push: these reply tokens were never issued) reaching each user who asked."""
    import urllib.request

    from tests.conftest import wait_for

    channel, control = line_app.channel, line_app.control
    AutoReply.objects.create(
        channel=channel,
        name="Hours",
        trigger=AutoReplyTrigger.KEYWORD,
        match_type=MatchType.CONTAINS,
        keywords="営業時間",
        messages=[{"type": "text", "text": "10:00-20:00 です"}],
    )
    asking = [line_app.user(displayName=f"Asks {n}") for n in range(3)]
    quiet = line_app.user(displayName="Quiet")
    wait_for(lambda: Member.objects.filter(profile_refreshed_at__isnull=False).count() == 4)
    e = Events(t0=int(time.time() * 1000))  # after the users' own follows
    broken = e("message", quiet)
    events = [e.text(user_id, "営業時間は？") for user_id in asking]
    events += [broken, e.text(quiet, "thanks"), e("unfollow", quiet)]
    body = json.dumps({"destination": channel.bot_user_id, "events": events}).encode()
    request = urllib.request.Request(
        channel.webhook_url,
        data=body,
        headers={
            "content-type": "application/json",
            "x-line-signature": signature_create(channel_secret=channel.channel_secret, body=body),
        },
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200

    for user_id in asking:
        received = wait_for(lambda user_id=user_id: control.messages(channel.channel_id, user_id))
        assert [item["message"]["text"] for item in received] == ["10:00-20:00 です"]
    failed = wait_for(lambda: WebhookEvent.objects.filter(status="failed").first())
    assert failed.webhook_event_id == broken["webhookEventId"] and "KeyError" in failed.error
    wait_for(lambda: not WebhookEvent.objects.filter(status="pending").exists())
    assert control.messages(channel.channel_id, quiet) == []
    assert Member.objects.get(line_user_id=quiet).friend_status == FriendStatus.BLOCKED
    assert sorted(Message.objects.filter(direction="in").values_list("text", flat=True)) == [
        "thanks",
        "営業時間は？",
        "営業時間は？",
        "営業時間は？",
    ]
    # The send task marks a reply sent just after LINE accepted it (the user may see it first).
    assert wait_for(lambda: Message.objects.filter(source="auto_reply", status="sent").count() == 3)
