"""Pytest fixtures serving the LINE sandbox over real HTTP, and a webhook receiver.

- ``sandbox_server`` (session): the sandbox on a free 127.0.0.1 port in a background thread;
  yields a :class:`SandboxServer` with ``.url``, ``.control`` (SandboxControl) and ``.app``.
- ``sandbox`` (function): the same server, reset before the test.
- ``webhook_receiver`` (function): a threaded HTTP server recording every POST it gets.
- ``sandbox_channel`` (function): a registered channel whose webhook URL is the receiver.
"""

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from werkzeug.serving import make_server

from linebot.sandbox import SandboxApp, create_app
from linebot.sandbox.control import SandboxControl
from linebot.sandbox.serving import RedactingRequestHandler

SANDBOX_SEED = 20260401


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now, for a server a test starts itself."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SandboxServer:
    url: str
    control: SandboxControl
    app: SandboxApp


@dataclass
class ReceivedWebhook:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """Records POSTs; answers ``status`` (200 unless a test changes it)."""

    url: str = ""
    status: int = 200
    received: list[ReceivedWebhook] = field(default_factory=list)

    @property
    def events(self) -> list[dict[str, Any]]:
        return [event for hook in self.received for event in hook.json["events"]]


@dataclass
class ChannelInfo:
    """A registered channel: its id, credentials and its receiver."""

    channel_id: str
    access_token: str
    channel_secret: str
    bot_user_id: str
    receiver: WebhookReceiver

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    app = create_app(seed=SANDBOX_SEED)
    server = make_server(
        "127.0.0.1", 0, app, threaded=True, request_handler=RedactingRequestHandler
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield SandboxServer(url=url, control=SandboxControl(url), app=app)
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> SandboxServer:
    sandbox_server.control.reset()
    return sandbox_server


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            receiver.received.append(
                ReceivedWebhook(self.path, dict(self.headers.items()), self.rfile.read(length))
            )
            self.send_response(receiver.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_port}/webhook"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def sandbox_channel(sandbox: SandboxServer, webhook_receiver: WebhookReceiver) -> ChannelInfo:
    registered = sandbox.control.channel_register(
        "1234567890",
        accessToken="test-access-token",
        channelSecret="0123456789abcdef0123456789abcdef",
        webhookUrl=webhook_receiver.url,
        name="Test OA",
    )
    return ChannelInfo(
        channel_id=registered["channelId"],
        access_token=registered["accessToken"],
        channel_secret=registered["channelSecret"],
        bot_user_id=registered["botUserId"],
        receiver=webhook_receiver,
    )
