"""The LINE sandbox for the fan-out benchmark, started with its friends already in memory.

``python bench/fanout_emulator.py --port N --channel-id ID --access-token T --friends 1000000``
registers the channel and makes ``--friends`` users friends of it (user ids ``U`` + the number
in 32 hex digits, as ``fanout.py`` writes its members) without a million control-API calls,
then serves on 127.0.0.1.

It is served by granian, an HTTP server written in Rust: one worker process (one in-memory
state), connections kept alive between requests as LINE does. The sandbox shares this
machine's two cores with the pipeline it stands in for, so what its server costs per request
is taken from the sender: measured over 8,000 pushes from 4 client threads, the sandbox cost
0.60 ms of CPU per push under gunicorn (gthread, parsing HTTP in Python), 0.30 ms under
granian. Werkzeug's
development server, which ``python -m linebot.sandbox`` uses, closes every connection after
one answer.
"""

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from granian import Granian
from granian.constants import Interfaces
from granian.log import LogLevels

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


ARGS_VARIABLE = "FANOUT_SANDBOX_ARGS"


def app_from_environment():
    """The application of granian's worker process (started afresh, so the arguments travel
    in the environment)."""
    return sandbox_with_friends(argparse.Namespace(**json.loads(os.environ[ARGS_VARIABLE])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--channel-id", required=True)
    parser.add_argument("--access-token", required=True)
    parser.add_argument("--friends", type=int, required=True)
    parser.add_argument("--rate-limits", choices=("line", "off"), default="off")
    args = parser.parse_args()
    os.environ[ARGS_VARIABLE] = json.dumps(vars(args))
    Granian(
        "fanout_emulator:app_from_environment",
        factory=True,
        working_dir=Path(__file__).resolve().parent,
        address="127.0.0.1",
        port=args.port,
        interface=Interfaces.WSGI,
        workers=1,  # one process: the sandbox's state lives in its memory
        blocking_threads=1,  # the GIL runs one request at a time anyway; IO is granian's
        backlog=2048,
        log_level=LogLevels.warning,
    ).serve()


if __name__ == "__main__":
    main()
