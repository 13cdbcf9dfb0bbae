"""The LINE sandbox for the fan-out benchmark, started with its friends already in memory.

``python bench/fanout_emulator.py --port N --channel-id ID --access-token T --friends 1000000``
registers the channel and makes ``--friends`` users friends of it (user ids ``U`` + the number
in 32 hex digits, as ``fanout.py`` writes its members) without a million control-API calls,
then serves on 127.0.0.1 like ``python -m linebot.sandbox``.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from werkzeug.serving import run_simple

from linebot.sandbox import create_app
from linebot.sandbox.serving import RedactingRequestHandler
from linebot.sandbox.setup import channel_apply
from linebot.sandbox.state import SimUser


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--channel-id", required=True)
    parser.add_argument("--access-token", required=True)
    parser.add_argument("--friends", type=int, required=True)
    parser.add_argument("--rate-limits", choices=("line", "off"), default="off")
    args = parser.parse_args()
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
    run_simple("127.0.0.1", args.port, app, threaded=True, request_handler=RedactingRequestHandler)


if __name__ == "__main__":
    main()
