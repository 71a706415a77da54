"""The project's error hierarchy: what services raise, mapped once to HTTP (``api.errors``) and GraphQL.

Every error raised on purpose derives from ``WfoError``. A service never raises an HTTP type: it raises
one of these, and the API maps the class to a status code in one place. ``message`` is safe to show to
the caller (no secrets, no internals); ``detail`` is an optional structured body (e.g. the ``problems``
of an invalid definition). The classes are defined in layer 0 (``workflows.errors``) so that pure code
(definitions, expressions, the engine) shares the same base; this is where layers 1-5 import them.
"""

from __future__ import annotations

from workflows.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    MalformedRequest,
    NotFound,
    PreconditionFailed,
    RateLimited,
    TooLarge,
    Unauthorized,
    Unavailable,
    UpstreamError,
    WfoError,
)

__all__ = [
    "Conflict",
    "Forbidden",
    "InvalidInput",
    "MalformedRequest",
    "NotFound",
    "PreconditionFailed",
    "RateLimited",
    "TooLarge",
    "Unauthorized",
    "Unavailable",
    "UpstreamError",
    "WfoError",
]
