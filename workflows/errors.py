"""The project's one error hierarchy, defined in layer 0 so pure code shares it. Pure code.

Import it as ``wfo.errors`` from layers 1 and up (the same classes). The API maps each class to an HTTP
status once (``api.errors``) and to GraphQL errors; Temporal failures keep their own types
(``ApplicationError`` with ``non_retryable``) at the activity boundary.
"""

from __future__ import annotations

from typing import Any


class WfoError(Exception):
    """An expected failure with a message that is safe to show (no secrets, no internals).

    ``detail`` is an optional structured body the API returns instead of the bare message (e.g.
    ``{"message": ..., "problems": [...]}``)."""

    def __init__(self, message: str, *, detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def body(self) -> Any:
        """What a client sees: the structured detail when there is one, else the message."""
        return self.detail if self.detail is not None else self.message


class NotFound(WfoError):
    """The resource does not exist, or the caller may not know it exists (another tenant's)."""


class Conflict(WfoError):
    """The request is valid but clashes with the resource's state (archived workflow, duplicate name)."""


class Forbidden(WfoError):
    """The caller is known but not allowed to do this."""


class Unauthorized(WfoError):
    """Missing or invalid credentials (token, API key, signature)."""


class InvalidInput(WfoError):
    """What the client sent is wrong; the message says what and where."""


class MalformedRequest(InvalidInput):
    """What the client sent cannot even be parsed (a body that is not JSON, not UTF-8, ...)."""


class PreconditionFailed(WfoError):
    """A conditional request (``If-Match``) does not match the current state."""


class TooLarge(WfoError):
    """A body or value over its limit."""


class RateLimited(WfoError):
    """Over a rate limit; ``retry_after`` seconds until the next attempt may pass."""

    def __init__(self, message: str, *, retry_after: int = 1, detail: object = None) -> None:
        super().__init__(message, detail=detail)
        self.retry_after = retry_after


class Unavailable(WfoError):
    """A dependency (Temporal, the database) is unreachable; nothing was done, retry after ``retry_after``."""

    def __init__(self, message: str, *, retry_after: int = 5, detail: object = None) -> None:
        super().__init__(message, detail=detail)
        self.retry_after = retry_after


class UpstreamError(WfoError):
    """A remote service we depend on for this request (e.g. the SSO identity provider) is down or answered
    something unusable; nothing was done."""
