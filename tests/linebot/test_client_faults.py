"""Transport faults over real HTTP: timeouts, connection resets, refused connections.

A small scripted HTTP server stands in for LINE, so that sockets really time out and really
break; each request still goes through the spec-checking adapter on its way out.
"""

import contextlib
import json
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from linebot.client import LineClient
from linebot.errors import LineConnectionError, LineServerError, LineTimeout

from .openapi import install

USER = "U" + "4af4980629" * 3 + "ab"
TEXT = {"type": "text", "text": "Hello"}
SENT = {"sentMessages": [{"id": "461230966842064897"}]}
PROFILE = {"displayName": "LINE taro", "userId": USER}


@dataclass
class Answer:
    """What the server does with one request: answer (maybe late), or reset the connection."""

    status: int = 200
    body: Any = None
    delay: float = 0.0
    reset: bool = False
    raw: bytes | None = None


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class ScriptedLine(ThreadingHTTPServer):
    """Answers requests from a script, recording each one before acting on it."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script: list[Answer] = []
        self.seen: list[Seen] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def next_answer(self) -> Answer:
        with self.lock:
            return self.script.pop(0) if self.script else Answer(500, {"message": "unscripted"})

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Writing to a socket the client gave up on is expected here, not a test failure."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ScriptedLine

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            self.server.seen.append(Seen(self.command, self.path, dict(self.headers), body))
        answer = self.server.next_answer()
        if answer.reset:
            # Linger 0 makes close() send a RST: the client sees "connection reset by peer"
            # after its request went out, the case where LINE may have acted on it.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        time.sleep(answer.delay)
        content = answer.raw if answer.raw is not None else json.dumps(answer.body or {}).encode()
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        self.send_header("x-line-request-id", f"req-{len(self.server.seen)}")
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test output is about the client."""


@pytest.fixture
def line() -> Iterator[ScriptedLine]:
    server = ScriptedLine()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def make_client(base: str, **kwargs: Any) -> LineClient:
    options = {"timeout": 0.3, "max_retries": 3, "backoff": 0.01, **kwargs}
    client = LineClient(access_token="token", api_base=base, api_data_base=base, **options)
    install(client)
    return client


def test_a_push_survives_a_500_a_timeout_and_a_reset_with_one_retry_key(line):
    line.script = [
        Answer(500, {"message": "Internal server error"}),
        Answer(200, SENT, delay=1.0),
        Answer(reset=True),
        Answer(200, SENT),
    ]
    client = make_client(line.url)

    result = client.push(to=USER, messages=[TEXT])

    keys = [seen.headers["X-Line-Retry-Key"] for seen in line.seen]
    assert len(keys) == 4 and len(set(keys)) == 1
    assert result.retry_key == keys[0]
    assert result.request_id == "req-4"
    assert result.sent_messages[0].id == "461230966842064897"


def test_the_read_timeout_is_honoured(line):
    line.script = [Answer(200, PROFILE, delay=2.0)]
    client = make_client(line.url, timeout=0.2, max_retries=0)

    started = time.monotonic()
    with pytest.raises(LineTimeout) as caught:
        client.profile(user_id=USER)

    assert time.monotonic() - started < 1.5
    assert caught.value.status is None
    assert "/v2/bot/profile/{user_id}" in str(caught.value)
    assert USER not in str(caught.value)


def test_a_read_is_retried_after_a_timeout(line):
    line.script = [Answer(200, PROFILE, delay=1.0), Answer(200, PROFILE)]
    client = make_client(line.url)

    assert client.profile(user_id=USER).display_name == "LINE taro"
    assert len(line.seen) == 2


def test_reply_is_not_retried_after_the_request_went_out(line):
    line.script = [Answer(reset=True), Answer(200, SENT)]
    client = make_client(line.url)

    with pytest.raises(LineConnectionError):
        client.reply(reply_token="single-use", messages=[TEXT])
    assert len(line.seen) == 1


def test_reply_is_not_retried_after_a_timeout(line):
    line.script = [Answer(200, SENT, delay=1.0), Answer(200, SENT)]
    client = make_client(line.url)

    with pytest.raises(LineTimeout):
        client.reply(reply_token="single-use", messages=[TEXT])
    assert len(line.seen) == 1


def test_transport_errors_name_the_endpoint_but_not_the_user(line):
    line.script = [Answer(reset=True)]
    client = make_client(line.url, max_retries=0)

    with pytest.raises(LineConnectionError) as caught:
        client.profile(user_id=USER)

    text = str(caught.value)
    assert "connection to 127.0.0.1" in text and "/v2/bot/profile/{user_id}" in text
    assert USER not in text
    # requests' own exception quotes the URL: it is not chained into the traceback.
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_creating_a_rich_menu_is_not_retried_after_a_reset(line):
    line.script = [Answer(reset=True), Answer(200, {"richMenuId": "r"})]
    client = make_client(line.url)

    with pytest.raises(LineConnectionError):
        client.rich_menu_create(
            rich_menu={
                "size": {"width": 2500, "height": 843},
                "selected": False,
                "name": "n",
                "chatBarText": "Menu",
                "areas": [],
            }
        )
    assert len(line.seen) == 1


def test_reply_is_retried_when_no_connection_could_be_opened():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    client = make_client(f"http://127.0.0.1:{closed_port}", max_retries=2)
    adapter = client.session.get_adapter("http://127.0.0.1")

    with pytest.raises(LineConnectionError, match="could not connect to"):
        client.reply(reply_token="single-use", messages=[TEXT])
    assert len(adapter.requests) == 3


def test_a_send_gives_up_after_max_retries(line):
    line.script = [Answer(503, {"message": "Service unavailable"})] * 3
    client = make_client(line.url, max_retries=2)

    with pytest.raises(LineServerError) as caught:
        client.broadcast(messages=[TEXT])
    assert caught.value.request_id == "req-3"
    assert len({seen.headers["X-Line-Retry-Key"] for seen in line.seen}) == 1


def test_content_is_streamed_in_chunks(line):
    blob = bytes(range(256)) * 2048
    line.script = [Answer(200, raw=blob)]
    client = make_client(line.url)

    with client.message_content(message_id="325708") as content:
        chunks = list(content.iter_bytes(chunk_size=64 * 1024))

    assert b"".join(chunks) == blob
    assert len(chunks) > 1
    assert content.content_length == len(blob)
