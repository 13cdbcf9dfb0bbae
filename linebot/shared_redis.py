"""The Redis that every process shares for coordination, from ``SHARED_REDIS_URL``.

Web and worker processes agree through it on what no single process can know alone: LINE's
rate limits (``campaigns.ratelimit``) and whether a webhook drain is already queued
(``linebot.webhook``). Without it (the embedded default) each process decides alone, which is
right for one machine.
"""

import functools

from django.conf import settings


@functools.cache
def _client(url: str):
    import redis

    # Short timeouts: a coordination call must never hold up a webhook answer for long.
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def shared_redis(url: str | None = None):
    """A client of the shared Redis (one per process and URL), or None when there is none."""
    url = settings.SHARED_REDIS_URL if url is None else url
    return _client(url) if url else None
