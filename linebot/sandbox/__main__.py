"""Serve the sandbox: ``python -m linebot.sandbox --port 8001``."""

import argparse
import logging

from werkzeug.serving import run_simple

from .app import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local emulator of the LINE platform.")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--app-url",
        default="",
        help="base URL of the app; a channel made from an unknown token gets the webhook "
        "URL {app-url}/line/webhook/{channelId}/",
    )
    parser.add_argument("--seed", type=int, default=None, help="makes ids and faults repeatable")
    parser.add_argument("--rate-limits", choices=("line", "off"), default="line")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    app = create_app(seed=args.seed, rate_limits=args.rate_limits == "line", app_url=args.app_url)
    run_simple(args.host, args.port, app, threaded=True)


if __name__ == "__main__":
    main()
