"""The client against the sandbox over real HTTP: LINE's behaviour, limits and injected faults.

Every request of these tests also goes through the spec-checking adapter, so the sandbox and
the client are both held to LINE's OpenAPI description.
"""

import uuid
from typing import Any

import pytest

from linebot.client import LineClient
from linebot.errors import (
    LineBadRequest,
    LineNotFound,
    LineRateLimited,
    LineServerError,
    LineTimeout,
    LineUnauthorized,
)

from .openapi import install

TEXT = {"type": "text", "text": "Hello from the CRM"}
RICH_MENU = {
    "size": {"width": 2500, "height": 843},
    "selected": True,
    "name": "Members",
    "chatBarText": "Menu",
    "areas": [
        {
            "bounds": {"x": 0, "y": 0, "width": 2500, "height": 843},
            "action": {"type": "postback", "data": "action=points"},
        }
    ],
}


def png(width: int, height: int) -> bytes:
    """A valid PNG of the given size (LINE checks rich menu image dimensions)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"".join(b"\x00" + b"\x80" * width for _ in range(height)))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def make_client(sandbox: Any, token: str, *, checked: bool = True, **kwargs: Any) -> LineClient:
    options = {"timeout": 5.0, "max_retries": 3, "backoff": 0.01, **kwargs}
    client = LineClient(
        access_token=token, api_base=sandbox.url, api_data_base=sandbox.url, **options
    )
    if checked:
        install(client)
    return client


@pytest.fixture
def client(sandbox, sandbox_channel) -> LineClient:
    return make_client(sandbox, sandbox_channel.access_token)


@pytest.fixture
def friend(sandbox, sandbox_channel) -> str:
    created = sandbox.control.user_create(
        sandbox_channel.channel_id, follow=True, displayName="Hanako"
    )
    return created["user"]["userId"]


def test_a_repeated_push_with_the_same_retry_key_is_accepted_not_sent_twice(
    sandbox, sandbox_channel, client, friend
):
    key = uuid.uuid4()
    first = client.push(to=friend, messages=[TEXT], retry_key=key)
    again = client.push(to=friend, messages=[TEXT], retry_key=key)

    assert not first.already_accepted
    assert again.already_accepted
    assert again.accepted_request_id == first.request_id
    assert again.request_id != first.request_id
    assert [m.id for m in again.sent_messages] == [m.id for m in first.sent_messages]
    assert len(sandbox.control.messages(sandbox_channel.channel_id, friend)) == 1


def test_a_multicast_to_501_users_is_a_400_with_details(sandbox, sandbox_channel, friend):
    # LINE's spec forbids 501 recipients, so the spec check stays off: this is LINE's answer.
    client = make_client(sandbox, sandbox_channel.access_token, checked=False)
    recipients = [friend] + [f"U{index:032x}" for index in range(500)]

    with pytest.raises(LineBadRequest) as caught:
        client.multicast(to=recipients, messages=[TEXT])

    assert caught.value.details
    assert caught.value.request_id
    assert "to" in str(caught.value)


def test_injected_500s_are_retried_and_the_message_goes_out_once(
    sandbox, sandbox_channel, client, friend
):
    sandbox.control.faults_set([{"kind": "500", "path": "/v2/bot/message/push", "remaining": 2}])

    result = client.push(to=friend, messages=[TEXT])

    assert result.sent_messages
    pushes = sandbox.control.requests(endpoint="push")
    assert len(pushes) == 3
    assert len(sandbox.control.messages(sandbox_channel.channel_id, friend)) == 1


def test_dropped_connections_and_gateway_timeouts_are_retried(
    sandbox, sandbox_channel, client, friend
):
    sandbox.control.faults_set(
        [
            {"kind": "drop", "path": "/v2/bot/message/multicast", "remaining": 1},
            {"kind": "timeout", "path": "/v2/bot/profile/*", "delay": 0.05, "remaining": 1},
        ]
    )

    client.multicast(to=[friend], messages=[TEXT])
    assert client.profile(user_id=friend).display_name == "Hanako"
    assert len(sandbox.control.messages(sandbox_channel.channel_id, friend)) == 1


def test_a_slow_line_hits_the_timeout(sandbox, sandbox_channel, friend):
    sandbox.control.faults_set([{"kind": "slow", "path": "/v2/bot/info", "delay": 1.0}])
    client = make_client(sandbox, sandbox_channel.access_token, timeout=0.2, max_retries=1)

    with pytest.raises(LineTimeout):
        client.bot_info()


def test_the_monthly_limit_is_not_retried(sandbox, sandbox_channel, client, friend):
    sandbox.control.quota_set(sandbox_channel.channel_id, 1, usage=1)

    with pytest.raises(LineRateLimited) as caught:
        client.push(to=friend, messages=[TEXT])

    assert caught.value.is_monthly_limit
    assert len(sandbox.control.requests(endpoint="push")) == 1


def test_injected_rate_limits_are_retried(sandbox, client, friend):
    sandbox.control.faults_set([{"kind": "429", "path": "/v2/bot/message/push", "remaining": 2}])
    assert client.push(to=friend, messages=[TEXT]).sent_messages
    assert len(sandbox.control.requests(endpoint="push")) == 3


def test_a_reply_is_not_retried_after_a_500(sandbox, client):
    sandbox.control.faults_set([{"kind": "500", "path": "/v2/bot/message/reply", "remaining": 1}])
    with pytest.raises(LineServerError):
        client.reply(reply_token="a" * 32, messages=[TEXT])
    assert len(sandbox.control.requests(endpoint="reply")) == 1


def test_a_wrong_token_is_unauthorized(sandbox, sandbox_channel):
    # By default the sandbox makes a channel for any new token; real LINE does not.
    sandbox.control.configure(auto_channels=False)
    client = make_client(sandbox, "not-the-token")
    with pytest.raises(LineUnauthorized) as caught:
        client.bot_info()
    assert "not-the-token" not in str(caught.value)


def test_a_stranger_has_no_profile(client):
    with pytest.raises(LineNotFound):
        client.profile(user_id="U" + "0" * 32)


def test_reading_the_account_and_its_friends(sandbox, sandbox_channel, client, friend):
    others = [
        sandbox.control.user_create(sandbox_channel.channel_id, follow=True)["user"]["userId"]
        for _ in range(3)
    ]

    assert set(client.follower_ids_iter(limit=2)) == {friend, *others}
    assert client.bot_info().user_id == sandbox_channel.bot_user_id
    assert client.quota().type in ("none", "limited")
    assert client.quota_consumption().total_usage >= 0
    assert client.link_token_issue(user_id=friend).link_token


def test_validation_answers_details(client):
    client.messages_validate(kind="push", messages=[TEXT])
    with pytest.raises(LineBadRequest) as caught:
        client.messages_validate(kind="broadcast", messages=[{"type": "text", "text": ""}])
    assert caught.value.details


def test_content_a_user_sent_is_downloaded(sandbox, sandbox_channel, client, friend):
    image = png(10, 10)
    sent = sandbox.control.send_image(sandbox_channel.channel_id, friend, image, "image/png")
    message_id = sent["event"]["message"]["id"]

    with client.message_content(message_id=message_id) as content:
        assert b"".join(content.iter_bytes()) == image


def test_the_rich_menu_lifecycle(sandbox, sandbox_channel, client, friend):
    menu_id = client.rich_menu_create(rich_menu=RICH_MENU).rich_menu_id
    client.rich_menu_validate(rich_menu=RICH_MENU)
    image = png(2500, 843)
    client.rich_menu_image_upload(rich_menu_id=menu_id, image=image, content_type="image/png")
    with client.rich_menu_image_download(rich_menu_id=menu_id) as content:
        assert content.read() == image
    assert client.rich_menu_get(rich_menu_id=menu_id).chat_bar_text == "Menu"
    assert [menu.rich_menu_id for menu in client.rich_menu_list()] == [menu_id]

    client.rich_menu_default_set(rich_menu_id=menu_id)
    assert client.rich_menu_default_get().rich_menu_id == menu_id
    client.rich_menu_default_cancel()
    with pytest.raises(LineNotFound):
        client.rich_menu_default_get()

    client.rich_menu_user_link(user_id=friend, rich_menu_id=menu_id)
    assert client.rich_menu_user_get(user_id=friend).rich_menu_id == menu_id
    client.rich_menu_user_unlink(user_id=friend)
    client.rich_menu_bulk_link(rich_menu_id=menu_id, user_ids=[friend])
    client.rich_menu_bulk_unlink(user_ids=[friend])

    client.rich_menu_alias_create(alias_id="page-1", rich_menu_id=menu_id)
    assert client.rich_menu_alias_get(alias_id="page-1").rich_menu_id == menu_id
    client.rich_menu_alias_update(alias_id="page-1", rich_menu_id=menu_id)
    assert [alias.alias_id for alias in client.rich_menu_alias_list()] == ["page-1"]
    client.rich_menu_alias_delete(alias_id="page-1")

    operations = [{"type": "unlink", "from": menu_id}]
    client.rich_menu_batch_validate(operations=operations)
    batch = client.rich_menu_batch(operations=operations)
    progress = client.rich_menu_batch_progress(request_id=batch.request_id)
    assert progress.phase in ("ongoing", "succeeded")

    client.rich_menu_delete(rich_menu_id=menu_id)
    with pytest.raises(LineNotFound):
        client.rich_menu_get(rich_menu_id=menu_id)


def test_audiences_and_narrowcast(sandbox, sandbox_channel, client, friend):
    created = client.audience_create(description="VIP", user_ids=[friend])
    client.audience_add(audience_group_id=created.audience_group_id, user_ids=[friend])
    by_file = client.audience_create_by_file(description="Everyone", user_ids=[friend])
    audience = client.audience_get(audience_group_id=created.audience_group_id)
    assert audience.description == "VIP"
    listed = client.audience_list(page=1, size=40)
    assert {group.audience_group_id for group in listed.audience_groups} >= {
        created.audience_group_id,
        by_file.audience_group_id,
    }

    sent = client.narrowcast(
        messages=[TEXT],
        recipient={"type": "audience", "audienceGroupId": created.audience_group_id},
    )
    progress = client.narrowcast_progress(request_id=sent.effective_request_id)
    assert progress.phase in ("waiting", "sending", "succeeded", "failed")

    client.audience_delete(audience_group_id=by_file.audience_group_id)
    # LINE answers a missing audience with 400 AUDIENCE_GROUP_NOT_FOUND, not 404.
    with pytest.raises(LineBadRequest, match="AUDIENCE_GROUP_NOT_FOUND"):
        client.audience_get(audience_group_id=by_file.audience_group_id)


def test_broadcast_insight_and_webhook_settings(sandbox, sandbox_channel, client, friend):
    assert not client.broadcast(messages=[TEXT]).already_accepted
    assert len(sandbox.control.messages(sandbox_channel.channel_id, friend)) == 1
    assert client.insight_followers().status in ("ready", "unready", "out_of_service")

    client.webhook_endpoint_set(endpoint=sandbox_channel.receiver.url)
    assert client.webhook_endpoint_get().endpoint == sandbox_channel.receiver.url
    assert client.webhook_endpoint_test().status_code == 200
