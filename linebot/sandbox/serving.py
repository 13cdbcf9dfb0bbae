"""Serving the sandbox with Werkzeug's threaded server, without user ids in the access log.

Simulated users stand in for real people in demos, so their ids are treated like personal
data: the access log shows ``U…`` instead.
"""

import re
from typing import Any

from werkzeug.serving import WSGIRequestHandler

USER_ID = re.compile(r"U[0-9a-f]{32}")


class RedactingRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler, logging request lines with user ids (and query strings) hidden."""

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        path = USER_ID.sub("U…", self.path.split("?", 1)[0])
        self.log("info", '"%s %s" %s %s', self.command, path, code, size)
