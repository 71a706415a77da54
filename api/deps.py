"""FastAPI dependencies shared by every router (stable interface for other modules):

- ``SessionDep``        an ``AsyncSession`` (sqlmodel) for the request; routes commit explicitly.
- ``PgDep``             the app's asyncpg pool, for the hot paths' one-statement writes (``wfo.db.PgPool``).
- ``SettingsDep``       the app's ``Settings``.
- ``TemporalDep``       the app's Temporal client (connected lazily, kept on ``app.state``).
- ``CurrentPrincipal``  the authenticated caller (user via JWT, or API key); 401 if none.
- ``CurrentUser``       alias of ``CurrentPrincipal`` (``principal.user_id`` is None for role-only API keys).
- ``require(perm)``     dependency factory: 403 unless the caller's role grants ``perm``; returns the principal.
- ``check_permission(principal, perm)`` the same check for code paths (GraphQL, bulk items).

Every route is additionally guarded by ``enforce_route_permission`` (installed app-wide by
``api.main.create_app``) which looks the route up in ``api.permissions.ROUTE_PERMISSIONS``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import urlsplit

import asyncpg
from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from api import security
from api.permissions import PUBLIC, permission_for_route, role_at_most, role_has
from api.services.auth_throttle import AuthThrottle, api_key_limits
from wfo.errors import Forbidden, Unauthorized, Unavailable
from wfo.models import ApiKey, User
from wfo.redis import get_safe_redis
from wfo.settings import Settings
from wfo.temporal import connect

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False)

_LAST_USED_RESOLUTION = timedelta(seconds=60)


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def get_pg(request: Request) -> asyncpg.Pool:
    """The app's asyncpg pool (``wfo.db.PgPool``) for the hot paths' single statements."""
    return await request.app.state.pg()


PgDep = Annotated[asyncpg.Pool, Depends(get_pg)]


async def get_temporal_client(app) -> Client:
    """The app's Temporal client, connecting on first use (one connection per app)."""
    client = getattr(app.state, "temporal_client", None)
    if client is not None:
        return client
    lock: asyncio.Lock = app.state.temporal_lock
    async with lock:
        if app.state.temporal_client is None:
            app.state.temporal_client = await connect(app.state.settings)
        return app.state.temporal_client


async def get_temporal(request: Request) -> Client:
    try:
        return await get_temporal_client(request.app)
    except Exception as exc:
        raise Unavailable("workflow engine (Temporal) unavailable") from exc


TemporalDep = Annotated[Client, Depends(get_temporal)]


async def get_optional_temporal(request: Request) -> Client | None:
    """For reads that can degrade to the Postgres index when Temporal is unreachable."""
    try:
        return await get_temporal_client(request.app)
    except Exception:  # noqa: BLE001
        return None


OptionalTemporalDep = Annotated[Client | None, Depends(get_optional_temporal)]


@dataclass(frozen=True)
class Principal:
    kind: str  # "user" | "api_key"
    id: uuid.UUID  # user id or API key id
    tenant_id: uuid.UUID
    role: str
    name: str  # email for users, "api-key:<prefix>" for keys (never the key itself)
    user_id: uuid.UUID | None = None

    @property
    def tenant(self) -> str:
        return str(self.tenant_id)


def _unauthorized(detail: str = "not authenticated") -> Unauthorized:
    return Unauthorized(detail)  # 401 with WWW-Authenticate: Bearer (api.errors)


async def _principal_from_api_key(session: AsyncSession, key: str) -> Principal | None:
    row = (await session.exec(select(ApiKey).where(ApiKey.hashed_key == security.hash_api_key(key)))).first()
    if row is None or row.revoked_at is not None:
        return None
    role = row.role
    if row.user_id is not None:
        user = await session.get(User, row.user_id)
        if user is None or not user.is_active or user.tenant_id != row.tenant_id:
            return None
        if not role_at_most(role, user.role):  # the user was demoted: the key follows
            role = user.role
    if row.created_by_user_id is not None:
        # a key lives on its creator's authority: it stops when the creator is disabled, removed, moved to
        # another tenant or no longer holds the key's role (keys made before 0011 have no creator recorded)
        creator = await session.get(User, row.created_by_user_id)
        if creator is None or not creator.is_active or creator.tenant_id != row.tenant_id:
            raise _unauthorized("API key disabled: its creator is no longer active")
        if not role_at_most(role, creator.role):
            raise _unauthorized(f"API key disabled: its creator no longer holds the role '{role}'")
    now = datetime.now(UTC)
    if row.last_used_at is None or now - row.last_used_at > _LAST_USED_RESOLUTION:
        row.last_used_at = now
        session.add(row)
        await session.commit()
    return Principal(
        kind="api_key", id=row.id, tenant_id=row.tenant_id, role=role, name=f"api-key:{row.prefix}", user_id=row.user_id
    )


async def _principal_from_jwt(session: AsyncSession, settings: Settings, token: str) -> Principal | None:
    claims = security.decode_access_token(settings, token)
    if claims is None:
        return None
    try:
        user_id = uuid.UUID(str(claims["sub"]))
    except (ValueError, KeyError):
        return None
    user = await session.get(User, user_id)
    if user is None or not user.is_active or str(user.tenant_id) != str(claims.get("tid")):
        return None
    return Principal(kind="user", id=user.id, tenant_id=user.tenant_id, role=user.role, name=user.email, user_id=user.id)


SESSION_COOKIE = "wfo_token"
SESSION_COOKIE_PATH = "/api/v1/codec"
"""Login also sets the access token as this HttpOnly cookie, honoured only under this path and only for a
request from the Temporal UI's origin (the UI calls the codec endpoint from the browser and cannot send a
bearer header; any other page, or a client that merely kept the cookie, gets nothing from it)."""


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def codec_origins(settings: Settings) -> set[str]:
    """The browser origins allowed to call the codec endpoint: the Temporal UI's and `codec_cors_origins`."""
    return {_origin(settings.temporal_ui_url), *(_origin(o) for o in settings.codec_cors_origins)}


def _cookie_token(request: Request) -> str | None:
    if not request.url.path.startswith(SESSION_COOKIE_PATH + "/"):
        return None
    if request.headers.get("origin") not in codec_origins(request.app.state.settings):
        return None
    return request.cookies.get(SESSION_COOKIE)


def client_address(request: Request) -> str | None:
    """The caller's address as the server saw it (what throttling counts per)."""
    return request.client.host if request.client else None


async def _throttled_api_key(session: AsyncSession, settings: Settings, key: str, address: str | None) -> Principal | None:
    """An API key's principal; failed keys count against the client address (429 once it is locked)."""
    throttle = AuthThrottle(settings, get_safe_redis(settings.redis_url), session)
    limits = api_key_limits(settings, address)
    await throttle.check(limits)  # Throttled (RateLimited): 429 + Retry-After
    principal = await _principal_from_api_key(session, key)
    if principal is None:
        await throttle.failure(limits)
    return principal


async def authenticate(
    session: AsyncSession, settings: Settings, *, bearer: str | None, api_key: str | None, address: str | None = None
) -> Principal | None:
    """Resolve credentials to a principal; raises 401 when credentials are present but invalid (429 when the
    client address has failed too many API keys)."""
    if api_key:
        principal = await _throttled_api_key(session, settings, api_key, address)
        if principal is None:
            raise _unauthorized("invalid API key")
        return principal
    if bearer:
        if security.looks_like_api_key(bearer):
            principal = await _throttled_api_key(session, settings, bearer, address)
        else:
            principal = await _principal_from_jwt(session, settings, bearer)
        if principal is None:
            raise _unauthorized("invalid or expired credentials")
        return principal
    return None


async def get_optional_principal(
    request: Request,
    session: SessionDep,
    bearer: Annotated[str | None, Depends(oauth2_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> Principal | None:
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    principal = await authenticate(session, request.app.state.settings, bearer=bearer or _cookie_token(request),
                                   api_key=api_key, address=client_address(request))
    request.state.principal = principal
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(get_optional_principal)]


async def get_current_principal(principal: OptionalPrincipal) -> Principal:
    if principal is None:
        raise _unauthorized()
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_current_principal)]
CurrentUser = CurrentPrincipal


def check_permission(principal: Principal | None, permission: str) -> Principal | None:
    """Raise 401/403 unless ``principal`` holds ``permission`` (PUBLIC needs nothing)."""
    if permission == PUBLIC:
        return principal
    if principal is None:
        raise _unauthorized()
    if not role_has(principal.role, permission):
        raise Forbidden(f"permission '{permission}' required")
    return principal


def require(permission: str):
    """Dependency factory: ``Depends(require("workflow.execute"))`` -> the principal, or 401/403."""

    async def _require(principal: OptionalPrincipal) -> Principal:
        check_permission(principal, permission)
        assert principal is not None or permission == PUBLIC
        return principal  # type: ignore[return-value]

    _require.__name__ = f"require_{permission.replace('.', '_')}"
    return _require


def route_template(scope) -> str | None:
    """The matched route's full path template (``/api/v1/workflows/{workflow_id}``), including
    prefixes given at ``include_router`` time."""
    try:  # FastAPI >= 0.16x keeps the effective (prefixed) route context in scope["fastapi"]
        from fastapi.routing import _get_scope_effective_route_context

        ctx = _get_scope_effective_route_context(scope)
    except ImportError:  # pragma: no cover - older FastAPI flattens routes
        ctx = None
    for obj in (ctx, scope.get("route")):
        path = getattr(obj, "path_format", None) or getattr(obj, "path", None)
        if path:
            return path
    return None


async def enforce_route_permission(request: Request, session: SessionDep) -> None:
    """App-wide guard: the matched route's permission from the one table, fail closed."""
    path = route_template(request.scope)
    permission = permission_for_route(request.method, path) if path else None
    if permission is None:
        raise Forbidden("route has no access rule")
    if permission == PUBLIC:
        return
    principal = getattr(request.state, "principal", None)
    if principal is None:
        # same session as the route (FastAPI caches SessionDep per request); lazy, so no
        # connection is taken before this point
        principal = await authenticate(
            session,
            request.app.state.settings,
            bearer=await oauth2_scheme(request) or _cookie_token(request),
            api_key=await api_key_scheme(request),
            address=client_address(request),
        )
        request.state.principal = principal
    check_permission(principal, permission)
