"""Workflow definitions: tenant-scoped CRUD, immutable versions, validation, ETags.

Functions raise ``wfo.errors`` (mapped once to HTTP by ``api.errors``, to GraphQL errors by the
resolvers); the REST v1 routes, the v2 bulk endpoint and GraphQL share them.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import Principal
from api.schemas import WorkflowCreate, WorkflowUpdate
from connectors.registry import default_registry
from wfo.audit import audit_state
from wfo.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from wfo.models import Workflow, WorkflowStatus, WorkflowVersion, utcnow
from workflows.validation import validate_definition


def validate(definition: Any) -> list[dict[str, Any]]:
    """Every problem of a definition, errors and warnings, as dicts (no `severity: error` one: valid)."""
    try:
        problems = validate_definition(definition, default_registry(), warnings=True)
    except Exception as exc:  # noqa: BLE001 - a validator crash must not become a 500
        return [{"code": "invalid", "message": f"definition could not be validated: {type(exc).__name__}",
                 "node_id": None, "edge_index": None, "field": None, "severity": "error"}]
    return [p.to_dict() for p in problems]


def errors_in(problems: list[dict[str, Any]]) -> int:
    """How many problems block saving (warnings never do)."""
    return sum(1 for p in problems if p.get("severity", "error") == "error")


def ensure_valid(definition: Any) -> None:
    problems = validate(definition)
    if errors_in(problems):
        message = f"invalid workflow definition: {errors_in(problems)} problem(s)"
        raise InvalidInput(message, detail={"message": message, "problems": problems})


def etag(workflow: Workflow) -> str:
    micros = int(workflow.updated_at.timestamp() * 1_000_000)
    return f'"{workflow.id.hex[:8]}-v{workflow.current_version}-{micros:x}"'


def etag_matches(header: str | None, workflow: Workflow) -> bool:
    if header is None:
        return True
    current = etag(workflow)
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*":
            return True
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == current:
            return True
    return False


def not_found() -> NotFound:
    return NotFound("workflow not found")



async def _save(session: AsyncSession, commit: bool) -> None:
    """Commit, or only flush when the caller batches several operations in one transaction (bulk)."""
    if commit:
        await session.commit()
    else:
        await session.flush()

async def get_workflow(
    session: AsyncSession, principal: Principal, workflow_id: uuid.UUID | str, *, for_update: bool = False
) -> Workflow:
    """The caller's workflow (archived included), else 404 — also for other tenants' ids."""
    if not isinstance(workflow_id, uuid.UUID):
        try:
            workflow_id = uuid.UUID(str(workflow_id))
        except ValueError:
            raise not_found() from None
    stmt = select(Workflow).where(Workflow.id == workflow_id, Workflow.tenant_id == principal.tenant_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = (await session.exec(stmt)).first()
    if row is None:
        raise not_found()
    return row


async def get_version(session: AsyncSession, workflow: Workflow, version: int | None = None) -> WorkflowVersion:
    row = await session.get(WorkflowVersion, (workflow.id, version or workflow.current_version))
    if row is None:
        raise NotFound(f"version {version} not found")
    return row


async def list_workflows(
    session: AsyncSession,
    principal: Principal,
    *,
    category: str | None = None,
    status_: str | None = None,
    tag: str | None = None,
    search: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Workflow], int]:
    conds = [Workflow.tenant_id == principal.tenant_id]
    if category is not None:
        conds.append(Workflow.category == category)
    if status_ is not None:
        conds.append(Workflow.status == status_)
    else:
        conds.append(Workflow.status != WorkflowStatus.archived.value)
    if tag is not None:
        conds.append(col(Workflow.tags).contains([tag]))
    if search:
        conds.append(col(Workflow.name).ilike("%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"))
    total = (await session.exec(select(func.count()).select_from(Workflow).where(*conds))).one()
    rows = (
        await session.exec(
            select(Workflow).where(*conds).order_by(col(Workflow.created_at).desc(), Workflow.id).limit(limit).offset(offset)
        )
    ).all()
    return list(rows), total


async def create_workflow(
    session: AsyncSession, principal: Principal, data: WorkflowCreate, *, commit: bool = True
) -> tuple[Workflow, WorkflowVersion]:
    ensure_valid(data.definition)
    now = utcnow()
    wf = Workflow(
        tenant_id=principal.tenant_id,
        name=data.name,
        description=data.description,
        category=data.category,
        tags=list(data.tags),
        status=data.status,
        current_version=1,
        created_by=principal.name,
        created_at=now,
        updated_at=now,
    )
    session.add(wf)
    await session.flush()
    ver = WorkflowVersion(workflow_id=wf.id, version=1, definition=data.definition, created_by=principal.name, created_at=now)
    session.add(ver)
    await _save(session, commit)
    audit_state(before=None, after=wf, resource_type="workflows")
    return wf, ver


async def update_workflow(
    session: AsyncSession,
    principal: Principal,
    workflow_id: uuid.UUID | str,
    data: WorkflowUpdate,
    *,
    if_match: str | None = None,
    commit: bool = True,
) -> Workflow:
    """Apply a PUT. A ``definition`` makes a new immutable version; 412 when ``if_match`` is stale."""
    fields = data.model_dump(exclude_unset=True)
    if "definition" in fields and fields["definition"] is not None:
        ensure_valid(fields["definition"])  # before taking the row lock
    wf = await get_workflow(session, principal, workflow_id, for_update=True)
    if not etag_matches(if_match, wf):
        raise PreconditionFailed(
            f"workflow was modified (current ETag {etag(wf)}, version {wf.current_version}); reload and retry")
    if wf.status == WorkflowStatus.archived.value:
        raise Conflict("workflow is archived")
    audit_state(before=wf, resource_type="workflows")
    now = utcnow()
    definition = fields.pop("definition", None)
    if definition is not None:
        wf.current_version += 1
        session.add(
            WorkflowVersion(
                workflow_id=wf.id, version=wf.current_version, definition=definition, created_by=principal.name, created_at=now
            )
        )
    for key in ("name", "description", "category", "tags", "status"):
        if key in fields:
            if fields[key] is None and key in ("name", "tags", "status"):
                continue
            setattr(wf, key, fields[key])
    wf.updated_at = now
    session.add(wf)
    await _save(session, commit)
    audit_state(after=wf, resource_type="workflows")
    return wf


async def archive_workflow(
    session: AsyncSession, principal: Principal, workflow_id: uuid.UUID | str, *, commit: bool = True
) -> Workflow:
    wf = await get_workflow(session, principal, workflow_id, for_update=True)
    audit_state(before=wf, resource_type="workflows")
    if wf.status != WorkflowStatus.archived.value:
        now = utcnow()
        wf.status = WorkflowStatus.archived.value
        wf.archived_at = now
        wf.updated_at = now
        session.add(wf)
    await _save(session, commit)
    audit_state(after=wf, resource_type="workflows")  # archived, not deleted: the row stays
    return wf
