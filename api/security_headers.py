"""Security headers on every HTTP response of the app (pure ASGI middleware).

- `Content-Security-Policy`: nothing but same-origin resources, no inline scripts, no plugins, no framing
  (`frame-ancestors 'none'`), forms post only to this origin. The web app (`APP_PREFIX`) also allows
  `'unsafe-eval'` (ajv compiles its forms' JSON Schemas) and same-origin/blob workers (GraphiQL's editor). Exempt: the interactive docs and the GraphQL
  explorer (`DOCS_PREFIXES`), third-party pages that load their scripts from a CDN with an inline bootstrap.
- `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer` (approval
  links carry their token in the URL: it must not leak to another site through `Referer`).
- `Strict-Transport-Security` only behind TLS (the request came over https, or a proxy said so with
  `X-Forwarded-Proto: https`): HSTS over plain http is ignored by browsers and breaks local setups.
A header the route set itself is kept.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
APP_PREFIX = "/workflow_orchestration"
APP_CSP = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-eval'; worker-src 'self' blob:")
"""The web app: still no inline scripts, but its JSON-Schema forms validate with ajv, which compiles each
schema into a function (`new Function`), and GraphiQL's editor runs in web workers."""
HSTS = "max-age=31536000; includeSubDomains"
DOCS_PREFIXES = ("/api/v1/docs", "/api/v1/redoc", "/docs", "/redoc", "/api/beta/graphql")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


def _behind_tls(scope: Scope) -> bool:
    if scope.get("scheme") == "https":
        return True
    for name, value in scope.get("headers") or []:
        if name == b"x-forwarded-proto":
            return value.split(b",")[0].strip().lower() == b"https"
    return False


class SecurityHeadersMiddleware:
    def __init__(self, app: Callable[..., Awaitable[None]]):
        self.app = app

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path") or ""
        extra: list[tuple[bytes, bytes]] = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
        ]
        if path.startswith(APP_PREFIX):
            extra.append((b"content-security-policy", APP_CSP.encode()))
        elif not path.startswith(DOCS_PREFIXES):
            extra.append((b"content-security-policy", CSP.encode()))
        if _behind_tls(scope):
            extra.append((b"strict-transport-security", HSTS.encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                headers.extend((k, v) for k, v in extra if k not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
