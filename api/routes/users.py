"""Users of the caller's tenant (admins only)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from api import security
from api.deps import CurrentPrincipal, SessionDep
from api.schemas import COMMON_ERRORS, Page, UserCreate, UserPublic, UserUpdate
from wfo.audit import audit_state
from wfo.models import User
from wfo.password_policy import password_problem

router = APIRouter(prefix="/api/v1/users", tags=["users"], responses=COMMON_ERRORS)


@router.get("", response_model=Page[UserPublic])
async def list_users(
    session: SessionDep,
    principal: CurrentPrincipal,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=1_000_000),
):
    where = User.tenant_id == principal.tenant_id
    total = (await session.exec(select(func.count()).select_from(User).where(where))).one()
    rows = (await session.exec(select(User).where(where).order_by(User.created_at, User.id).limit(limit).offset(offset))).all()
    return Page(items=[UserPublic.model_validate(r) for r in rows], total=total, limit=limit, offset=offset)


@router.post("", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
async def create_user(body: UserCreate, session: SessionDep, principal: CurrentPrincipal):
    _check_password(body.password, body.email)
    user = User(
        tenant_id=principal.tenant_id,
        email=body.email,
        full_name=body.full_name,
        role=body.role,
        is_active=body.is_active,
        hashed_password=security.hash_password(body.password),
    )
    session.add(user)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, "a user with this email already exists in this tenant") from None
    audit_state(before=None, after=user, resource_type="users")
    return UserPublic.model_validate(user)


def _check_password(password: str, email: str) -> None:
    problem = password_problem(password, email)
    if problem:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"password: {problem}")


async def _get_user(session, principal, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id)
    if user is None or user.tenant_id != principal.tenant_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "user not found")
    return user


@router.get("/{user_id}", response_model=UserPublic)
async def get_user(user_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal):
    return UserPublic.model_validate(await _get_user(session, principal, user_id))


@router.patch("/{user_id}", response_model=UserPublic)
async def update_user(user_id: uuid.UUID, body: UserUpdate, session: SessionDep, principal: CurrentPrincipal):
    user = await _get_user(session, principal, user_id)
    if user.id == principal.user_id and (body.is_active is False or (body.role and body.role != user.role)):
        raise HTTPException(status.HTTP_409_CONFLICT, "you cannot demote or disable yourself")
    audit_state(before=user, resource_type="users")  # the role too: role changes are user updates
    data = body.model_dump(exclude_unset=True)
    if "password" in data:
        pw = data.pop("password")
        if pw is not None:
            _check_password(pw, user.email)
            user.hashed_password = security.hash_password(pw)
    for key, value in data.items():
        if value is not None or key == "full_name":
            setattr(user, key, value)
    session.add(user)
    await session.commit()
    audit_state(after=user, resource_type="users")
    return UserPublic.model_validate(user)
