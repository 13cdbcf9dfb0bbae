"""Every answer the sandbox gives matches LINE's own OpenAPI description of that answer."""

import struct
import uuid
import zlib

import pytest
import requests

from tests.sandbox.line_specs import schema_validate, spec


def check(name: str, template: str, method: str, response: requests.Response) -> None:
    """The response's status is documented for the operation and its body fits the schema."""
    answers = spec(name)["paths"][template][method.lower()]["responses"]
    assert str(response.status_code) in answers, (template, response.status_code, response.text)
    content = answers[str(response.status_code)].get("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema is not None:
        schema_validate(name, schema, response.json())
    assert response.headers["x-line-request-id"]


def png(width: int, height: int) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    return (
        b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
    )


@pytest.fixture
def api(sandbox, sandbox_channel):
    def call(method, path, **kwargs):
        headers = {**sandbox_channel.auth, **kwargs.pop("headers", {})}
        return requests.request(
            method, f"{sandbox.url}{path}", headers=headers, timeout=10, **kwargs
        )

    return call


TEXT = [{"type": "text", "text": "hi"}]


def test_messaging_answers_fit_the_spec(api, sandbox, sandbox_channel):
    created = sandbox.control.user_create(sandbox_channel.channel_id, follow=True)
    user_id = created["user"]["userId"]
    token = created["event"]["replyToken"]
    m = "messaging-api.yml"
    check(
        m,
        "/v2/bot/message/reply",
        "POST",
        api("POST", "/v2/bot/message/reply", json={"replyToken": token, "messages": TEXT}),
    )
    check(
        m,
        "/v2/bot/message/reply",
        "POST",
        api("POST", "/v2/bot/message/reply", json={"replyToken": token, "messages": TEXT}),
    )
    key = {"X-Line-Retry-Key": str(uuid.uuid4())}
    for _ in range(2):  # 200, then 409 with sentMessages
        check(
            m,
            "/v2/bot/message/push",
            "POST",
            api(
                "POST", "/v2/bot/message/push", json={"to": user_id, "messages": TEXT}, headers=key
            ),
        )
    check(
        m,
        "/v2/bot/message/push",
        "POST",
        api("POST", "/v2/bot/message/push", json={"to": user_id, "messages": []}),
    )
    check(
        m,
        "/v2/bot/message/multicast",
        "POST",
        api("POST", "/v2/bot/message/multicast", json={"to": [user_id], "messages": TEXT}),
    )
    check(
        m,
        "/v2/bot/message/broadcast",
        "POST",
        api("POST", "/v2/bot/message/broadcast", json={"messages": TEXT}),
    )
    narrowcast = api("POST", "/v2/bot/message/narrowcast", json={"messages": TEXT})
    check(m, "/v2/bot/message/narrowcast", "POST", narrowcast)
    check(
        m,
        "/v2/bot/message/progress/narrowcast",
        "GET",
        api(
            "GET",
            "/v2/bot/message/progress/narrowcast",
            params={"requestId": narrowcast.headers["x-line-request-id"]},
        ),
    )
    check(m, "/v2/bot/message/quota", "GET", api("GET", "/v2/bot/message/quota"))
    sandbox.control.quota_set(sandbox_channel.channel_id, 100)
    check(m, "/v2/bot/message/quota", "GET", api("GET", "/v2/bot/message/quota"))
    check(
        m,
        "/v2/bot/message/quota/consumption",
        "GET",
        api("GET", "/v2/bot/message/quota/consumption"),
    )
    check(m, "/v2/bot/profile/{userId}", "GET", api("GET", f"/v2/bot/profile/{user_id}"))
    check(m, "/v2/bot/followers/ids", "GET", api("GET", "/v2/bot/followers/ids"))
    check(m, "/v2/bot/info", "GET", api("GET", "/v2/bot/info"))
    check(
        m, "/v2/bot/channel/webhook/endpoint", "GET", api("GET", "/v2/bot/channel/webhook/endpoint")
    )
    check(
        m,
        "/v2/bot/channel/webhook/test",
        "POST",
        api("POST", "/v2/bot/channel/webhook/test", json={}),
    )
    check(
        m,
        "/v2/bot/user/{userId}/linkToken",
        "POST",
        api("POST", f"/v2/bot/user/{user_id}/linkToken"),
    )
    check(
        m,
        "/v2/bot/chat/loading/start",
        "POST",
        api("POST", "/v2/bot/chat/loading/start", json={"chatId": user_id}),
    )
    check(
        m,
        "/v2/bot/message/delivery/push",
        "GET",
        api("GET", "/v2/bot/message/delivery/push", params={"date": "20260101"}),
    )


def test_rich_menu_answers_fit_the_spec(api, sandbox, sandbox_channel):
    user_id = sandbox.control.user_create(sandbox_channel.channel_id, follow=True)["user"]["userId"]
    m = "messaging-api.yml"
    menu = {
        "size": {"width": 2500, "height": 843},
        "selected": False,
        "name": "n",
        "chatBarText": "Menu",
        "areas": [
            {
                "bounds": {"x": 0, "y": 0, "width": 2500, "height": 843},
                "action": {"type": "postback", "data": "a"},
            }
        ],
    }
    created = api("POST", "/v2/bot/richmenu", json=menu)
    check(m, "/v2/bot/richmenu", "POST", created)
    menu_id = created.json()["richMenuId"]
    api(
        "POST",
        f"/v2/bot/richmenu/{menu_id}/content",
        data=png(2500, 843),
        headers={"Content-Type": "image/png"},
    ).raise_for_status()
    check(m, "/v2/bot/richmenu/{richMenuId}", "GET", api("GET", f"/v2/bot/richmenu/{menu_id}"))
    check(m, "/v2/bot/richmenu/list", "GET", api("GET", "/v2/bot/richmenu/list"))
    api("POST", f"/v2/bot/user/{user_id}/richmenu/{menu_id}").raise_for_status()
    check(
        m, "/v2/bot/user/{userId}/richmenu", "GET", api("GET", f"/v2/bot/user/{user_id}/richmenu")
    )
    api(
        "POST", "/v2/bot/richmenu/alias", json={"richMenuAliasId": "a", "richMenuId": menu_id}
    ).raise_for_status()
    check(
        m, "/v2/bot/richmenu/alias/{richMenuAliasId}", "GET", api("GET", "/v2/bot/richmenu/alias/a")
    )
    check(m, "/v2/bot/richmenu/alias/list", "GET", api("GET", "/v2/bot/richmenu/alias/list"))
    batch = api("POST", "/v2/bot/richmenu/batch", json={"operations": [{"type": "unlinkAll"}]})
    check(m, "/v2/bot/richmenu/batch", "POST", batch)
    check(
        m,
        "/v2/bot/richmenu/progress/batch",
        "GET",
        api(
            "GET",
            "/v2/bot/richmenu/progress/batch",
            params={"requestId": batch.headers["x-line-request-id"]},
        ),
    )


def test_audience_and_insight_answers_fit_the_spec(api, sandbox, sandbox_channel):
    user_id = sandbox.control.user_create(sandbox_channel.channel_id, follow=True)["user"]["userId"]
    a = "manage-audience.yml"
    created = api(
        "POST",
        "/v2/bot/audienceGroup/upload",
        json={"description": "d", "audiences": [{"id": user_id}]},
    )
    check(a, "/v2/bot/audienceGroup/upload", "POST", created)
    audience_id = created.json()["audienceGroupId"]
    check(
        a,
        "/v2/bot/audienceGroup/{audienceGroupId}",
        "GET",
        api("GET", f"/v2/bot/audienceGroup/{audience_id}"),
    )
    check(
        a,
        "/v2/bot/audienceGroup/list",
        "GET",
        api("GET", "/v2/bot/audienceGroup/list", params={"page": 1}),
    )
    check(
        a, "/v2/bot/audienceGroup/{audienceGroupId}", "GET", api("GET", "/v2/bot/audienceGroup/1")
    )
    i = "insight.yml"
    check(i, "/v2/bot/insight/followers", "GET", api("GET", "/v2/bot/insight/followers"))
    check(
        i,
        "/v2/bot/insight/message/delivery",
        "GET",
        api("GET", "/v2/bot/insight/message/delivery", params={"date": "20260101"}),
    )
