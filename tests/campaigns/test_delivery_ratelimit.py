"""The shared token bucket: a burst of one second's worth, then LINE's rate, across clients."""

import os
import time
import uuid

import pytest

from campaigns.ratelimit import LocalLimiter, RedisLimiter

REDIS_URL = os.environ.get("CELERY_BROKER_URL", "")


def takes_without_waiting(limiter, key, *, rate, capacity, tries):
    return sum(limiter.take(key, rate=rate, capacity=capacity) == 0 for _ in range(tries))


def test_local_bucket_allows_a_burst_then_refills_at_the_rate():
    limiter = LocalLimiter()
    assert takes_without_waiting(limiter, "k", rate=10, capacity=10, tries=15) == 10
    wait = limiter.take("k", rate=10, capacity=10)
    assert 0 < wait <= 0.1
    time.sleep(0.25)
    assert takes_without_waiting(limiter, "k", rate=10, capacity=10, tries=5) in (2, 3)
    # Another channel or endpoint has its own bucket.
    assert limiter.take("other", rate=10, capacity=10) == 0


@pytest.mark.skipif(not REDIS_URL.startswith("redis://"), reason="needs Redis")
def test_redis_bucket_is_shared_by_every_client():
    key = f"line-rate:test:{uuid.uuid4().hex}"
    first, second = RedisLimiter(REDIS_URL), RedisLimiter(REDIS_URL)
    taken = takes_without_waiting(first, key, rate=5, capacity=5, tries=3)
    taken += takes_without_waiting(second, key, rate=5, capacity=5, tries=5)
    assert taken == 5
    assert 0 < second.take(key, rate=5, capacity=5) <= 0.2
