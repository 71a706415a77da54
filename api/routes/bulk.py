"""REST v2: bulk workflow operations and batch execution, each item with its own result."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import ValidationError

from api.deps import CurrentPrincipal, PgDep, SessionDep, SettingsDep, TemporalDep, check_permission
from api.errors import error_body, http_status
from api.permissions import Permission
from api.schemas import (
    COMMON_ERRORS,
    BatchExecuteRequest,
    BulkItemResult,
    BulkRequest,
    BulkResponse,
    WorkflowCreate,
    WorkflowPublic,
    WorkflowUpdate,
)
from api.services import executions as exec_svc
from api.services import workflows as svc
from wfo.errors import InvalidInput, WfoError

router = APIRouter(prefix="/api/v2/workflows", tags=["v2"], responses=COMMON_ERRORS)

_OP_PERMISSION = {
    "create": Permission.WORKFLOW_CREATE,
    "update": Permission.WORKFLOW_EDIT,
    "activate": Permission.WORKFLOW_EDIT,
    "deactivate": Permission.WORKFLOW_EDIT,
    "delete": Permission.WORKFLOW_DELETE,
}


def _error_detail(exc: Exception) -> Any:
    if isinstance(exc, WfoError):
        return error_body(exc)
    if isinstance(exc, ValidationError):
        return [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
    return type(exc).__name__


def _summary(results: list[BulkItemResult]) -> BulkResponse:
    ok = sum(1 for r in results if r.ok)
    return BulkResponse(succeeded=ok, failed=len(results) - ok, results=results)


@router.post("/bulk", response_model=BulkResponse)
async def bulk(body: BulkRequest, session: SessionDep, principal: CurrentPrincipal):
    """Create/update/delete/activate/deactivate many workflows. Each item runs in its own
    transaction (a bad item is reported, the others go through)."""
    results: list[BulkItemResult] = []
    for i, item in enumerate(body.operations):
        try:
            check_permission(principal, _OP_PERMISSION[item.op])
            if item.op == "create":
                wf, _ = await svc.create_workflow(session, principal, WorkflowCreate.model_validate(item.data or {}))
                results.append(BulkItemResult(index=i, op=item.op, ok=True, status=201, id=str(wf.id),
                                              result=WorkflowPublic.model_validate(wf).model_dump(mode="json")))
                continue
            if item.id is None:
                raise InvalidInput("id is required for " + item.op)
            if item.op == "update":
                upd = WorkflowUpdate.model_validate(item.data or {})
            elif item.op in ("activate", "deactivate"):
                upd = WorkflowUpdate(status="active" if item.op == "activate" else "inactive")
            else:
                upd = None
            if upd is not None:
                wf = await svc.update_workflow(session, principal, item.id, upd, if_match=item.if_match)
            else:
                wf = await svc.archive_workflow(session, principal, item.id)
            results.append(BulkItemResult(index=i, op=item.op, ok=True, status=200, id=str(wf.id),
                                          result=WorkflowPublic.model_validate(wf).model_dump(mode="json")))
        except (WfoError, ValidationError) as exc:
            await session.rollback()
            code = http_status(exc) if isinstance(exc, WfoError) else 422
            results.append(BulkItemResult(index=i, op=item.op, ok=False, status=code,
                                          id=str(item.id) if item.id else None, error=_error_detail(exc)))
    return _summary(results)


@router.post("/execute-batch", response_model=BulkResponse)
async def execute_batch(
    body: BatchExecuteRequest, session: SessionDep, pg: PgDep, principal: CurrentPrincipal, client: TemporalDep,
    settings: SettingsDep,
):
    """Start many executions; each item reports its execution or its error."""
    results: list[BulkItemResult] = []
    for i, item in enumerate(body.items):
        try:
            wf = await svc.get_workflow(session, principal, item.workflow_id)
            row = await exec_svc.start(session, pg, client, settings, principal, wf, input=item.input, version=item.version,
                                       trigger="batch")
            results.append(BulkItemResult(
                index=i, op="execute", ok=True, status=202, id=row.id,
                result={"id": row.id, "status": row.status, "workflow_id": str(row.workflow_id), "version": row.version,
                        "temporal_ui_url": exec_svc.temporal_ui_url(settings, row.id)},
            ))
        except WfoError as exc:
            await session.rollback()
            results.append(BulkItemResult(index=i, op="execute", ok=False, status=http_status(exc),
                                          id=str(item.workflow_id), error=error_body(exc)))
    return _summary(results)
