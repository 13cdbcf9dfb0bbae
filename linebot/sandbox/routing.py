"""What a route is, and the per-request context a handler receives."""

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from .responses import ApiError
from .state import Channel, Sandbox


@dataclass
class Call:
    """One request as a handler sees it: the state, the request and the authenticated channel."""

    sandbox: Sandbox
    request: Request
    request_id: str
    channel: Channel | None = None

    def json(self) -> Any:
        """The parsed JSON body, or LINE's 400 when it is not JSON."""
        return self._parsed_json

    @functools.cached_property
    def _parsed_json(self) -> Any:
        # Parsed once: the request record and the handler both read the body.
        try:
            return json.loads(self.request.get_data(cache=True) or b"null")
        except ValueError as error:
            raise ApiError(
                400,
                "The request body has 1 error(s)",
                details=[{"message": f"Malformed JSON: {error}", "property": ""}],
            ) from error

    def json_object(self) -> dict[str, Any]:
        body = self.json()
        if not isinstance(body, dict):
            raise ApiError(
                400,
                "The request body has 1 error(s)",
                details=[{"message": "Must be a JSON object.", "property": ""}],
            )
        return body

    @property
    def bot(self) -> Channel:
        """The authenticated channel (routes with ``auth="bot"`` always have one)."""
        assert self.channel is not None
        return self.channel


Handler = Callable[..., Response]


@dataclass(frozen=True)
class Route:
    """A path served by the sandbox.

    ``kind`` says how the request is treated: ``bot`` needs a channel access token, is recorded,
    rate limited and subject to faults; ``login`` is a LINE Login path (recorded, faults, its own
    authentication); ``sandbox`` is the control API and pages (none of that).
    ``retry_key`` marks the endpoints that accept ``X-Line-Retry-Key``; ``locked=False`` lets a
    handler that calls the app's webhook take the state lock itself, only around state changes.
    """

    rule: str
    method: str
    name: str
    handler: Handler
    kind: str = "bot"
    retry_key: bool = False
    locked: bool = True
