"""Login (OAuth2 password form -> JWT) and the caller's identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlmodel import select

from api import security
from api.deps import SESSION_COOKIE, SESSION_COOKIE_PATH, CurrentPrincipal, SessionDep, SettingsDep, client_address
from api.permissions import ROLE_PERMISSIONS
from api.schemas import COMMON_ERRORS, Me, Token
from api.services.auth_throttle import AuthThrottle, login_limits
from wfo.models import User
from wfo.redis import get_safe_redis

router = APIRouter(prefix="/api/v1/auth", tags=["auth"], responses=COMMON_ERRORS)


@router.post("/token", response_model=Token)
async def login(request: Request, response: Response, form: Annotated[OAuth2PasswordRequestForm, Depends()],
                session: SessionDep, settings: SettingsDep):
    """Password login. Failures are throttled per account and per client address (api.services.auth_throttle):
    a locked account or address gets 429 with Retry-After, whatever the password."""
    email = form.username.strip().lower()
    limits = login_limits(settings, email.replace("\x00", ""), client_address(request))
    throttle = AuthThrottle(settings, get_safe_redis(settings.redis_url), session)
    await throttle.check(limits)  # Throttled (RateLimited): 429 + Retry-After
    user = await _account(session, email, form.password)
    if user is None:
        await throttle.failure(limits)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "incorrect email or password",
                            headers={"WWW-Authenticate": "Bearer"})
    if not user.is_active:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "user is disabled")
    await throttle.success(limits)
    token = security.create_access_token(settings, user_id=user.id, tenant_id=user.tenant_id, role=user.role)
    lifetime = int(security.access_token_lifetime(settings).total_seconds())
    # for the Temporal UI's calls to the codec endpoint only (api.deps honours it under that path alone)
    response.set_cookie(SESSION_COOKIE, token, max_age=lifetime, path=SESSION_COOKIE_PATH, httponly=True,
                        samesite="lax", secure=settings.public_base_url.startswith("https://"))
    return Token(access_token=token, expires_in=lifetime)


async def _account(session, email: str, password: str) -> User | None:
    """The account `email` + `password` open. An email may exist in several tenants (unique per tenant):
    the password picks the account (the oldest, should two share one). Verifies once (against a dummy hash)
    when the email is unknown, so timing does not tell."""
    candidates: list[User] = []
    if "\x00" not in email and len(email) <= 320:
        candidates = list((await session.exec(
            select(User).where(User.email == email).order_by(User.created_at, User.id).limit(10))).all())
    if not candidates:
        security.verify_password(password, None)
        return None
    for user in candidates:
        if security.verify_password(password, user.hashed_password):
            return user
    return None


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
