"""Injected failures, so the app's retries and timeouts are tested against a platform that fails.

A rule matches requests by method and path pattern (fnmatch, e.g. ``/v2/bot/message/*``) and
fails a share of them. One seeded random generator draws every decision, so a run with the same
seed and the same request order fails the same requests.
"""

import fnmatch
import random
import threading
from dataclasses import asdict, dataclass
from typing import Any

KINDS = ("429", "500", "slow", "timeout", "drop")


def seeded_random(seed: int | None) -> random.Random:
    """A generator that repeats its draws for a seed: for test data and faults, never secrets."""
    return random.Random(seed)  # noqa: S311 (repeatable on purpose)


@dataclass(frozen=True)
class FaultRule:
    """Fail ``rate`` (0..1) of the requests matching ``method`` and ``path`` in a ``kind`` way.

    ``slow`` answers normally after ``delay`` seconds; ``timeout`` waits ``delay`` seconds and
    then answers 504 the way a gateway would; ``drop`` closes the connection without answering.
    ``remaining`` limits how many times the rule fires (None: forever).
    """

    kind: str
    path: str = "*"
    method: str = "*"
    rate: float = 1.0
    delay: float = 0.0
    remaining: int | None = None

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method.upper())) and fnmatch.fnmatchcase(path, self.path)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FaultRule":
        kind = str(data.get("kind"))
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        rate = float(data.get("rate", 1.0))
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        default_delay = {"slow": 1.0, "timeout": 30.0}.get(kind, 0.0)
        remaining = data.get("remaining")
        return cls(
            kind=kind,
            path=str(data.get("path", "*")),
            method=str(data.get("method", "*")).upper(),
            rate=rate,
            delay=float(data.get("delay", default_delay)),
            remaining=None if remaining is None else int(remaining),
        )


class Faults:
    """The active fault rules and the seeded generator that decides which requests fail."""

    def __init__(self, *, seed: int | None = None):
        self.rules: list[FaultRule] = []
        self.seed = seed
        self._random = seeded_random(seed)
        self._lock = threading.Lock()

    def configure(self, rules: list[FaultRule], *, seed: int | None = None) -> None:
        """Replace the rules; a seed restarts the generator so the sequence repeats."""
        with self._lock:
            self.rules = list(rules)
            if seed is not None:
                self.seed = seed
            self._random = seeded_random(self.seed)

    def draw(self, method: str, path: str) -> FaultRule | None:
        """The rule that fails this request, if any (first matching rule wins the draw)."""
        with self._lock:
            for index, rule in enumerate(self.rules):
                if not rule.matches(method, path):
                    continue
                if self._random.random() >= rule.rate:
                    return None
                if rule.remaining is not None:
                    left = rule.remaining - 1
                    if left <= 0:
                        del self.rules[index]
                    else:
                        self.rules[index] = FaultRule(**{**asdict(rule), "remaining": left})
                return rule
        return None

    def as_list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(rule) for rule in self.rules]
