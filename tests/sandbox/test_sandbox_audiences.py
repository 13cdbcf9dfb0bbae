"""Audiences (JSON and file uploads), narrowcast to them, and insight numbers."""

import time

import pytest
import requests


@pytest.fixture
def api(sandbox, sandbox_channel):
    def call(method, path, **kwargs):
        return requests.request(
            method, f"{sandbox.url}{path}", headers=sandbox_channel.auth, timeout=10, **kwargs
        )

    return call


@pytest.fixture
def friends(sandbox, sandbox_channel):
    return [
        sandbox.control.user_create(sandbox_channel.channel_id, follow=True)["user"]["userId"]
        for _ in range(3)
    ]


def test_upload_add_get_list_delete(api, friends):
    created = api(
        "POST",
        "/v2/bot/audienceGroup/upload",
        json={"description": "VIP", "audiences": [{"id": friends[0]}]},
    )
    assert created.status_code == 202
    audience_id = created.json()["audienceGroupId"]
    assert created.json()["type"] == "UPLOAD"
    added = api(
        "PUT",
        "/v2/bot/audienceGroup/upload",
        json={"audienceGroupId": audience_id, "audiences": [{"id": friends[1]}]},
    )
    assert added.status_code == 202
    got = api("GET", f"/v2/bot/audienceGroup/{audience_id}").json()
    assert got["audienceGroup"]["audienceCount"] == 2
    assert got["audienceGroup"]["status"] == "READY"
    assert len(got["jobs"]) == 2
    listed = api("GET", "/v2/bot/audienceGroup/list", params={"page": 1}).json()
    assert listed["totalCount"] == 1 and listed["hasNextPage"] is False
    assert api("DELETE", f"/v2/bot/audienceGroup/{audience_id}").status_code == 200
    missing = api("GET", f"/v2/bot/audienceGroup/{audience_id}")
    assert missing.status_code == 400
    assert missing.json()["message"] == "audience group not found"


def test_upload_by_file(api, friends, sandbox, sandbox_channel):
    created = api(
        "POST",
        "/v2/bot/audienceGroup/upload/byFile",
        data={"description": "From file"},
        files={"file": ("ids.txt", "\n".join(friends).encode(), "text/plain")},
    )
    assert created.status_code == 202
    audiences = sandbox.control.audiences(sandbox_channel.channel_id)
    assert audiences[0]["userIds"] == sorted(friends)


def test_audience_ids_are_limited(api, sandbox, friends):
    sandbox.control.limits_set(audience_max_ids=2)
    too_many = api(
        "POST",
        "/v2/bot/audienceGroup/upload",
        json={"description": "x", "audiences": [{"id": f} for f in friends]},
    )
    assert too_many.status_code == 400


def test_narrowcast_to_an_audience_reaches_only_it(api, friends, sandbox, sandbox_channel):
    audience_id = api(
        "POST",
        "/v2/bot/audienceGroup/upload",
        json={"description": "VIP", "audiences": [{"id": friends[0]}]},
    ).json()["audienceGroupId"]
    sent = api(
        "POST",
        "/v2/bot/message/narrowcast",
        json={
            "messages": [{"type": "text", "text": "VIP sale"}],
            "recipient": {"type": "audience", "audienceGroupId": audience_id},
        },
    )
    assert sent.status_code == 202
    progress = api(
        "GET",
        "/v2/bot/message/progress/narrowcast",
        params={"requestId": sent.headers["x-line-request-id"]},
    ).json()
    assert progress["targetCount"] == 1
    received = [len(sandbox.control.messages(sandbox_channel.channel_id, f)) for f in friends]
    assert received == [1, 0, 0]


def test_insight_counts_followers_and_deliveries(api, friends, sandbox, sandbox_channel):
    sandbox.control.block(sandbox_channel.channel_id, friends[2])
    api("POST", "/v2/bot/message/broadcast", json={"messages": [{"type": "text", "text": "x"}]})
    today = time.strftime("%Y%m%d", time.gmtime(time.time() + 9 * 3600))
    followers = api("GET", "/v2/bot/insight/followers", params={"date": today}).json()
    assert followers == {"status": "ready", "followers": 3, "targetedReaches": 2, "blocks": 1}
    delivery = api("GET", "/v2/bot/insight/message/delivery", params={"date": today}).json()
    assert delivery == {"status": "ready", "apiBroadcast": 2}
    assert api("GET", "/v2/bot/insight/message/delivery", params={"date": "20991231"}).json() == {
        "status": "unready"
    }


def test_narrowcast_combines_at_most_10_audiences(api, friends):
    audience_id = api(
        "POST",
        "/v2/bot/audienceGroup/upload",
        json={"description": "VIP", "audiences": [{"id": friends[0]}]},
    ).json()["audienceGroupId"]
    leaf = {"type": "audience", "audienceGroupId": audience_id}
    answer = api(
        "POST",
        "/v2/bot/message/narrowcast",
        json={
            "messages": [{"type": "text", "text": "x"}],
            "recipient": {"type": "operator", "or": [leaf] * 11},
        },
    )
    assert answer.status_code == 400
    assert answer.json()["details"][0]["property"] == "recipient"


def test_sent_message_counts_per_way_of_sending(api, friends):
    api(
        "POST",
        "/v2/bot/message/push",
        json={"to": friends[0], "messages": [{"type": "text", "text": "x"}] * 2},
    )
    today = time.strftime("%Y%m%d", time.gmtime(time.time() + 9 * 3600))
    pushed = api("GET", "/v2/bot/message/delivery/push", params={"date": today}).json()
    assert pushed == {"status": "ready", "success": 2}
    replied = api("GET", "/v2/bot/message/delivery/reply", params={"date": today}).json()
    assert replied == {"status": "ready", "success": 0}
