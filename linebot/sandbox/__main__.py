"""Serve the sandbox: ``python -m linebot.sandbox --port 8001``."""

import argparse
import json
import logging
from pathlib import Path

from werkzeug.serving import run_simple

from .app import create_app
from .serving import RedactingRequestHandler
from .setup import setup_apply


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local emulator of the LINE platform.")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--app-url",
        default="",
        help="base URL of the app: linked from /sandbox/, and the base of relative webhook URLs",
    )
    parser.add_argument("--seed", type=int, default=None, help="makes ids and faults repeatable")
    parser.add_argument("--rate-limits", choices=("line", "off"), default="line")
    parser.add_argument(
        "--config",
        type=Path,
        help="JSON file: channels, loginChannels, limits, rateLimits, faults, faultSeed",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="JSON",
        help='a fault rule, e.g. \'{"kind": "500", "path": "/v2/bot/message/*", "rate": 0.1}\'',
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    app = create_app(seed=args.seed, rate_limits=args.rate_limits == "line", app_url=args.app_url)
    config = json.loads(args.config.read_text()) if args.config else {}
    if args.fault:
        config["faults"] = [*config.get("faults", []), *(json.loads(f) for f in args.fault)]
    try:
        setup_apply(app.sandbox, config)
    except (KeyError, ValueError) as error:
        parser.error(f"bad configuration: {error}")
    run_simple(args.host, args.port, app, threaded=True, request_handler=RedactingRequestHandler)


if __name__ == "__main__":
    main()
