"""Rich menus: objects, images, links, default, bulk and batch, aliases, and taps."""

import struct
import zlib

import pytest
import requests


def png(width: int, height: int) -> bytes:
    """A PNG whose header says width x height (the sandbox reads only the header)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(header))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
    )


MENU = {
    "size": {"width": 2500, "height": 843},
    "selected": True,
    "name": "main",
    "chatBarText": "Menu",
    "areas": [
        {
            "bounds": {"x": 0, "y": 0, "width": 833, "height": 843},
            "action": {"type": "postback", "data": "tab=coupons", "displayText": "Coupons"},
        },
        {
            "bounds": {"x": 833, "y": 0, "width": 833, "height": 843},
            "action": {"type": "message", "text": "Opening hours?"},
        },
        {
            "bounds": {"x": 1666, "y": 0, "width": 834, "height": 843},
            "action": {"type": "richmenuswitch", "richMenuAliasId": "page-2", "data": "to=2"},
        },
    ],
}


class Api:
    def __init__(self, sandbox, channel):
        self.url, self.auth = sandbox.url, channel.auth

    def __call__(self, method, path, **kwargs):
        headers = {**self.auth, **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.url}{path}", headers=headers, timeout=10, **kwargs)

    def menu(self, body=MENU):
        rich_menu_id = self("POST", "/v2/bot/richmenu", json=body).json()["richMenuId"]
        uploaded = self(
            "POST",
            f"/v2/bot/richmenu/{rich_menu_id}/content",
            data=png(2500, 843),
            headers={"Content-Type": "image/png"},
        )
        assert uploaded.status_code == 200, uploaded.text
        return rich_menu_id


@pytest.fixture
def api(sandbox, sandbox_channel):
    return Api(sandbox, sandbox_channel)


@pytest.fixture
def friend(sandbox, sandbox_channel):
    return sandbox.control.user_create(sandbox_channel.channel_id, follow=True)["user"]["userId"]


def test_create_get_list_delete(api):
    rich_menu_id = api.menu()
    got = api("GET", f"/v2/bot/richmenu/{rich_menu_id}").json()
    assert got == {"richMenuId": rich_menu_id, **MENU}
    assert [m["richMenuId"] for m in api("GET", "/v2/bot/richmenu/list").json()["richmenus"]] == [
        rich_menu_id
    ]
    image = api("GET", f"/v2/bot/richmenu/{rich_menu_id}/content")
    assert image.headers["Content-Type"] == "image/png" and image.content == png(2500, 843)
    assert api("DELETE", f"/v2/bot/richmenu/{rich_menu_id}").status_code == 200
    assert api("GET", f"/v2/bot/richmenu/{rich_menu_id}").status_code == 404


def test_invalid_menus_are_400_with_properties(api):
    bad = {
        **MENU,
        "chatBarText": "x" * 15,
        "size": {"width": 2500, "height": 2000},
        "areas": MENU["areas"] * 7,
    }
    answer = api("POST", "/v2/bot/richmenu/validate", json=bad)
    assert answer.status_code == 400
    props = {d["property"] for d in answer.json()["details"]}
    assert {"chatBarText", "size", "areas"} <= props


def test_image_must_match_and_cannot_be_replaced(api):
    rich_menu_id = api("POST", "/v2/bot/richmenu", json=MENU).json()["richMenuId"]
    path = f"/v2/bot/richmenu/{rich_menu_id}/content"
    wrong = api("POST", path, data=png(2500, 1686), headers={"Content-Type": "image/png"})
    assert wrong.status_code == 400
    assert (
        api("POST", path, data=png(2500, 843), headers={"Content-Type": "image/png"}).status_code
        == 200
    )
    again = api("POST", path, data=png(2500, 843), headers={"Content-Type": "image/png"})
    assert again.status_code == 400


def test_default_and_per_user_menus(api, friend):
    first, second = api.menu(), api.menu()
    assert api("POST", f"/v2/bot/user/all/richmenu/{first}").status_code == 200
    assert api("GET", "/v2/bot/user/all/richmenu").json() == {"richMenuId": first}
    assert api("GET", f"/v2/bot/user/{friend}/richmenu").status_code == 404
    assert api("POST", f"/v2/bot/user/{friend}/richmenu/{second}").status_code == 200
    assert api("GET", f"/v2/bot/user/{friend}/richmenu").json() == {"richMenuId": second}
    assert api("DELETE", f"/v2/bot/user/{friend}/richmenu").status_code == 200
    assert api("DELETE", "/v2/bot/user/all/richmenu").status_code == 200
    assert api("GET", "/v2/bot/user/all/richmenu").status_code == 404


def test_bulk_link_is_202_and_at_most_500_users(api, sandbox, sandbox_channel, friend):
    rich_menu_id = api.menu()
    linked = api(
        "POST", "/v2/bot/richmenu/bulk/link", json={"richMenuId": rich_menu_id, "userIds": [friend]}
    )
    assert linked.status_code == 202
    assert sandbox.control.rich_menus(sandbox_channel.channel_id)["userLinks"] == {
        friend: rich_menu_id
    }
    too_many = api(
        "POST",
        "/v2/bot/richmenu/bulk/link",
        json={"richMenuId": rich_menu_id, "userIds": [friend] * 501},
    )
    assert too_many.status_code == 400
    assert (
        api("POST", "/v2/bot/richmenu/bulk/unlink", json={"userIds": [friend]}).status_code == 202
    )
    assert sandbox.control.rich_menus(sandbox_channel.channel_id)["userLinks"] == {}


def test_batch_replaces_links_and_reports_progress(api, friend):
    first, second = api.menu(), api.menu()
    api("POST", f"/v2/bot/user/{friend}/richmenu/{first}")
    batch = api(
        "POST",
        "/v2/bot/richmenu/batch",
        json={"operations": [{"type": "link", "from": first, "to": second}]},
    )
    assert batch.status_code == 202
    progress = api(
        "GET",
        "/v2/bot/richmenu/progress/batch",
        params={"requestId": batch.headers["x-line-request-id"]},
    ).json()
    assert progress["phase"] == "succeeded"
    assert api("GET", f"/v2/bot/user/{friend}/richmenu").json() == {"richMenuId": second}


def test_batch_is_limited_to_3_an_hour(api):
    body = {"operations": [{"type": "unlinkAll"}]}
    statuses = [api("POST", "/v2/bot/richmenu/batch", json=body).status_code for _ in range(4)]
    assert statuses == [202, 202, 202, 429]


def test_aliases(api):
    first, second = api.menu(), api.menu()
    assert (
        api(
            "POST",
            "/v2/bot/richmenu/alias",
            json={"richMenuAliasId": "page-1", "richMenuId": first},
        ).status_code
        == 200
    )
    assert (
        api(
            "POST",
            "/v2/bot/richmenu/alias",
            json={"richMenuAliasId": "Bad Id", "richMenuId": first},
        ).status_code
        == 400
    )
    assert (
        api("POST", "/v2/bot/richmenu/alias/page-1", json={"richMenuId": second}).status_code == 200
    )
    assert api("GET", "/v2/bot/richmenu/alias/page-1").json() == {
        "richMenuAliasId": "page-1",
        "richMenuId": second,
    }
    assert len(api("GET", "/v2/bot/richmenu/alias/list").json()["aliases"]) == 1
    assert api("DELETE", "/v2/bot/richmenu/alias/page-1").status_code == 200
    assert api("GET", "/v2/bot/richmenu/alias/page-1").status_code == 404


def test_taps_send_postbacks_messages_and_switch_menus(api, sandbox, sandbox_channel, friend):
    control, channel_id = sandbox.control, sandbox_channel.channel_id
    main, page_2 = api.menu(), api.menu()
    api("POST", "/v2/bot/richmenu/alias", json={"richMenuAliasId": "page-2", "richMenuId": page_2})
    api("POST", f"/v2/bot/user/all/richmenu/{main}")

    assert control.tap_rich_menu(channel_id, friend, 0)["event"]["postback"] == {
        "data": "tab=coupons"
    }
    assert control.tap_rich_menu(channel_id, friend, 1)["event"]["message"]["text"] == (
        "Opening hours?"
    )
    switched = control.tap_rich_menu(channel_id, friend, 2)["event"]
    assert switched["postback"] == {
        "data": "to=2",
        "params": {"newRichMenuAliasId": "page-2", "status": "SUCCESS"},
    }
    assert control.user(channel_id, friend)["currentRichMenuId"] == page_2

    phone = requests.get(f"{sandbox.url}/sandbox/users/{friend}", timeout=10).text
    assert f"/sandbox/richmenus/{channel_id}/{page_2}/image" in phone
    assert requests.get(
        f"{sandbox.url}/sandbox/richmenus/{channel_id}/{page_2}/image", timeout=10
    ).content == png(2500, 843)
