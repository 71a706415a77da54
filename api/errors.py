"""The one mapping from the project's errors (``wfo.errors``) to HTTP, used by REST and bulk.

Services raise ``WfoError`` subclasses, never HTTP types. ``install(app)`` registers one exception
handler that answers ``{"detail": ...}`` with the status below (the same body shape as FastAPI's
``HTTPException``). Bulk items use ``http_status`` and ``error_body`` on the same exceptions, and
GraphQL turns them into ``errors`` messages with ``messages`` (mutation payloads) or a GraphQL error
with ``extensions.code`` from ``graphql_code``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from wfo.errors import (
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

STATUS: dict[type[WfoError], int] = {
    MalformedRequest: 400,
    InvalidInput: 422,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    PreconditionFailed: 412,
    TooLarge: 413,
    RateLimited: 429,
    Unavailable: 503,
    UpstreamError: 502,
}


def http_status(exc: WfoError) -> int:
    """The status of the most specific mapped class (an unmapped ``WfoError`` is a 400)."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def http_headers(exc: WfoError) -> dict[str, str]:
    if isinstance(exc, (RateLimited, Unavailable)):
        return {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, Unauthorized):
        return {"WWW-Authenticate": "Bearer"}
    return {}


def error_body(exc: WfoError) -> Any:
    """The ``detail`` a client sees: the structured detail if the error has one, else its message."""
    return exc.body()


def to_response(exc: WfoError) -> JSONResponse:
    return JSONResponse({"detail": error_body(exc)}, status_code=http_status(exc), headers=http_headers(exc))


def messages(exc: WfoError) -> list[str]:
    """GraphQL ``errors`` strings: one per located problem (node, edge, field), else the message."""
    detail = exc.detail
    if isinstance(detail, dict):
        problems = detail.get("problems") or detail.get("errors")
        if problems:
            out = []
            for p in problems:
                if "parameter" in p:
                    out.append(f"parameter {p['parameter']}: {p['message']}")
                else:
                    where = [f"node '{p['node_id']}'" if p.get("node_id") else "",
                             f"edge #{p['edge_index']}" if p.get("edge_index") is not None else "",
                             p.get("field") or ""]
                    prefix = ", ".join(w for w in where if w)
                    out.append(f"{prefix}: {p['message']}" if prefix else p["message"])
            return out
        return [str(detail.get("message") or detail)]
    return [str(exc.body())]


GRAPHQL_CODES: dict[int, str] = {400: "BAD_USER_INPUT", 401: "UNAUTHENTICATED", 403: "FORBIDDEN", 404: "NOT_FOUND", 409: "CONFLICT",
                                  412: "PRECONDITION_FAILED", 413: "PAYLOAD_TOO_LARGE", 422: "BAD_USER_INPUT",
                                  429: "RATE_LIMITED", 502: "UNAVAILABLE", 503: "UNAVAILABLE"}


def graphql_code(exc: WfoError) -> str:
    """The ``extensions.code`` of a GraphQL error raised from a ``WfoError`` (same classes as HTTP)."""
    return GRAPHQL_CODES.get(http_status(exc), "BAD_REQUEST")


def install(app: FastAPI) -> None:
    """Answer every ``WfoError`` a route lets through with its mapped status."""

    @app.exception_handler(WfoError)
    async def _wfo_error(request: Request, exc: WfoError) -> JSONResponse:
        return to_response(exc)
