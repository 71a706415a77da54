"""API keys for service-to-service calls: shown once at creation, stored as a hash.

A key records its creator and works only while the creator is active and holds the key's role (api.deps)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, status
from sqlmodel import select

from api import security
from api.deps import CurrentPrincipal, SessionDep
from api.permissions import role_at_most
from api.schemas import COMMON_ERRORS, ApiKeyCreate, ApiKeyCreated, ApiKeyPublic
from wfo.audit import audit_state
from wfo.models import ApiKey, utcnow

router = APIRouter(prefix="/api/v1/api-keys", tags=["api-keys"], responses=COMMON_ERRORS)


@router.get("", response_model=list[ApiKeyPublic])
async def list_api_keys(session: SessionDep, principal: CurrentPrincipal):
    rows = (
        await session.exec(
            select(ApiKey).where(ApiKey.tenant_id == principal.tenant_id).order_by(ApiKey.created_at, ApiKey.id)
        )
    ).all()
    return [ApiKeyPublic.model_validate(r) for r in rows]


@router.post("", response_model=ApiKeyCreated, status_code=status.HTTP_201_CREATED)
async def create_api_key(body: ApiKeyCreate, session: SessionDep, principal: CurrentPrincipal):
    role = body.role or principal.role
    if not role_at_most(role, principal.role):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "cannot create a key with more rights than your own")
    if body.bind_to_user and principal.user_id is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "bind_to_user needs a user login")
    if principal.kind == "api_key":  # a key made by a key answers to the same person
        parent = await session.get(ApiKey, principal.id)
        creator_id = parent.created_by_user_id if parent else None
    else:
        creator_id = principal.user_id
    key, prefix, hashed = security.generate_api_key()
    row = ApiKey(
        created_by_user_id=creator_id,
        created_by=principal.name,
        tenant_id=principal.tenant_id,
        user_id=principal.user_id if body.bind_to_user else None,
        name=body.name,
        prefix=prefix,
        hashed_key=hashed,
        role=role,
    )
    session.add(row)
    await session.commit()
    audit_state(before=None, after=row, resource_type="api-keys")
    return ApiKeyCreated(**ApiKeyPublic.model_validate(row).model_dump(), key=key)


@router.delete("/{key_id}", response_model=ApiKeyPublic)
async def revoke_api_key(key_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal):
    row = await session.get(ApiKey, key_id)
    if row is None or row.tenant_id != principal.tenant_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "API key not found")
    if row.revoked_at is None:
        audit_state(before=row, resource_type="api-keys")
        row.revoked_at = utcnow()
        session.add(row)
        await session.commit()
        audit_state(after=row, resource_type="api-keys")
    return ApiKeyPublic.model_validate(row)
