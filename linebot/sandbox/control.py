"""``SandboxControl``: a small client of the sandbox's control API, for tests, demo data and
benchmarks. Every method answers the decoded JSON; a non-2xx answer raises
``requests.HTTPError``.
"""

import base64
from typing import Any

import requests


class SandboxControl:
    """Drive a running sandbox at ``base_url`` (e.g. ``http://127.0.0.1:8001``)."""

    def __init__(self, base_url: str, *, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    def _call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        response = self.session.request(
            method,
            f"{self.base_url}/sandbox/api{path}",
            json=body,
            params={k: v for k, v in params.items() if v is not None} or None,
            timeout=self.timeout,
        )
        response.raise_for_status()
        return response.json()

    # Whole sandbox
    def reset(self) -> None:
        """Forget all channels, users, recorded requests, faults and changed limits."""
        self._call("POST", "/reset")

    def config(self) -> dict[str, Any]:
        return self._call("GET", "/config")

    def configure(
        self,
        *,
        auto_channels: bool | None = None,
        app_url: str | None = None,
        async_webhooks: bool | None = None,
    ) -> dict[str, Any]:
        """Unknown tokens make channels or are 401 (``auto_channels``); the app's base URL;
        webhooks delivered in the background (``async_webhooks``, for load tests)."""
        body: dict[str, Any] = {}
        if auto_channels is not None:
            body["autoChannels"] = auto_channels
        if app_url is not None:
            body["appUrl"] = app_url
        if async_webhooks is not None:
            body["asyncWebhooks"] = async_webhooks
        return self._call("PUT", "/config", body)

    def setup(self, config: dict[str, Any]) -> dict[str, Any]:
        """Apply a whole configuration, as ``--config`` does: ``channels``, ``loginChannels``,
        ``limits``, ``rateLimits``, ``faults``, ``faultSeed``, ``appUrl``, ``autoChannels``..."""
        return self._call("PUT", "/config", config)

    def limits_set(
        self,
        *,
        rate_limits: dict[str, tuple[int, float] | None] | None = None,
        rate_limits_enabled: bool | None = None,
        **limits: Any,
    ) -> dict[str, Any]:
        """Change limits by name (``max_body_bytes=...``, ``text_max_length=...``), rate limits
        per endpoint name (``{"push": (1, 60)}``; None restores LINE's), or switch them off."""
        body: dict[str, Any] = {"limits": limits}
        if rate_limits is not None:
            body["rateLimits"] = {k: list(v) if v else None for k, v in rate_limits.items()}
        if rate_limits_enabled is not None:
            body["rateLimitsEnabled"] = rate_limits_enabled
        return self._call("PUT", "/limits", body)

    def faults_set(self, rules: list[dict[str, Any]], *, seed: int | None = None) -> dict:
        """Replace the fault rules: ``{"kind": "500", "path": "/v2/bot/message/*", "rate": .5}``."""
        return self._call("PUT", "/faults", {"rules": rules, "seed": seed})

    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        """Recorded LINE requests; filter by ``channelId``, ``endpoint``, ``method``, ``path``."""
        return self._call("GET", "/requests", **filters)

    # Channels
    def channel_register(self, channel_id: str, **fields: Any) -> dict[str, Any]:
        """Create or update a channel: ``accessToken``, ``channelSecret``, ``botUserId``,
        ``basicId``, ``name``, ``webhookUrl``, ``webhookActive``, ``quota`` (None: no limit),
        ``usage``. Unspecified credentials of a new channel are generated."""
        return self._call("PUT", f"/channels/{channel_id}", fields)

    def channel(self, channel_id: str) -> dict[str, Any]:
        return self._call("GET", f"/channels/{channel_id}")

    def channels(self) -> list[dict[str, Any]]:
        return self._call("GET", "/channels")

    def quota_set(self, channel_id: str, quota: int | None, *, usage: int | None = None) -> dict:
        fields: dict[str, Any] = {"quota": quota}
        if usage is not None:
            fields["usage"] = usage
        return self.channel_register(channel_id, **fields)

    # Users
    def user_create(self, channel_id: str, *, follow: bool = False, **profile: Any) -> dict:
        """A new user (``displayName``, ``pictureUrl``, ``language``, ``email``, ``userId``);
        with ``follow`` they add the account as a friend. Answers ``{"user", "event"?, ...}``."""
        return self._call("POST", f"/channels/{channel_id}/users", {**profile, "follow": follow})

    def users(self, channel_id: str) -> list[dict[str, Any]]:
        return self._call("GET", f"/channels/{channel_id}/users")

    def user(self, channel_id: str, user_id: str) -> dict[str, Any]:
        """The user's profile, friendship, rich menu and whole chat."""
        return self._call("GET", f"/channels/{channel_id}/users/{user_id}")

    def user_action(self, channel_id: str, user_id: str, action: str, **params: Any) -> dict:
        """Make the user act: follow, block, unblock, text, sticker, image, location, postback,
        tap, unsend. Answers ``{"event", "delivery"}`` (the webhook and the app's status)."""
        return self._call("POST", f"/channels/{channel_id}/users/{user_id}/{action}", params)

    def follow(self, channel_id: str, user_id: str) -> dict:
        return self.user_action(channel_id, user_id, "follow")

    def block(self, channel_id: str, user_id: str) -> dict:
        return self.user_action(channel_id, user_id, "block")

    def unblock(self, channel_id: str, user_id: str) -> dict:
        return self.user_action(channel_id, user_id, "unblock")

    def send_text(self, channel_id: str, user_id: str, text: str) -> dict:
        return self.user_action(channel_id, user_id, "text", text=text)

    def send_sticker(self, channel_id: str, user_id: str, package_id: str, sticker_id: str) -> dict:
        return self.user_action(
            channel_id, user_id, "sticker", packageId=package_id, stickerId=sticker_id
        )

    def send_image(
        self, channel_id: str, user_id: str, data: bytes | None = None, content_type: str = ""
    ) -> dict:
        params = {}
        if data is not None:
            params = {"data": base64.b64encode(data).decode(), "contentType": content_type}
        return self.user_action(channel_id, user_id, "image", **params)

    def send_location(self, channel_id: str, user_id: str, **location: Any) -> dict:
        return self.user_action(channel_id, user_id, "location", **location)

    def postback(self, channel_id: str, user_id: str, data: str, **extra: Any) -> dict:
        return self.user_action(channel_id, user_id, "postback", data=data, **extra)

    def tap_rich_menu(self, channel_id: str, user_id: str, area: int) -> dict:
        return self.user_action(channel_id, user_id, "tap", area=area)

    def unsend(self, channel_id: str, user_id: str, message_id: str) -> dict:
        return self.user_action(channel_id, user_id, "unsend", messageId=message_id)

    def account_link(
        self, channel_id: str, link_token: str, nonce: str, *, ok: bool = True
    ) -> dict:
        """Complete a link as the dialog does; ``event`` is None for a used or expired token."""
        return self._call(
            "POST",
            f"/channels/{channel_id}/account-link",
            {"linkToken": link_token, "nonce": nonce, "ok": ok},
        )

    def messages(self, channel_id: str, user_id: str) -> list[dict[str, Any]]:
        """What the bot delivered to the user, oldest first."""
        return [e for e in self.user(channel_id, user_id)["chat"] if e["from"] == "bot"]

    # Inspection
    def webhooks(self, channel_id: str) -> list[dict[str, Any]]:
        """Every event sent, with its deliveries (status, redelivery flag)."""
        return self._call("GET", f"/channels/{channel_id}/webhooks")

    def redeliver(self, channel_id: str, webhook_event_id: str) -> dict:
        return self._call("POST", f"/channels/{channel_id}/webhooks/{webhook_event_id}/redeliver")

    def rich_menus(self, channel_id: str) -> dict[str, Any]:
        return self._call("GET", f"/channels/{channel_id}/richmenus")

    def audiences(self, channel_id: str) -> list[dict[str, Any]]:
        return self._call("GET", f"/channels/{channel_id}/audiences")

    def link_tokens(self, channel_id: str) -> list[dict[str, Any]]:
        return self._call("GET", f"/channels/{channel_id}/link-tokens")

    # LINE Login
    def login_channel_register(
        self,
        channel_id: str,
        *,
        channel_secret: str,
        messaging_channel_id: str,
        callback_urls: list[str] | None = None,
    ) -> dict[str, Any]:
        """A Login channel sharing its provider (so its user ids) with a messaging channel."""
        return self._call(
            "PUT",
            f"/login-channels/{channel_id}",
            {
                "channelSecret": channel_secret,
                "messagingChannelId": messaging_channel_id,
                "callbackUrls": callback_urls or [],
            },
        )
