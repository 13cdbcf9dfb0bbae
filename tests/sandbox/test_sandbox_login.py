"""LINE Login v2.1 end to end against the sandbox: authorize, PKCE, tokens, verify, profile."""

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests

LOGIN_ID = "2000000001"
LOGIN_SECRET = "fedcba9876543210fedcba9876543210"
CALLBACK = "http://127.0.0.1:9/accounts/line/login/callback/"


@pytest.fixture
def login(sandbox, sandbox_channel):
    sandbox.control.login_channel_register(
        LOGIN_ID,
        channel_secret=LOGIN_SECRET,
        messaging_channel_id=sandbox_channel.channel_id,
        callback_urls=[CALLBACK],
    )
    return sandbox


def authorize_params(**extra):
    return {
        "response_type": "code",
        "client_id": LOGIN_ID,
        "redirect_uri": CALLBACK,
        "state": "st4te",
        "scope": "profile openid email",
        "nonce": "n0nce",
        **extra,
    }


def consent(sandbox, params, **form):
    """Show the page, then submit it the way the browser would; answer the callback query."""
    page = requests.get(f"{sandbox.url}/oauth2/v2.1/authorize", params=params, timeout=10)
    assert page.status_code == 200 and "Allow" in page.text
    answer = requests.post(
        f"{sandbox.url}/oauth2/v2.1/authorize",
        data={**params, "decision": "allow", **form},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location.startswith(CALLBACK)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def exchange(sandbox, code, **extra):
    return requests.post(
        f"{sandbox.url}/oauth2/v2.1/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "client_id": LOGIN_ID,
            "client_secret": LOGIN_SECRET,
            **extra,
        },
        timeout=10,
    )


def test_login_with_pkce_friend_prompt_and_id_token(login, sandbox_channel):
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = authorize_params(
        code_challenge=challenge.rstrip(b"=").decode(),
        code_challenge_method="S256",
        bot_prompt="aggressive",
    )
    back = consent(
        login, params, display_name="Hanako", email="hanako@example.com", add_friend="on"
    )
    assert back["state"] == "st4te" and back["friendship_status_changed"] == "true"

    assert exchange(login, back["code"], code_verifier="wrong").status_code == 400
    back = consent(
        login, params, user_id=login.control.users(sandbox_channel.channel_id)[0]["userId"]
    )
    assert "friendship_status_changed" not in back  # already a friend: no prompt shown
    tokens = exchange(login, back["code"], code_verifier=verifier)
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 30 * 24 * 3600
    claims = jwt.decode(body["id_token"], LOGIN_SECRET, algorithms=["HS256"], audience=LOGIN_ID)
    assert claims["iss"] == "https://access.line.me"
    assert claims["name"] == "Hanako" and claims["email"] == "hanako@example.com"
    assert claims["nonce"] == "n0nce"
    user_id = claims["sub"]
    assert sandbox_channel.receiver.events[-1]["type"] == "follow"
    assert sandbox_channel.receiver.events[-1]["source"]["userId"] == user_id

    auth = {"Authorization": f"Bearer {body['access_token']}"}
    profile = requests.get(f"{login.url}/v2/profile", headers=auth, timeout=10).json()
    assert profile["userId"] == user_id and profile["displayName"] == "Hanako"
    friendship = requests.get(f"{login.url}/friendship/v1/status", headers=auth, timeout=10)
    assert friendship.json() == {"friendFlag": True}

    verified = requests.post(
        f"{login.url}/oauth2/v2.1/verify",
        data={"id_token": body["id_token"], "client_id": LOGIN_ID, "nonce": "n0nce"},
        timeout=10,
    )
    assert verified.status_code == 200 and verified.json()["sub"] == user_id
    access = requests.get(
        f"{login.url}/oauth2/v2.1/verify",
        params={"access_token": body["access_token"]},
        timeout=10,
    ).json()
    assert access["client_id"] == LOGIN_ID and access["scope"] == "profile openid email"

    refreshed = requests.post(
        f"{login.url}/oauth2/v2.1/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": LOGIN_ID,
            "client_secret": LOGIN_SECRET,
        },
        timeout=10,
    )
    assert refreshed.status_code == 200
    assert requests.get(f"{login.url}/v2/profile", headers=auth, timeout=10).status_code == 401


def test_a_code_is_single_use(login):
    back = consent(login, authorize_params())
    assert exchange(login, back["code"]).status_code == 200
    again = exchange(login, back["code"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_declining_the_friend_prompt_says_so(login, sandbox_channel):
    back = consent(login, authorize_params(bot_prompt="normal"))
    assert back["friendship_status_changed"] == "false"
    assert sandbox_channel.receiver.events == []


def test_cancel_redirects_with_access_denied(login):
    answer = requests.post(
        f"{login.url}/oauth2/v2.1/authorize",
        data={**authorize_params(), "decision": "deny"},
        allow_redirects=False,
        timeout=10,
    )
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["error"] == ["access_denied"] and query["state"] == ["st4te"]


def test_unknown_client_or_redirect_uri_is_an_error_page(login):
    for params in (authorize_params(client_id="999"), authorize_params(redirect_uri="http://x/")):
        page = requests.get(f"{login.url}/oauth2/v2.1/authorize", params=params, timeout=10)
        assert page.status_code == 400


def test_a_tampered_id_token_does_not_verify(login):
    back = consent(login, authorize_params())
    id_token = exchange(login, back["code"]).json()["id_token"]
    forged = jwt.encode(
        {**jwt.decode(id_token, options={"verify_signature": False}), "sub": "U" + "0" * 32},
        "another-secret-of-at-least-32-bytes",
        algorithm="HS256",
    )
    answer = requests.post(
        f"{login.url}/oauth2/v2.1/verify",
        data={"id_token": forged, "client_id": LOGIN_ID},
        timeout=10,
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"


def test_userinfo_and_revoke(login):
    back = consent(login, authorize_params(), display_name="Mio")
    access_token = exchange(login, back["code"]).json()["access_token"]
    auth = {"Authorization": f"Bearer {access_token}"}
    info = requests.get(f"{login.url}/oauth2/v2.1/userinfo", headers=auth, timeout=10)
    assert info.status_code == 200 and info.json()["name"] == "Mio"
    revoked = requests.post(
        f"{login.url}/oauth2/v2.1/revoke",
        data={"access_token": access_token, "client_id": LOGIN_ID, "client_secret": LOGIN_SECRET},
        timeout=10,
    )
    assert revoked.status_code == 200
    assert requests.get(f"{login.url}/v2/profile", headers=auth, timeout=10).status_code == 401
