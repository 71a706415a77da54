"""The audit trail of the caller's tenant (admin only): `GET /api/v1/audit`, newest first, with filters
(api.services.audit, shared with GraphQL `auditLog`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import func
from sqlmodel import col, select

from api.deps import CurrentPrincipal, SessionDep
from api.schemas import COMMON_ERRORS, Page
from api.services import audit as svc
from wfo.models import AuditLog

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], responses=COMMON_ERRORS)


@router.get("", response_model=Page[dict[str, Any]])
async def list_audit(
    session: SessionDep,
    principal: CurrentPrincipal,
    action: Annotated[str | None, Query(max_length=200, description="prefix, e.g. `POST /api/v1/workflows`")] = None,
    actor: Annotated[str | None, Query(max_length=320)] = None,
    resource_type: Annotated[str | None, Query(max_length=64)] = None,
    resource_id: Annotated[str | None, Query(max_length=400)] = None,
    status: Annotated[int | None, Query(ge=100, le=599, description="the answer's HTTP status")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
):
    """Rows carry `before_hash`/`after_hash`: sha256 of the resource's canonical JSON before and after the
    change (null for the missing side of a create/delete, for refusals, and for requests that change no
    single resource)."""
    conds = svc.conditions(principal.tenant_id, svc.AuditFilter(
        action=action, actor=actor, resource_type=resource_type, resource_id=resource_id, status=status,
        since=since, until=until))
    total = (await session.exec(select(func.count()).select_from(AuditLog).where(*conds))).one()
    rows = (await session.exec(select(AuditLog).where(*conds).order_by(col(AuditLog.id).desc())
                               .limit(limit).offset(offset))).all()
    return Page(items=[svc.public(r) for r in rows], total=total, limit=limit, offset=offset)
