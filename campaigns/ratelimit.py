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

# KEYS[1]: the bucket. ARGV: rate (tokens/s), capacity, count (tokens wanted). Answers the
# seconds to wait: 0 when the tokens were taken, else how long until they are there (nothing is
# taken then). Redis's own clock, read inside the script: one round trip, and machines with
# drifting clocks share one notion of "now".
_TAKE = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local count = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= count then
  tokens = tokens - count
else
  wait = (count - tokens) / rate
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

    def take(self, key: str, *, rate: float, capacity: float, count: int = 1) -> float:
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.setdefault(key, _Bucket(tokens=capacity, at=now))
            bucket.tokens = min(capacity, bucket.tokens + (now - bucket.at) * rate)
            bucket.at = now
            if bucket.tokens >= count:
                bucket.tokens -= count
                return 0.0
            return (count - bucket.tokens) / rate


class RedisLimiter:
    """The bucket in Redis; the Lua script makes read-refill-take one atomic step."""

    def __init__(self, url: str):
        self._redis = shared_redis(url)
        self._script = self._redis.register_script(_TAKE)

    def take(self, key: str, *, rate: float, capacity: float, count: int = 1) -> float:
        return float(self._script(keys=[key], args=[rate, capacity, count]))


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


def rate_limit_wait(
    *, channel_id: str, endpoint: str, rate: float | None = None, count: int = 1
) -> None:
    """Block until the channel may call ``endpoint`` ``count`` more times within LINE's rate
    limit (a sender of many pushes takes the tokens for a chunk of them at once)."""
    per_second = rate or RATES[endpoint]
    # A capacity of one second's worth allows LINE's burst and no more.
    capacity = max(per_second, count)
    key = f"line-rate:{channel_id}:{endpoint}"
    while True:
        wait = limiter().take(key, rate=per_second, capacity=capacity, count=count)
        if wait <= 0:
            return
        time.sleep(wait)
