"""REST v1: workflow definitions and their immutable versions."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Header, Path, Query, Response, status
from sqlmodel import col, select

from api.deps import CurrentPrincipal, SessionDep
from api.schemas import (
    COMMON_ERRORS,
    JsonValue,
    Page,
    ValidationResult,
    WorkflowCreate,
    WorkflowDetail,
    WorkflowPublic,
    WorkflowUpdate,
    WorkflowVersionDetail,
    WorkflowVersionPublic,
)
from api.services import workflows as svc
from wfo.models import WorkflowVersion

router = APIRouter(prefix="/api/v1/workflows", tags=["workflows"], responses=COMMON_ERRORS)

INVALID_DEFINITION = {
    422: {"description": "Invalid request or definition; `detail.problems` lists every problem with its node/edge"}
}


def _detail(wf, ver) -> WorkflowDetail:
    return WorkflowDetail(**WorkflowPublic.model_validate(wf).model_dump(), definition=ver.definition)


@router.get("", response_model=Page[WorkflowPublic])
async def list_workflows(
    session: SessionDep,
    principal: CurrentPrincipal,
    category: Annotated[str | None, Query(max_length=100)] = None,
    status_: Annotated[Literal["draft", "active", "inactive", "archived"] | None, Query(alias="status")] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[str | None, Query(max_length=255, description="name contains")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    include_stats: Annotated[bool, Query(description="add execution_count / success_rate (one extra query)")] = False,
):
    rows, total = await svc.list_workflows(
        session, principal, category=category, status_=status_, tag=tag, search=q, limit=limit, offset=offset
    )
    items = [WorkflowPublic.model_validate(r) for r in rows]
    if include_stats and rows:
        from api.services.executions import execution_stats

        stats = await execution_stats(session, principal.tenant_id, [r.id for r in rows])
        for item in items:
            st = stats[item.id]
            item.execution_count, item.success_rate = st["execution_count"], st["success_rate"]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.post("", response_model=WorkflowDetail, status_code=status.HTTP_201_CREATED, responses=INVALID_DEFINITION)
async def create_workflow(body: WorkflowCreate, session: SessionDep, principal: CurrentPrincipal, response: Response):
    wf, ver = await svc.create_workflow(session, principal, body)
    response.headers["ETag"] = svc.etag(wf)
    response.headers["Location"] = f"/api/v1/workflows/{wf.id}"
    return _detail(wf, ver)


@router.post("/validate", response_model=ValidationResult)
async def validate_workflow(definition: Annotated[JsonValue, Body(embed=True)]):
    """Check a definition without saving it."""
    problems = svc.validate(definition)
    return ValidationResult(valid=not svc.errors_in(problems), problems=problems)


@router.get("/{workflow_id}", response_model=WorkflowDetail, responses={304: {"description": "If-None-Match matched"}})
async def get_workflow(
    workflow_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    if_none_match: Annotated[str | None, Header(max_length=1024)] = None,
):
    """The workflow with its current definition. The `ETag` goes back as `If-Match` on PUT."""
    wf = await svc.get_workflow(session, principal, workflow_id)
    tag = svc.etag(wf)
    if if_none_match is not None and svc.etag_matches(if_none_match, wf):
        return Response(status_code=304, headers={"ETag": tag})
    ver = await svc.get_version(session, wf)
    response.headers["ETag"] = tag
    return _detail(wf, ver)


@router.put(
    "/{workflow_id}",
    response_model=WorkflowDetail,
    responses={**INVALID_DEFINITION, 412: {"description": "If-Match does not match the current ETag"}},
)
async def update_workflow(
    workflow_id: uuid.UUID,
    body: WorkflowUpdate,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    if_match: Annotated[str | None, Header(max_length=1024)] = None,
):
    """Update metadata; a `definition` creates a new immutable version (running executions keep theirs).
    Send the ETag from GET as `If-Match` to get 412 instead of overwriting someone else's edit."""
    wf = await svc.update_workflow(session, principal, workflow_id, body, if_match=if_match)
    ver = await svc.get_version(session, wf)
    response.headers["ETag"] = svc.etag(wf)
    return _detail(wf, ver)


@router.delete("/{workflow_id}", response_model=WorkflowPublic)
async def archive_workflow(workflow_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal):
    """Archive (soft delete): hidden from lists, not executable; versions and executions stay readable."""
    wf = await svc.archive_workflow(session, principal, workflow_id)
    return WorkflowPublic.model_validate(wf)


@router.get("/{workflow_id}/versions", response_model=list[WorkflowVersionPublic])
async def list_versions(workflow_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal):
    wf = await svc.get_workflow(session, principal, workflow_id)
    rows = (
        await session.exec(
            select(WorkflowVersion).where(WorkflowVersion.workflow_id == wf.id).order_by(col(WorkflowVersion.version).desc())
        )
    ).all()
    return [WorkflowVersionPublic.model_validate(r) for r in rows]


@router.get("/{workflow_id}/versions/{version}", response_model=WorkflowVersionDetail)
async def get_version(
    workflow_id: uuid.UUID,
    version: Annotated[int, Path(ge=1, le=2**31 - 1)],
    session: SessionDep,
    principal: CurrentPrincipal,
):
    wf = await svc.get_workflow(session, principal, workflow_id)
    return WorkflowVersionDetail.model_validate(await svc.get_version(session, wf, version))
