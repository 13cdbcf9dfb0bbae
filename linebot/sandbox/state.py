"""The sandbox's whole world, in memory: channels, their simulated users and what happened.

Plain dataclasses behind one re-entrant lock (``Sandbox.lock``). LINE API handlers run while
holding it, so each request sees and leaves a consistent state; webhook deliveries, which call
the app and may be answered by calls back into the sandbox, always run without it.
"""

import collections
import random
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .faults import Faults, seeded_random
from .limits import Limits, RateLimiter

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
MAX_RECORDED_REQUESTS = 5000
# Past events kept for inspection and redelivery; long benchmarks must not grow memory forever.
MAX_KEPT_EVENTS = 10_000
# Credentials the sandbox makes up when a channel is registered without them.
GENERATED = ("access_token", "channel_secret", "bot_user_id", "basic_id")


def now_ms() -> int:
    return int(time.time() * 1000)


def ulid() -> str:
    """A ULID (48-bit ms time + 80 random bits in Crockford base32), as webhookEventId is."""
    value = (now_ms() << 80) | secrets.randbits(80)
    return "".join(CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def message_id() -> str:
    """LINE message ids are decimal strings of about 18 digits."""
    return str(secrets.randbelow(9 * 10**17) + 10**17)


def random_hex(rng: random.Random | None = None, length: int = 32) -> str:
    if rng is None:
        return secrets.token_hex(length // 2)
    return "".join(rng.choice("0123456789abcdef") for _ in range(length))


@dataclass
class SimUser:
    """A simulated LINE user as one channel (provider) sees them, with their chat."""

    user_id: str
    display_name: str
    picture_url: str = ""
    language: str = "ja"
    status_message: str = ""
    email: str = ""
    is_friend: bool = False
    blocked: bool = False
    followed_at: int = 0
    rich_menu_id: str | None = None
    rich_menu_alias_id: str | None = None
    loading_until: float = 0.0
    chat: list[dict[str, Any]] = field(default_factory=list)

    @property
    def reachable(self) -> bool:
        """Messages reach (and count against the quota for) friends who have not blocked."""
        return self.is_friend and not self.blocked

    def profile(self) -> dict[str, Any]:
        profile = {"displayName": self.display_name, "userId": self.user_id}
        if self.picture_url:
            profile["pictureUrl"] = self.picture_url
        if self.status_message:
            profile["statusMessage"] = self.status_message
        if self.language:
            profile["language"] = self.language
        return profile

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.profile(),
            "email": self.email,
            "isFriend": self.is_friend,
            "blocked": self.blocked,
            "richMenuId": self.rich_menu_id,
            "chat": self.chat,
        }


@dataclass
class Channel:
    """A Messaging API channel (one Official Account) and everything it owns."""

    channel_id: str
    access_token: str
    channel_secret: str
    bot_user_id: str
    basic_id: str
    name: str = "Sandbox OA"
    webhook_url: str = ""
    webhook_active: bool = True
    picture_url: str = ""
    quota: int | None = None
    usage: int = 0
    users: dict[str, SimUser] = field(default_factory=dict)
    reply_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    retry_keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    contents: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    rich_menus: dict[str, dict[str, Any]] = field(default_factory=dict)
    rich_menu_images: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    default_rich_menu_id: str | None = None
    aliases: dict[str, str] = field(default_factory=dict)
    link_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    audiences: dict[int, dict[str, Any]] = field(default_factory=dict)
    narrowcasts: dict[str, dict[str, Any]] = field(default_factory=dict)
    batches: dict[str, dict[str, Any]] = field(default_factory=dict)
    webhooks: collections.deque[dict[str, Any]] = field(
        default_factory=lambda: collections.deque(maxlen=MAX_KEPT_EVENTS)
    )
    prune_at: int = MAX_KEPT_EVENTS
    sent: collections.Counter = field(default_factory=collections.Counter)

    def forget_expired(self, now: float, *, redelivery_window: float) -> None:
        """Drop reply tokens and retry keys past their time, so memory stays flat under load.

        A reply token stays while a redelivery of its event could still make it valid.
        """
        self.reply_tokens = {
            token: issued
            for token, issued in self.reply_tokens.items()
            if max(issued["expires"], issued["eventTimestamp"] / 1000 + redelivery_window) > now
        }
        self.retry_keys = {
            key: accepted for key, accepted in self.retry_keys.items() if accepted["expires"] > now
        }
        # Valid entries must stay; scan again only when they have doubled, not on every call.
        self.prune_at = max(MAX_KEPT_EVENTS, 2 * max(len(self.reply_tokens), len(self.retry_keys)))

    def as_dict(self) -> dict[str, Any]:
        """Its configuration, without the chats; secrets included: this is a test double."""
        return {
            "channelId": self.channel_id,
            "accessToken": self.access_token,
            "channelSecret": self.channel_secret,
            "botUserId": self.bot_user_id,
            "basicId": self.basic_id,
            "name": self.name,
            "webhookUrl": self.webhook_url,
            "webhookActive": self.webhook_active,
            "quota": self.quota,
            "usage": self.usage,
            "userCount": len(self.users),
            "defaultRichMenuId": self.default_rich_menu_id,
        }


@dataclass
class LoginChannel:
    """A LINE Login channel, sharing its provider (so its user ids) with a messaging channel."""

    channel_id: str
    channel_secret: str
    messaging_channel_id: str
    callback_urls: list[str] = field(default_factory=list)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    access_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    refresh_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "channelId": self.channel_id,
            "channelSecret": self.channel_secret,
            "messagingChannelId": self.messaging_channel_id,
            "callbackUrls": self.callback_urls,
        }


class Sandbox:
    """Root of the state; one per running emulator."""

    def __init__(
        self,
        *,
        seed: int | None = None,
        rate_limits: bool = True,
        app_url: str = "",
        auto_channels: bool = True,
    ):
        self.lock = threading.RLock()
        self.seed = seed
        self.app_url = app_url.rstrip("/")
        self.auto_channels = auto_channels
        self.async_webhooks = False
        self._initial = {
            "app_url": self.app_url,
            "auto_channels": auto_channels,
            "rate_limits": rate_limits,
        }
        self.limits = Limits()
        self.rate_limiter = RateLimiter(enabled=rate_limits)
        self.faults = Faults(seed=seed)
        self.rng = seeded_random(seed)
        self.channels: dict[str, Channel] = {}
        self.tokens: dict[str, str] = {}
        self.login_channels: dict[str, LoginChannel] = {}
        self.requests: collections.deque[dict[str, Any]] = collections.deque(
            maxlen=MAX_RECORDED_REQUESTS
        )

    def reset(self) -> None:
        """Back to the state at start: no channels, users, requests, faults or changed limits."""
        with self.lock:
            self.app_url = self._initial["app_url"]
            self.auto_channels = self._initial["auto_channels"]
            self.async_webhooks = False
            self.rate_limiter.enabled = self._initial["rate_limits"]
            self.limits = Limits()
            self.rate_limiter.overrides.clear()
            self.rate_limiter.reset()
            self.faults.configure([], seed=self.seed)
            self.rng = seeded_random(self.seed)
            self.channels.clear()
            self.tokens.clear()
            self.login_channels.clear()
            self.requests.clear()

    def user_id(self) -> str:
        """A new user id, ``U`` + 32 hex digits, repeatable with the seed."""
        return "U" + random_hex(self.rng)

    def channel_register(self, **values: Any) -> Channel:
        """Create or update a channel; unspecified credentials are generated."""
        with self.lock:
            channel_id = str(values.get("channel_id") or self.rng.randrange(10**9, 10**10))
            channel = self.channels.get(channel_id)
            if channel is None:
                channel = Channel(
                    channel_id=channel_id,
                    access_token=values.get("access_token") or secrets.token_urlsafe(32),
                    channel_secret=values.get("channel_secret") or random_hex(),
                    bot_user_id=values.get("bot_user_id") or "U" + random_hex(self.rng),
                    basic_id=values.get("basic_id") or f"@{random_hex(self.rng, 8)}",
                )
                self.channels[channel_id] = channel
            for key, value in values.items():
                if key == "channel_id" or value is None or (key in GENERATED and not value):
                    continue
                setattr(channel, key, value)
            self.tokens = {token: cid for token, cid in self.tokens.items() if cid != channel_id}
            self.tokens[channel.access_token] = channel_id
            return channel

    def channel_for_token(self, token: str) -> Channel | None:
        """The channel that owns a bearer token; standalone, an unknown token makes its own."""
        with self.lock:
            channel_id = self.tokens.get(token)
            if channel_id is not None:
                return self.channels[channel_id]
            if not self.auto_channels:
                return None
            return self.channel_register(access_token=token, name="Sandbox OA (auto)")

    def channel(self, channel_id: str) -> Channel | None:
        return self.channels.get(channel_id)
