"""The time journeys run on: the real time, or the time written in a file (tests, demos).

With ``settings.JOURNEYS_CLOCK_FILE`` set, every process (web, workers, beat) reads "now" from
that file (an ISO 8601 time), so a test can move the clock forward by days without sleeping.
"""

import datetime as dt
from pathlib import Path

from django.conf import settings
from django.utils import timezone


def clock_now() -> dt.datetime:
    path = getattr(settings, "JOURNEYS_CLOCK_FILE", "")
    if path:
        text = Path(path).read_text().strip()
        if text:
            value = dt.datetime.fromisoformat(text)
            if timezone.is_naive(value):
                raise ValueError(f"{path}: the clock must be an aware ISO 8601 time")
            return value
    return timezone.now()


def clock_set(path: str | Path, at: dt.datetime) -> None:
    """Write ``at`` as the time of a clock file (used by tests and the benchmark)."""
    if timezone.is_naive(at):
        raise ValueError("the clock must be set to an aware time")
    Path(path).write_text(at.isoformat())
