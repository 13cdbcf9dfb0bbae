"""LINE's limits as data: rate limits per endpoint (token buckets) and the configurable values.

Each value can be changed at run time through the control API, so a test can shrink a limit to
hit it in a few requests, and a benchmark can switch rate limits off.
"""

import threading
import time
from dataclasses import dataclass, field, fields, replace
from typing import Any

from linebot.validation import MessageLimits

# (requests, seconds) per endpoint name, from LINE's published rate limits.
DEFAULT_RATE = (2000, 1.0)
LINE_RATE_LIMITS: dict[str, tuple[int, float]] = {
    "multicast": (200, 1.0),
    "narrowcast": (60, 3600.0),
    "broadcast": (60, 3600.0),
    "insight_followers": (60, 3600.0),
    "insight_delivery": (60, 3600.0),
    "audience_create": (60, 60.0),
    "audience_add": (60, 60.0),
    "audience_create_file": (60, 60.0),
    "audience_add_file": (60, 60.0),
    "audience_get": (60, 60.0),
    "audience_list": (60, 60.0),
    "audience_delete": (60, 60.0),
    "audience_rename": (60, 60.0),
    "richmenu_create": (100, 3600.0),
    "richmenu_delete": (100, 3600.0),
    "richmenu_alias_delete": (100, 3600.0),
    "richmenu_batch_progress": (100, 3600.0),
    "richmenu_batch": (3, 3600.0),
    "richmenu_list": (10, 1.0),
    "loading": (100, 1.0),
}


@dataclass(frozen=True)
class Limits:
    """Every limit the sandbox enforces besides rate limits; all can be changed at run time."""

    messages: MessageLimits = field(default_factory=MessageLimits)
    max_body_bytes: int = 2 * 1024 * 1024
    multicast_max_recipients: int = 500
    reply_token_ttl: float = 60.0
    redelivered_reply_token_ttl: float = 20 * 60.0
    retry_key_ttl: float = 24 * 3600.0
    link_token_ttl: float = 600.0
    bulk_max_users: int = 500
    audience_max_ids: int = 10_000
    rich_menu_max_image_bytes: int = 1024 * 1024
    rich_menu_max_areas: int = 20
    followers_max_limit: int = 1000
    webhook_timeout: float = 10.0

    def updated(self, values: dict[str, Any]) -> "Limits":
        """A copy with the given values changed; message limits may be given at top level too."""
        message_names = {item.name for item in fields(MessageLimits)}
        own = {k: v for k, v in values.items() if k not in message_names and k != "messages"}
        unknown = set(own) - {item.name for item in fields(Limits)}
        if unknown:
            raise ValueError(f"Unknown limits: {', '.join(sorted(unknown))}")
        message_values = {k: v for k, v in values.items() if k in message_names}
        message_values.update(values.get("messages") or {})
        return replace(self, messages=replace(self.messages, **message_values), **own)

    def as_dict(self) -> dict[str, Any]:
        result = {item.name: getattr(self, item.name) for item in fields(self)}
        result["messages"] = {
            item.name: getattr(self.messages, item.name) for item in fields(self.messages)
        }
        return result


class RateLimiter:
    """Token buckets per (channel, endpoint): ``capacity`` requests refilled over ``seconds``."""

    def __init__(self, *, enabled: bool = True):
        self.enabled = enabled
        self.overrides: dict[str, tuple[int, float]] = {}
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self._lock = threading.Lock()

    def rate(self, endpoint: str) -> tuple[int, float]:
        return self.overrides.get(endpoint) or LINE_RATE_LIMITS.get(endpoint, DEFAULT_RATE)

    def allow(self, channel_id: str, endpoint: str) -> bool:
        """Take one token from the bucket, or say no when it is empty."""
        if not self.enabled:
            return True
        capacity, seconds = self.rate(endpoint)
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get((channel_id, endpoint), (float(capacity), now))
            tokens = min(float(capacity), tokens + (now - last) * capacity / seconds)
            allowed = tokens >= 1.0
            self._buckets[(channel_id, endpoint)] = (tokens - 1.0 if allowed else tokens, now)
        return allowed

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
