"""The LINE sandbox for the fan-out benchmark, started with its friends already in memory.

``python bench/fanout_emulator.py --port N --channel-id ID --access-token T --friends 1000000``
registers the channel and makes ``--friends`` users friends of it (user ids ``U`` + the number
in 32 hex digits, as ``fanout.py`` writes its members) without a million control-API calls,
then serves on 127.0.0.1.

It is served by gunicorn (one process, so one in-memory state; threads), which keeps HTTP
connections alive between requests as LINE does: Werkzeug's development server, which
``python -m linebot.sandbox`` uses, closes every connection after one answer, and a push per
member would then cost each side a TCP connection (and the server a thread) per message.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gunicorn.app.base import BaseApplication

from linebot.sandbox import create_app
from linebot.sandbox.setup import channel_apply
from linebot.sandbox.state import SimUser


def received_counts(channel):
    """What the friends received: how many got anything, messages in all, the most one got."""
    reached = total = most = 0
    for user in list(channel.users.values()):
        count = len(user.chat)
        reached += count > 0
        total += count
        most = max(most, count)
    return {"reached": reached, "messages": total, "most": most}


def with_counts(app, channel):
    """The sandbox, plus ``GET /bench/received``: the benchmark's exactly-once check without
    a million inspection calls."""

    def serve(environ, start_response):
        if environ.get("PATH_INFO") == "/bench/received":
            body = json.dumps(received_counts(channel)).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        return app(environ, start_response)

    return serve


def sandbox_with_friends(args):
    app = create_app(seed=1, rate_limits=args.rate_limits == "line")
    channel = channel_apply(
        app.sandbox,
        args.channel_id,
        {"accessToken": args.access_token, "name": "Bench OA", "webhookActive": False},
    )
    for number in range(args.friends):
        user_id = f"U{number:032x}"
        channel.users[user_id] = SimUser(
            user_id=user_id, display_name=f"Friend {number}", is_friend=True, followed_at=1
        )
    print(f"ready: {args.friends} friends", flush=True)
    return with_counts(app, channel)


class Server(BaseApplication):
    def __init__(self, args):
        self.args = args
        super().__init__()

    def load_config(self):
        settings = {
            "bind": f"127.0.0.1:{self.args.port}",
            "workers": 1,  # one process: the sandbox's state lives in its memory
            "worker_class": "gthread",
            "threads": self.args.threads,
            "keepalive": 75,
            "backlog": 2048,
            "accesslog": None,
            "loglevel": "warning",
        }
        for key, value in settings.items():
            self.cfg.set(key, value)

    def load(self):
        return sandbox_with_friends(self.args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--channel-id", required=True)
    parser.add_argument("--access-token", required=True)
    parser.add_argument("--friends", type=int, required=True)
    parser.add_argument("--rate-limits", choices=("line", "off"), default="off")
    parser.add_argument("--threads", type=int, default=16)
    Server(parser.parse_args()).run()


if __name__ == "__main__":
    main()
