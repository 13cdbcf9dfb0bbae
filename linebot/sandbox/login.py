"""LINE Login v2.1 (OAuth 2.0 + OpenID Connect) and the account-link dialog, on the access host.

The authorize page lets the tester pick a simulated user of the provider (or create one),
consent, and add the Official Account as a friend when ``bot_prompt`` asks. Codes, tokens and
ID tokens follow LINE's shapes; ID tokens are HS256-signed with the Login channel secret.
"""

import base64
import hashlib
import hmac
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import jwt
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from . import users
from .pages import render
from .responses import json_response
from .routing import Call, Route
from .state import Channel, LoginChannel, Sandbox, SimUser

ISSUER = "https://access.line.me"
CODE_TTL = 600
ACCESS_TOKEN_TTL = 30 * 24 * 3600
REFRESH_TOKEN_TTL = 90 * 24 * 3600
ID_TOKEN_TTL = 3600
AUTHORIZE_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "scope",
    "nonce",
    "prompt",
    "bot_prompt",
    "code_challenge",
    "code_challenge_method",
    "ui_locales",
)


def oauth_error(error: str, description: str, *, status: int = 400) -> Response:
    return json_response({"error": error, "error_description": description}, status=status)


def _login_channel(sandbox: Sandbox, client_id: str | None) -> LoginChannel | None:
    return sandbox.login_channels.get(client_id or "")


def _redirect(uri: str, params: dict[str, str]) -> Response:
    separator = "&" if "?" in uri else "?"
    return redirect(f"{uri}{separator}{urlencode(params)}", code=302)


def _authorize_problem(sandbox: Sandbox, params: dict[str, str]) -> str:
    """Why the request cannot even be shown (LINE answers an error page for these)."""
    login_channel = _login_channel(sandbox, params.get("client_id"))
    if login_channel is None:
        return "Invalid client_id."
    uri = params.get("redirect_uri", "")
    if not uri or (login_channel.callback_urls and uri not in login_channel.callback_urls):
        return "Invalid redirect_uri value. Check that it matches the channel's callback URL."
    return ""


def _redirect_problem(params: dict[str, str]) -> str:
    """Errors LINE sends back to the callback as ``error=invalid_request``."""
    if params.get("response_type") != "code":
        return "response_type must be code"
    scopes = params.get("scope", "").split()
    if not {"profile", "openid"} & set(scopes):
        return "scope must include profile or openid"
    if "email" in scopes and "openid" not in scopes:
        return "the email scope needs openid"
    if params.get("code_challenge") and params.get("code_challenge_method") != "S256":
        return "code_challenge_method must be S256"
    if params.get("bot_prompt") not in (None, "", "normal", "aggressive"):
        return "bot_prompt must be normal or aggressive"
    return ""


def authorize(call: Call) -> Response:
    """The consent page: pick or create a user, allow, maybe add the account as a friend."""
    sandbox = call.sandbox
    params = {k: call.request.args[k] for k in AUTHORIZE_PARAMS if k in call.request.args}
    problem = _authorize_problem(sandbox, params)
    if problem:
        return render("sandbox/login_error.html", {"message": problem}, status=400)
    problem = _redirect_problem(params)
    if problem:
        return _redirect(
            params["redirect_uri"],
            {
                "error": "invalid_request",
                "error_description": problem,
                "state": params.get("state", ""),
            },
        )
    with sandbox.lock:
        login_channel = sandbox.login_channels[params["client_id"]]
        channel = sandbox.channels[login_channel.messaging_channel_id]
        context = {
            "params": params,
            "channel": channel,
            "users": list(channel.users.values()),
            "scopes": params.get("scope", "").split(),
            "bot_prompt": bool(params.get("bot_prompt")),
        }
    return render("sandbox/login_authorize.html", context)


def authorize_submit(call: Call) -> Response:
    """The consent form's answer: redirect back with a code (or ``access_denied``)."""
    sandbox, form = call.sandbox, call.request.form
    params = {k: form[k] for k in AUTHORIZE_PARAMS if form.get(k)}
    problem = _authorize_problem(sandbox, params) or _redirect_problem(params)
    if problem:
        return render("sandbox/login_error.html", {"message": problem}, status=400)
    back: dict[str, str] = {}
    if form.get("decision") != "allow":
        back = {
            "error": "access_denied",
            "error_description": "The resource owner denied the request.",
        }
        if "state" in params:
            back["state"] = params["state"]
        return _redirect(params["redirect_uri"], back)
    login_channel = sandbox.login_channels[params["client_id"]]
    channel = sandbox.channels[login_channel.messaging_channel_id]
    user = _chosen_user(sandbox, channel, form)
    if params.get("bot_prompt") and not user.reachable:
        added = form.get("add_friend") == "on"
        if added:
            users.user_follow(sandbox, channel, user)
        back["friendship_status_changed"] = "true" if added else "false"
    code = secrets.token_urlsafe(16)
    with sandbox.lock:
        login_channel.codes[code] = {
            "userId": user.user_id,
            "redirectUri": params["redirect_uri"],
            "scope": params.get("scope", ""),
            "nonce": params.get("nonce"),
            "codeChallenge": params.get("code_challenge"),
            "expires": time.time() + CODE_TTL,
        }
    back = {"code": code, **({"state": params["state"]} if "state" in params else {}), **back}
    return _redirect(params["redirect_uri"], back)


def _chosen_user(sandbox: Sandbox, channel: Channel, form: Any) -> SimUser:
    user = channel.users.get(form.get("user_id", ""))
    if user is not None:
        return user
    return users.user_create(
        sandbox,
        channel,
        display_name=form.get("display_name", ""),
        email=form.get("email", ""),
        language=form.get("language", "ja"),
    )


def _client(call: Call) -> LoginChannel | None:
    form = call.request.form
    login_channel = _login_channel(call.sandbox, form.get("client_id"))
    secret = form.get("client_secret", "")
    if login_channel is None or not hmac.compare_digest(login_channel.channel_secret, secret):
        return None
    return login_channel


def _tokens(
    sandbox: Sandbox, login_channel: LoginChannel, user_id: str, scope: str
) -> dict[str, Any]:
    access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    grant = {"userId": user_id, "scope": scope, "clientId": login_channel.channel_id}
    login_channel.access_tokens[access] = {**grant, "expires": time.time() + ACCESS_TOKEN_TTL}
    login_channel.refresh_tokens[refresh] = {
        **grant,
        "expires": time.time() + REFRESH_TOKEN_TTL,
        "accessToken": access,
    }
    return {
        "access_token": access,
        "expires_in": ACCESS_TOKEN_TTL,
        "refresh_token": refresh,
        "scope": scope,
        "token_type": "Bearer",
    }


def id_token_create(
    login_channel: LoginChannel, user: SimUser, *, scope: str, nonce: str | None
) -> str:
    """An ID token as LINE signs it for web login: HS256 with the Login channel secret."""
    issued = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": user.user_id,
        "aud": login_channel.channel_id,
        "exp": issued + ID_TOKEN_TTL,
        "iat": issued,
        "amr": ["linesso"],
    }
    if nonce:
        claims["nonce"] = nonce
    if "profile" in scope.split():
        claims["name"] = user.display_name
        if user.picture_url:
            claims["picture"] = user.picture_url
    if "email" in scope.split() and user.email:
        claims["email"] = user.email
    return jwt.encode(claims, login_channel.channel_secret, algorithm="HS256")


def _pkce_matches(challenge: str, verifier: str) -> bool:
    digest = hashlib.sha256(verifier.encode()).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return hmac.compare_digest(expected, challenge)


def token(call: Call) -> Response:
    """Exchange a code (checking PKCE) or a refresh token for tokens."""
    form, sandbox = call.request.form, call.sandbox
    login_channel = _client(call)
    if login_channel is None:
        return oauth_error("invalid_client", "invalid client_id or client_secret")
    with sandbox.lock:
        channel = sandbox.channels[login_channel.messaging_channel_id]
        grant_type = form.get("grant_type")
        if grant_type == "refresh_token":
            grant = login_channel.refresh_tokens.pop(form.get("refresh_token", ""), None)
            if grant is None or grant["expires"] < time.time():
                return oauth_error("invalid_grant", "invalid refresh token")
            login_channel.access_tokens.pop(grant["accessToken"], None)
            return json_response(_tokens(sandbox, login_channel, grant["userId"], grant["scope"]))
        if grant_type != "authorization_code":
            return oauth_error("unsupported_grant_type", "unsupported grant_type")
        code = login_channel.codes.pop(form.get("code", ""), None)
        if code is None or code["expires"] < time.time():
            return oauth_error("invalid_grant", "invalid authorization code")
        if form.get("redirect_uri") != code["redirectUri"]:
            return oauth_error("invalid_grant", "redirect_uri does not match")
        if code["codeChallenge"] and not _pkce_matches(
            code["codeChallenge"], form.get("code_verifier", "")
        ):
            return oauth_error("invalid_grant", "code_verifier does not match")
        answer = _tokens(sandbox, login_channel, code["userId"], code["scope"])
        if "openid" in code["scope"].split():
            user = channel.users[code["userId"]]
            answer["id_token"] = id_token_create(
                login_channel, user, scope=code["scope"], nonce=code["nonce"]
            )
    return json_response(answer)


def verify_id_token(call: Call) -> Response:
    form = call.request.form
    login_channel = _login_channel(call.sandbox, form.get("client_id"))
    if login_channel is None:
        return oauth_error("invalid_client", "invalid client_id")
    try:
        claims = jwt.decode(
            form.get("id_token", ""),
            login_channel.channel_secret,
            algorithms=["HS256"],
            audience=login_channel.channel_id,
            issuer=ISSUER,
        )
    except jwt.ExpiredSignatureError:
        return oauth_error("invalid_request", "IdToken expired.")
    except jwt.InvalidTokenError:
        return oauth_error("invalid_request", "Invalid IdToken.")
    if form.get("nonce") and claims.get("nonce") != form["nonce"]:
        return oauth_error("invalid_request", "Invalid IdToken Nonce.")
    if form.get("user_id") and claims["sub"] != form["user_id"]:
        return oauth_error("invalid_request", "Invalid IdToken Subject Identifier.")
    return json_response(claims)


def _access_grant(call: Call, access_token: str) -> tuple[LoginChannel, dict[str, Any]] | None:
    for login_channel in call.sandbox.login_channels.values():
        grant = login_channel.access_tokens.get(access_token)
        if grant is not None and grant["expires"] > time.time():
            return login_channel, grant
    return None


def verify_access_token(call: Call) -> Response:
    found = _access_grant(call, call.request.args.get("access_token", ""))
    if found is None:
        return oauth_error("invalid_request", "access token expired")
    _, grant = found
    return json_response(
        {
            "scope": grant["scope"],
            "client_id": grant["clientId"],
            "expires_in": int(grant["expires"] - time.time()),
        }
    )


def _bearer_user(call: Call) -> tuple[Channel, SimUser] | None:
    scheme, _, value = call.request.headers.get("Authorization", "").partition(" ")
    found = _access_grant(call, value.strip()) if scheme.lower() == "bearer" else None
    if found is None:
        return None
    login_channel, grant = found
    channel = call.sandbox.channels[login_channel.messaging_channel_id]
    return channel, channel.users[grant["userId"]]


def profile(call: Call) -> Response:
    with call.sandbox.lock:
        found = _bearer_user(call)
        if found is None:
            return json_response({"message": "invalid token"}, status=401)
        body = found[1].profile()
    body.pop("language", None)
    return json_response(body)


def friendship(call: Call) -> Response:
    with call.sandbox.lock:
        found = _bearer_user(call)
        if found is None:
            return json_response({"message": "invalid token"}, status=401)
        return json_response({"friendFlag": found[1].reachable})


def revoke(call: Call) -> Response:
    """Revoke an access token (and its refresh token); unknown tokens are fine too."""
    login_channel = _client(call)
    if login_channel is None:
        return oauth_error("invalid_client", "invalid client_id or client_secret")
    access_token = call.request.form.get("access_token", "")
    login_channel.access_tokens.pop(access_token, None)
    login_channel.refresh_tokens = {
        token: grant
        for token, grant in login_channel.refresh_tokens.items()
        if grant["accessToken"] != access_token
    }
    return Response(status=200)


def userinfo(call: Call) -> Response:
    """OpenID Connect userinfo: needs an access token with the ``openid`` scope."""
    scheme, _, value = call.request.headers.get("Authorization", "").partition(" ")
    found = _access_grant(call, value.strip()) if scheme.lower() == "bearer" else None
    if found is None or "openid" not in found[1]["scope"].split():
        return json_response({"message": "invalid token"}, status=401)
    login_channel, grant = found
    user = call.sandbox.channels[login_channel.messaging_channel_id].users[grant["userId"]]
    claims = {"sub": user.user_id, "name": user.display_name}
    if user.picture_url:
        claims["picture"] = user.picture_url
    return json_response(claims)


def account_link_dialog(call: Call) -> Response:
    """The page a user reaches from the bot: links their account and fires ``accountLink``."""
    link_token = call.request.args.get("linkToken", "")
    nonce = call.request.args.get("nonce", "")
    sandbox = call.sandbox
    with sandbox.lock:
        channel = next((c for c in sandbox.channels.values() if link_token in c.link_tokens), None)
    if channel is None or not 10 <= len(nonce) <= 255:
        return render(
            "sandbox/login_error.html", {"message": "Invalid link token or nonce."}, status=400
        )
    result = users.account_link_complete(sandbox, channel, link_token=link_token, nonce=nonce)
    if result is None:
        return render(
            "sandbox/login_error.html",
            {"message": "This link token has expired or was already used."},
            status=400,
        )
    return render("sandbox/account_linked.html", {"channel": channel, "result": result})


ROUTES = [
    Route("/oauth2/v2.1/authorize", "GET", "login_authorize", authorize, kind="login"),
    Route(
        "/oauth2/v2.1/authorize",
        "POST",
        "login_authorize_submit",
        authorize_submit,
        kind="login",
        locked=False,
    ),
    Route("/oauth2/v2.1/token", "POST", "login_token", token, kind="login"),
    Route("/oauth2/v2.1/verify", "POST", "login_verify_id_token", verify_id_token, kind="login"),
    Route(
        "/oauth2/v2.1/verify", "GET", "login_verify_access_token", verify_access_token, kind="login"
    ),
    Route("/oauth2/v2.1/revoke", "POST", "login_revoke", revoke, kind="login"),
    Route("/oauth2/v2.1/userinfo", "GET", "login_userinfo", userinfo, kind="login"),
    Route("/v2/profile", "GET", "login_profile", profile, kind="login"),
    Route("/friendship/v1/status", "GET", "login_friendship", friendship, kind="login"),
    Route(
        "/dialog/bot/accountLink",
        "GET",
        "account_link_dialog",
        account_link_dialog,
        kind="login",
        locked=False,
    ),
]
