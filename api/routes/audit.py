"""The audit trail of the caller's tenant (admin only): `GET /api/v1/audit`, newest first, with filters."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import func
from sqlmodel import col, select

from api.deps import CurrentPrincipal, SessionDep
from api.schemas import COMMON_ERRORS, Page
from wfo.models import AuditLog

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], responses=COMMON_ERRORS)


def _public(row: AuditLog) -> dict[str, Any]:
    return {"id": row.id, "at": row.at, "actor": row.actor, "actor_kind": row.actor_kind, "action": row.action,
            "resource_type": row.resource_type, "resource_id": row.resource_id, "status": row.status,
            "client": row.client, "body_hash": row.body_hash, "hash": row.hash}


@router.get("", response_model=Page[dict[str, Any]])
async def list_audit(
    session: SessionDep,
    principal: CurrentPrincipal,
    action: Annotated[str | None, Query(max_length=200, description="prefix, e.g. `POST /api/v1/workflows`")] = None,
    actor: Annotated[str | None, Query(max_length=320)] = None,
    resource_type: Annotated[str | None, Query(max_length=64)] = None,
    resource_id: Annotated[str | None, Query(max_length=400)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
):
    conds = [AuditLog.tenant_id == principal.tenant_id]
    if action:
        conds.append(col(AuditLog.action).startswith(action.replace("\x00", ""), autoescape=True))
    if actor:
        conds.append(AuditLog.actor == actor.replace("\x00", ""))
    if resource_type:
        conds.append(AuditLog.resource_type == resource_type.replace("\x00", ""))
    if resource_id:
        conds.append(AuditLog.resource_id == resource_id.replace("\x00", ""))
    if since:
        conds.append(AuditLog.at >= since)
    if until:
        conds.append(AuditLog.at < until)
    total = (await session.exec(select(func.count()).select_from(AuditLog).where(*conds))).one()
    rows = (await session.exec(select(AuditLog).where(*conds).order_by(col(AuditLog.id).desc())
                               .limit(limit).offset(offset))).all()
    return Page(items=[_public(r) for r in rows], total=total, limit=limit, offset=offset)
