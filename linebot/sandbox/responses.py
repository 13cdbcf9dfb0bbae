"""LINE-shaped answers: JSON bodies, error bodies and the exception handlers raise to send one."""

import json
from typing import Any

from werkzeug.wrappers import Response

from linebot.validation import Problem


class ApiError(Exception):
    """Raised by a handler to answer LINE's error body ``{"message", "details"?}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        details: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or []
        self.headers = headers or {}
        self.extra = extra or {}

    def response(self) -> Response:
        body: dict[str, Any] = {"message": self.message}
        if self.details:
            body["details"] = self.details
        body.update(self.extra)
        response = json_response(body, status=self.status)
        response.headers.update(self.headers)
        return response


def json_response(body: Any, *, status: int = 200) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False), status=status, content_type="application/json"
    )


def problems_error(problems: list[Problem]) -> ApiError:
    """LINE's 400 for an invalid request body, one detail per problem."""
    return ApiError(
        400,
        f"The request body has {len(problems)} error(s)",
        details=[{"message": problem.message, "property": problem.path} for problem in problems],
    )


def invalid_property(prop: str, message: str) -> ApiError:
    return problems_error([Problem(prop, message)])


NOT_FOUND = "Not found"
RATE_LIMITED = "The API rate limit has been exceeded. Try again later."
MONTHLY_LIMIT = "You have reached your monthly limit."
