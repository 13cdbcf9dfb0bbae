"""The one exception hierarchy of the Messaging API client.

Every failure of a call to LINE is a ``LineApiError``: an HTTP error answer from LINE (with its
status, message, details and request id) or a transport failure (``LineConnectionError``,
``LineTimeout``, status ``None``). Callers record ``str(error)`` on delivery rows and logs, so
it is readable and never carries the channel access token.
"""

from collections.abc import Mapping
from typing import NamedTuple

MONTHLY_LIMIT_MESSAGE = "You have reached your monthly limit."
RATE_LIMIT_MESSAGE = "The API rate limit has been exceeded. Try again later."
RETRY_KEY_ACCEPTED_MESSAGE = "The retry key is already accepted"


class ErrorDetail(NamedTuple):
    """One item of LINE's ``details``: what is wrong, and where (a JSON path or parameter)."""

    message: str | None
    property: str | None

    def __str__(self) -> str:
        if self.property and self.message:
            return f"{self.property}: {self.message}"
        return self.property or self.message or ""


class LineApiError(Exception):
    """A call to the LINE platform failed; ``status`` is None when no HTTP answer came back."""

    def __init__(
        self,
        status: int | None,
        message: str,
        details: list[ErrorDetail] | None = None,
        request_id: str | None = None,
        accepted_request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        endpoint: str | None = None,
    ) -> None:
        self.status = status
        self.message = message
        self.details = list(details or [])
        self.request_id = request_id
        self.accepted_request_id = accepted_request_id
        self.headers = dict(headers or {})
        # The path template ("/v2/bot/profile/{user_id}"), never the filled-in path: it names
        # the endpoint without putting a user id into logs.
        self.endpoint = endpoint
        super().__init__(message)

    def __str__(self) -> str:
        head = f"{self.status} {self.message}" if self.status is not None else self.message
        parts = [head]
        if self.details:
            parts.append("[" + "; ".join(str(detail) for detail in self.details) + "]")
        if self.endpoint:
            parts.append(f"({self.endpoint})")
        if self.request_id:
            parts.append(f"request id {self.request_id}")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __reduce__(self) -> tuple[object, ...]:
        # Celery and multiprocessing pickle exceptions; the default rebuilds them from
        # ``args`` alone, which does not fit this constructor.
        return (_restore, (type(self), self.__dict__))


class LineBadRequest(LineApiError):
    """400: LINE rejected the request itself (invalid body, bad parameter, expired token)."""


class LineUnauthorized(LineApiError):
    """401: the channel access token is invalid or expired."""


class LineForbidden(LineApiError):
    """403: the channel's plan or permissions do not allow this call."""


class LineNotFound(LineApiError):
    """404: no such resource, or (for profiles) the user is not a friend or blocked us."""


class LineConflict(LineApiError):
    """409: a conflicting resource exists, or a retry key was already accepted."""


class LineRequestTooLarge(LineApiError):
    """413: the request body is over LINE's size limit (2 MB for sends)."""


class LineRateLimited(LineApiError):
    """429: over the rate limit (retry later) or the monthly message quota is used up."""

    @property
    def is_monthly_limit(self) -> bool:
        """True when the month's quota is spent: waiting seconds will not help, so no retry."""
        return "monthly limit" in self.message.lower()


class LineServerError(LineApiError):
    """5xx: LINE failed; the same request may succeed later."""


class LineTransportError(LineApiError):
    """No HTTP answer from LINE: the request may or may not have reached it."""

    def __init__(self, message: str, *, endpoint: str | None = None) -> None:
        super().__init__(None, message, endpoint=endpoint)


class LineConnectionError(LineTransportError):
    """The connection could not be opened, or broke before an answer came back."""


class LineTimeout(LineTransportError):
    """Connecting or waiting for the answer took longer than the client's timeout."""


def _restore(cls: type[LineApiError], state: dict[str, object]) -> LineApiError:
    error = cls.__new__(cls)
    error.__dict__.update(state)
    error.args = (state["message"],)
    return error


_BY_STATUS: dict[int, type[LineApiError]] = {
    400: LineBadRequest,
    401: LineUnauthorized,
    403: LineForbidden,
    404: LineNotFound,
    409: LineConflict,
    413: LineRequestTooLarge,
    429: LineRateLimited,
}


def error_class_for_status(status: int) -> type[LineApiError]:
    """The exception class that stands for an HTTP error status from LINE."""
    if status >= 500:
        return LineServerError
    return _BY_STATUS.get(status, LineApiError)
