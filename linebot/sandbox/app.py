"""The WSGI application: routes every path to its handler through LINE's request pipeline.

For LINE paths the pipeline is: body size (413), injected faults, authentication (401),
``X-Line-Retry-Key`` (400/409), rate limit (429), the handler; every answer carries an
``x-line-request-id`` and every request is recorded for inspection.
"""

import contextlib
import socket
import time
import uuid
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from . import audiences, control_api, insight, login, messaging, phone, richmenus, webhooks
from .faults import FaultRule
from .responses import NOT_FOUND, RATE_LIMITED, ApiError
from .routing import Call, Route
from .state import Channel, Sandbox, now_ms

AUTH_MISSING = (
    "Authorization header required. Must follow the scheme, 'Authorization: Bearer <ACCESS TOKEN>'"
)
AUTH_FAILED = (
    "Authentication failed due to the following reason: invalid token. "
    "Confirm that the access token in the authorization header is valid."
)
# Credentials are never recorded; everything else is, for inspection.
UNRECORDED_HEADERS = frozenset({"authorization", "cookie"})


class SandboxApp:
    """The emulator as a WSGI callable; ``sandbox`` is its state, shared with the control API."""

    def __init__(self, sandbox: Sandbox | None = None):
        self.sandbox = sandbox or Sandbox()
        routes: list[Route] = [
            *messaging.ROUTES,
            *webhooks.ROUTES,
            *richmenus.ROUTES,
            *audiences.ROUTES,
            *insight.ROUTES,
            *login.ROUTES,
            *control_api.ROUTES,
            *phone.ROUTES,
        ]
        self.routes = {route.name: route for route in routes}
        if len(self.routes) != len(routes):
            raise ValueError("Route names must be unique")
        self.url_map = Map(
            [Rule(route.rule, endpoint=route.name, methods=[route.method]) for route in routes],
            strict_slashes=False,
        )

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        return self.dispatch(request)(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            name, args = adapter.match()
        except NotFound:
            return _with_request_id(ApiError(404, NOT_FOUND).response(), request_id)
        except MethodNotAllowed:
            return _with_request_id(ApiError(405, "Method not allowed").response(), request_id)
        except HTTPException as error:
            return error.get_response(request.environ)
        route = self.routes[name]
        call = Call(sandbox=self.sandbox, request=request, request_id=request_id)
        if route.kind == "sandbox":
            try:
                return route.handler(call, **args)
            except ApiError as error:
                return error.response()
        started = time.monotonic()
        record = {
            "id": request_id,
            "timestamp": now_ms(),
            "endpoint": route.name,
            "method": request.method,
            "path": request.path,
            "query": request.query_string.decode("latin-1"),
            "headers": {
                key: value
                for key, value in request.headers.items()
                if key.lower() not in UNRECORDED_HEADERS
            },
            "channelId": None,
            "status": 0,
        }
        try:
            response = self._line_call(route, call, args, record)
        except ApiError as error:
            response = error.response()
        except ConnectionAbortedError:
            record["fault"] = "drop"
            self.sandbox.requests.append(record)
            raise
        record["status"] = response.status_code
        record["durationMs"] = round((time.monotonic() - started) * 1000, 3)
        record["channelId"] = call.channel.channel_id if call.channel else None
        self.sandbox.requests.append(record)
        return _with_request_id(response, request_id)

    def _line_call(
        self, route: Route, call: Call, args: dict[str, Any], record: dict[str, Any]
    ) -> Response:
        sandbox, request = self.sandbox, call.request
        limit = sandbox.limits.max_body_bytes
        if (request.content_length or 0) > limit:
            raise ApiError(413, "Request Entity Too Large")
        data = request.get_data(cache=True)
        if len(data) > limit:
            raise ApiError(413, "Request Entity Too Large")
        record["body"] = _recorded_body(call, data)
        fault = sandbox.faults.draw(request.method, request.path)
        if fault is not None:
            record["fault"] = fault.kind
            _inject(fault, request)
        if route.kind == "login":
            if not route.locked:
                return route.handler(call, **args)
            with sandbox.lock:
                return route.handler(call, **args)
        call.channel = _authenticate(sandbox, request)
        retry_key = request.headers.get("X-Line-Retry-Key")
        if retry_key is not None:
            if not route.retry_key:
                raise ApiError(400, "X-Line-Retry-Key header is not supported for this API.")
            try:
                retry_key = str(uuid.UUID(retry_key))
            except ValueError as error:
                raise ApiError(
                    400, "The value for the 'X-Line-Retry-Key' header is invalid."
                ) from error
        if not sandbox.rate_limiter.allow(call.channel.channel_id, route.name):
            raise ApiError(429, RATE_LIMITED)
        if not route.locked:
            return route.handler(call, **args)
        with sandbox.lock:
            if retry_key is not None:
                _retry_key_check(sandbox, call.channel, retry_key)
            response = route.handler(call, **args)
            if retry_key is not None and 200 <= response.status_code < 300:
                if len(call.channel.retry_keys) >= call.channel.prune_at:
                    call.channel.forget_expired(
                        time.time(), redelivery_window=sandbox.limits.redelivered_reply_token_ttl
                    )
                body = response.get_json(silent=True) or {}
                call.channel.retry_keys[retry_key] = {
                    "requestId": call.request_id,
                    "expires": time.time() + sandbox.limits.retry_key_ttl,
                    "sentMessages": body.get("sentMessages"),
                }
            return response


def _authenticate(sandbox: Sandbox, request: Request) -> Channel:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, AUTH_MISSING)
    channel = sandbox.channel_for_token(token.strip())
    if channel is None:
        raise ApiError(401, AUTH_FAILED)
    return channel


def _retry_key_check(sandbox: Sandbox, channel: Channel, retry_key: str) -> None:
    accepted = channel.retry_keys.get(retry_key)
    if accepted is None or accepted["expires"] < time.time():
        return
    extra = {"sentMessages": accepted["sentMessages"]} if accepted["sentMessages"] else {}
    raise ApiError(
        409,
        "The retry key is already accepted",
        headers={"x-line-accepted-request-id": accepted["requestId"]},
        extra=extra,
    )


def _inject(fault: FaultRule, request: Request) -> None:
    """Fail the request the way the rule says (or just delay it, for ``slow``)."""
    if fault.kind == "429":
        raise ApiError(429, RATE_LIMITED)
    if fault.kind == "500":
        raise ApiError(500, "Internal server error")
    if fault.kind in ("slow", "timeout"):
        time.sleep(fault.delay)
        if fault.kind == "timeout":
            raise ApiError(504, "Gateway timeout")
        return
    sock = request.environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    # The server treats this as a dropped connection and writes nothing back.
    raise ConnectionAbortedError("sandbox fault: connection dropped")


def _recorded_body(call: Call, data: bytes) -> Any:
    if not data:
        return None
    if call.request.mimetype == "application/json":
        with contextlib.suppress(ApiError):
            return call.json()
    return {"bytes": len(data), "contentType": call.request.mimetype}


def _with_request_id(response: Response, request_id: str) -> Response:
    response.headers["x-line-request-id"] = request_id
    return response


def create_app(**options: Any) -> SandboxApp:
    """A fresh emulator; ``options`` go to :class:`Sandbox` (seed, rate_limits, app_url...)."""
    return SandboxApp(Sandbox(**options))
