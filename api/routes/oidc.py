"""OpenID Connect single sign-on routes (api.services.oidc; docs/sso.md). Public: they are how one logs in.

- `GET /api/v1/auth/oidc/config`   whether SSO is on (the web app shows "Sign in with SSO" only then)
- `GET /api/v1/auth/oidc/login`    302 to the IdP (state, nonce, PKCE S256), sets the browser-binding cookie
- `GET /api/v1/auth/oidc/callback` the IdP comes back here; on success 302 to the web app with the access
  token in the URL fragment (`#sso_token=...`: a fragment is never sent to a server nor in a Referer; the
  web app stores it and removes it from the address bar at once)

Login and callback answer 404 while SSO is not configured. Their errors are JSON, or a small HTML page with
the same status and message for a browser (`Accept: text/html`). Every callback, and every login that could not
start (IdP or Redis down), is audited as an `auth.oidc` row (success or failure, with the status the browser
got); the audit middleware records only mutating
requests, so this route hands its row to the app's audit appender itself.
"""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.deps import SESSION_COOKIE, SESSION_COOKIE_PATH, SessionDep, SettingsDep, client_address
from api.errors import error_body, http_headers, http_status
from api.schemas import COMMON_ERRORS
from api.security import access_token_lifetime
from api.services import oidc
from wfo.audit import Entry
from wfo.errors import WfoError

log = logging.getLogger("wfo.api.oidc")

router = APIRouter(prefix="/api/v1/auth/oidc", tags=["auth"], responses=COMMON_ERRORS)

WEB_APP_PATH = "/workflow_orchestration/"


def _provider(request: Request) -> oidc.Provider:
    provider = getattr(request.app.state, "oidc_provider", None)
    if provider is None:
        provider = request.app.state.oidc_provider = oidc.Provider(request.app.state.settings)
    return provider


def _secure(settings) -> bool:
    return (settings.wfo_oidc_redirect_base or settings.public_base_url).startswith("https://")


@router.get("/config")
async def sso_config(settings: SettingsDep):
    """Public: is single sign-on configured? (no issuer or client details beyond the login URL)"""
    if not settings.oidc_enabled:
        return {"enabled": False}
    return {"enabled": True, "login_url": "/api/v1/auth/oidc/login"}


@router.get("/login", status_code=302, response_class=RedirectResponse)
async def sso_login(request: Request, settings: SettingsDep):
    oidc.require_enabled(settings)
    try:
        start = await oidc.begin_login(settings, _provider(request), request.app.state.get_redis())
    except WfoError as exc:  # IdP down, Redis down: a failed login too
        await _audit(request, http_status(exc), oidc.Attempt())
        log.info("sso login not started (%s): %s", http_status(exc), exc.message)
        return _failure(request, exc)
    response = RedirectResponse(start.url, status_code=302, headers={"Cache-Control": "no-store"})
    response.set_cookie(oidc.BROWSER_COOKIE, start.browser_token, max_age=oidc.STATE_TTL_SECONDS,
                        path=oidc.BROWSER_COOKIE_PATH, httponly=True, samesite="lax", secure=_secure(settings))
    return response


@router.get("/callback", status_code=302, response_class=RedirectResponse)
async def sso_callback(request: Request, session: SessionDep, settings: SettingsDep,
                       state: str | None = None, code: str | None = None, error: str | None = None):
    oidc.require_enabled(settings)
    attempt = oidc.Attempt()
    try:
        result = await oidc.complete_login(
            settings, _provider(request), request.app.state.get_redis(), session, state=state, code=code,
            error=error, browser_token=request.cookies.get(oidc.BROWSER_COOKIE), attempt=attempt)
    except WfoError as exc:
        await _audit(request, http_status(exc), attempt)
        log.info("sso login refused (%s): %s", http_status(exc), exc.message)
        return _failure(request, exc)
    await _audit(request, 302, attempt)
    response = RedirectResponse(WEB_APP_PATH + "#sso_token=" + quote(result.access_token, safe=""), status_code=302,
                                headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
    response.delete_cookie(oidc.BROWSER_COOKIE, path=oidc.BROWSER_COOKIE_PATH)
    lifetime = int(access_token_lifetime(settings).total_seconds())
    # as password login does: for the Temporal UI's codec calls only (api.deps honours it under that path alone)
    response.set_cookie(SESSION_COOKIE, result.access_token, max_age=lifetime, path=SESSION_COOKIE_PATH,
                        httponly=True, samesite="lax", secure=settings.public_base_url.startswith("https://"))
    return response


def _failure(request: Request, exc: WfoError):
    """The error as JSON (`{"detail": ...}`, like every API error), or, for a browser that navigated here, as
    a small page saying why, with a way back to the sign-in page (same status)."""
    if "text/html" not in request.headers.get("accept", ""):
        raise exc
    message = html.escape(str(error_body(exc)))
    page = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign-in failed</title></head>"
            f"<body><h1>Single sign-on failed</h1><p data-testid=\"sso-error\">{message}</p>"
            f"<p><a href=\"{WEB_APP_PATH}login\">Back to sign in</a></p></body></html>")
    headers = {k: v for k, v in http_headers(exc).items() if k != "WWW-Authenticate"}
    return HTMLResponse(page, status_code=http_status(exc), headers={**headers, "Cache-Control": "no-store"})


async def _audit(request: Request, status: int, attempt: oidc.Attempt) -> None:
    entry = Entry(at=datetime.now(UTC), action="auth.oidc", status=status, tenant_id=attempt.tenant_id,
                  actor=(attempt.actor or None) and attempt.actor[:320], actor_kind="login", resource_type="users",
                  resource_id=str(attempt.user_id) if attempt.user_id else None, client=client_address(request))
    try:
        await request.app.state.get_audit_appender().submit(entry)
    except Exception as exc:  # noqa: BLE001 - as api.audit: never turn a login into a 500 over its audit row
        log.error("audit append failed for auth.oidc: %s", type(exc).__name__)
