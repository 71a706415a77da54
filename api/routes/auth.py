"""Login (OAuth2 password form -> JWT) and the caller's identity."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlmodel import select

from api import security
from api.deps import SESSION_COOKIE, SESSION_COOKIE_PATH, CurrentPrincipal, SessionDep, SettingsDep, client_address
from api.permissions import ROLE_PERMISSIONS
from api.schemas import COMMON_ERRORS, Me, Token
from api.services.auth_throttle import AuthThrottle, login_limits
from wfo.errors import Conflict
from wfo.models import Tenant, User
from wfo.redis import get_safe_redis

router = APIRouter(prefix="/api/v1/auth", tags=["auth"], responses=COMMON_ERRORS)


TENANT_REQUIRED = "tenant_required"
"""`detail.code` of the 409 a login answers when the email has accounts in several tenants and no tenant
was given (the web app then shows its tenant field)."""


@router.post("/token", response_model=Token)
async def login(request: Request, response: Response, form: Annotated[OAuth2PasswordRequestForm, Depends()],
                session: SessionDep, settings: SettingsDep,
                tenant: Annotated[str | None, Form(max_length=255)] = None):
    """Password login. Failures are throttled per account and per client address (api.services.auth_throttle):
    a locked account or address gets 429 with Retry-After, whatever the password.

    An email is unique per tenant, so it may have accounts in several tenants: the optional form field
    `tenant` (a tenant name or id; the OAuth2 `client_id` field is read the same way when `tenant` is absent)
    picks one. Without it, an email with accounts in several tenants gets 409 (`detail.code`
    `tenant_required`, `detail.tenants`: the tenants the password opened) once the password opened at
    least one of them; a wrong password gets the usual 401, so the answer tells nothing of other tenants."""
    email = form.username.strip().lower()
    limits = login_limits(settings, email.replace("\x00", ""), client_address(request))
    throttle = AuthThrottle(settings, get_safe_redis(settings.redis_url), session)
    await throttle.check(limits)  # Throttled (RateLimited): 429 + Retry-After
    chosen = (tenant if tenant is not None else form.client_id or "").strip() or None
    found = await _accounts(session, email, form.password, chosen)
    if found is None:
        await throttle.failure(limits)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "incorrect email or password",
                            headers={"WWW-Authenticate": "Bearer"})
    user, several = found
    if several:
        raise Conflict("this email belongs to several tenants: choose one",
                       detail={"message": "this email belongs to several tenants: choose one",
                               "code": TENANT_REQUIRED, "tenants": several})
    if not user.is_active:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "user is disabled")
    await throttle.success(limits)
    token = security.create_access_token(settings, user_id=user.id, tenant_id=user.tenant_id, role=user.role)
    lifetime = int(security.access_token_lifetime(settings).total_seconds())
    # for the Temporal UI's calls to the codec endpoint only (api.deps honours it under that path alone)
    response.set_cookie(SESSION_COOKIE, token, max_age=lifetime, path=SESSION_COOKIE_PATH, httponly=True,
                        samesite="lax", secure=settings.public_base_url.startswith("https://"))
    return Token(access_token=token, expires_in=lifetime)


async def _accounts(session, email: str, password: str, tenant: str | None) -> tuple[User, list[str]] | None:
    """The account `email` + `password` open (within `tenant`, a name or id, when given), and, when the
    email has accounts in several tenants and no tenant was given, the names of the tenants whose account
    the password opened (the caller then asks to choose). None when the password opens none. Verifies once
    (against a dummy hash) when the email is unknown, so timing does not tell."""
    rows: list[tuple[User, str]] = []
    if "\x00" not in email and len(email) <= 320 and (tenant is None or "\x00" not in tenant):
        query = select(User, Tenant.name).join(Tenant, Tenant.id == User.tenant_id).where(User.email == email)
        if tenant is not None:
            query = query.where(sa.or_(Tenant.name == tenant, sa.cast(Tenant.id, sa.String) == tenant.lower()))
        rows = [(u, n) for u, n in (await session.exec(query.order_by(User.created_at, User.id).limit(10))).all()]
    if not rows:
        security.verify_password(password, None)
        return None
    opened = [(u, n) for u, n in rows if security.verify_password(password, u.hashed_password)]
    if not opened:
        return None
    several = [n for _, n in opened] if tenant is None and len(rows) > 1 else []
    return opened[0][0], several


@router.get("/me", response_model=Me)
async def me(principal: CurrentPrincipal):
    return Me(
        kind=principal.kind,
        id=principal.id,
        tenant_id=principal.tenant_id,
        role=principal.role,
        name=principal.name,
        permissions=sorted(ROLE_PERMISSIONS.get(principal.role, ())),
    )
