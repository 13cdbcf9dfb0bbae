"""A token bucket per channel and LINE endpoint, shared by every worker through Redis.

LINE counts requests per channel and endpoint (multicast 200/s, push 2,000/s); many workers on
many machines must stay inside one budget together, so the bucket lives in Redis and is taken
from atomically by a Lua script. Without Redis (the embedded default) an in-process bucket
does the same for the one machine.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django.conf import settings

from linebot.shared_redis import shared_redis

# LINE's published limits, in requests per second (see LINE-LIMITS.md).
RATES = {"push": 2000.0, "multicast": 200.0}

# KEYS[1]: the bucket. ARGV: rate (tokens/s), capacity, now (s). Answers the seconds to wait:
# 0 when a token was taken, else how long until one is there (nothing is taken then).
_TAKE = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 1)
return tostring(wait)
"""


@dataclass
class _Bucket:
    tokens: float
    at: float


class LocalLimiter:
    """The same bucket in this process only: for the embedded default without Redis."""

    def __init__(self):
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str, *, rate: float, capacity: float) -> float:
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.setdefault(key, _Bucket(tokens=capacity, at=now))
            bucket.tokens = min(capacity, bucket.tokens + (now - bucket.at) * rate)
            bucket.at = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0.0
            return (1 - bucket.tokens) / rate


class RedisLimiter:
    """The bucket in Redis; the Lua script makes read-refill-take one atomic step."""

    def __init__(self, url: str):
        self._redis = shared_redis(url)
        self._script = self._redis.register_script(_TAKE)

    def take(self, key: str, *, rate: float, capacity: float) -> float:
        # Redis's own clock, so machines with drifting clocks share one notion of "now".
        seconds, micros = self._redis.time()
        return float(self._script(keys=[key], args=[rate, capacity, seconds + micros / 1e6]))


_limiter: LocalLimiter | RedisLimiter | None = None
_limiter_lock = threading.Lock()


def limiter() -> LocalLimiter | RedisLimiter:
    """The process's limiter, made from ``LINE_RATE_LIMIT_REDIS_URL`` on first use."""
    global _limiter
    with _limiter_lock:
        if _limiter is None:
            url = getattr(settings, "LINE_RATE_LIMIT_REDIS_URL", "")
            _limiter = RedisLimiter(url) if url else LocalLimiter()
        return _limiter


def rate_limit_wait(*, channel_id: str, endpoint: str, rate: float | None = None) -> None:
    """Block until the channel may call ``endpoint`` once more within LINE's rate limit."""
    per_second = rate or RATES[endpoint]
    # A capacity of one second's worth allows LINE's burst and no more.
    key = f"line-rate:{channel_id}:{endpoint}"
    while True:
        wait = limiter().take(key, rate=per_second, capacity=per_second)
        if wait <= 0:
            return
        time.sleep(wait)
