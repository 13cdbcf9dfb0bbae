"""`python -m linebot.preview messages.json [-o page.html]`: a standalone preview page.

For looking at a message outside the admin (or taking a headless-browser screenshot of it):
the page inlines the stylesheet and has no scripts, so it works from a file:// URL.
"""

import argparse
import json
import sys
from pathlib import Path

from . import preview_css, render_messages

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>LINE message preview</title>
<style>{css}</style>
<style>body{{margin:0;background:#2b3440}}.lp-chat{{max-width:420px;margin:0 auto}}</style>
</head><body>{chat}</body></html>
"""


def page(messages: object) -> str:
    """A complete HTML document showing `messages` in a phone-wide chat.

    The stylesheet is our own file, inlined as is; only the messages are untrusted, and
    `render_messages` escapes them.
    """
    return PAGE.format(css=preview_css(), chat=str(render_messages(messages)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m linebot.preview", description=__doc__)
    parser.add_argument("json_file", type=Path, help="a message, a list of messages or a request")
    parser.add_argument("-o", "--output", type=Path, help="where to write the page (stdout)")
    args = parser.parse_args(argv)
    data = json.loads(args.json_file.read_text(encoding="utf-8"))
    if isinstance(data, dict):
        # A push/reply request body, a Flex container, or a single message.
        if "messages" in data:
            data = data["messages"]
        elif data.get("type") in ("bubble", "carousel"):
            data = [{"type": "flex", "altText": "Flex Message", "contents": data}]
        else:
            data = [data]
    html = page(data)
    if args.output:
        args.output.write_text(html, encoding="utf-8")
    else:
        sys.stdout.write(html)


if __name__ == "__main__":
    main()
