"""REST v1: start, list, inspect, cancel and retry executions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status

from api.deps import CurrentPrincipal, OptionalTemporalDep, PgDep, SessionDep, SettingsDep, TemporalDep
from api.schemas import (
    COMMON_ERRORS,
    ExecuteRequest,
    ExecutionDetail,
    ExecutionLogs,
    ExecutionPublic,
    ExecutionStarted,
    NodeLog,
    Page,
)
from api.services import executions as svc
from api.services import workflows as wf_svc
from wfo.errors import Conflict
from wfo.models import Execution

router = APIRouter(tags=["executions"], responses=COMMON_ERRORS)

LIST_RECONCILE_MAX = 50
ExecStatus = Literal["running", "completed", "failed", "cancelled", "terminated", "timed_out"]


def _started(row: Execution, settings) -> ExecutionStarted:
    return ExecutionStarted(
        id=row.id,
        status=row.status,
        workflow_id=row.workflow_id,
        version=row.version,
        temporal_ui_url=svc.temporal_ui_url(settings, row.id),
        redrive_of=row.redrive_of,
    )


@router.post(
    "/api/v1/workflows/{workflow_id}/execute",
    response_model=ExecutionStarted,
    status_code=status.HTTP_202_ACCEPTED,
)
async def execute_workflow(
    workflow_id: uuid.UUID,
    body: ExecuteRequest,
    session: SessionDep,
    pg: PgDep,
    principal: CurrentPrincipal,
    client: TemporalDep,
    settings: SettingsDep,
):
    """Start an execution of the current (or given) version; answers at once with its id."""
    wf = await wf_svc.get_workflow(session, principal, workflow_id)
    row = await svc.start(session, pg, client, settings, principal, wf, input=body.input, version=body.version)
    return _started(row, settings)


@router.get("/api/v1/executions", response_model=Page[ExecutionPublic])
async def list_executions(
    session: SessionDep,
    principal: CurrentPrincipal,
    client: OptionalTemporalDep,
    workflow_id: uuid.UUID | None = None,
    status_: Annotated[ExecStatus | None, Query(alias="status")] = None,
    started_after: datetime | None = None,
    started_before: datetime | None = None,
    trigger: Annotated[str | None, Query(min_length=1, max_length=64,
                                         description="how it started: manual, api, webhook, schedule, ...")] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=320,
                                   description="search: the start of the execution id or of the starter's email")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    cursor: Annotated[str | None, Query(max_length=512, description="`next_cursor` of the previous page "
                                        "(keyset pagination; fast at any depth, `offset` is then ignored)")] = None,
):
    """Newest first. `total` counts up to 10,000 matches (`total_capped` beyond); page deep lists by `cursor`."""
    conds = svc.execution_filters(principal.tenant_id, workflow_id=workflow_id, status=status_,
                                  started_after=started_after, started_before=started_before, trigger=trigger, q=q)
    rows, total, capped, next_cursor = await svc.list_page(session, conds, limit=limit, offset=offset, cursor=cursor)
    # converge the visible page with Temporal (describe only, bounded; the background pass does the rest)
    running = [r for r in rows if not svc.is_terminal(r.status)][:LIST_RECONCILE_MAX]
    if client is not None and running:
        await svc.reconcile_page(session, client, running)
    return Page(items=[svc.public(r) for r in rows], total=total, limit=limit, offset=0 if cursor else offset,
                total_capped=capped, next_cursor=next_cursor)


@router.get("/api/v1/executions/{execution_id}", response_model=ExecutionDetail)
async def get_execution(
    execution_id: str, session: SessionDep, principal: CurrentPrincipal, client: OptionalTemporalDep,
    settings: SettingsDep,
):
    """The indexed row combined with Temporal's describe and the progress query (per-node status)."""
    row = await svc.get_execution_row(session, principal, execution_id)
    return await svc.detail(session, client, settings, row)


@router.post("/api/v1/executions/{execution_id}/cancel", response_model=ExecutionPublic, status_code=status.HTTP_202_ACCEPTED)
async def cancel_execution(execution_id: str, session: SessionDep, principal: CurrentPrincipal, client: TemporalDep):
    """Request cancellation (the workflow stops at its next step; status becomes `cancelled`)."""
    return svc.public(await svc.cancel(session, client, principal, execution_id))


def _node_logs(progress: dict[str, Any] | None) -> list[NodeLog]:
    """Per node: the engine's summary plus each activation (started -> completed/failed) from the event log."""
    if not progress:
        return []
    nodes = progress.get("nodes") or {}
    runs: dict[str, dict[Any, dict[str, Any]]] = {}
    for ev in progress.get("events") or []:
        nid, kind = ev.get("node_id"), ev.get("event")
        run = runs.setdefault(nid, {}).setdefault(ev.get("seq"), {"seq": ev.get("seq")})
        if kind == "started":
            run["started_at"] = ev.get("at")
        elif kind in ("completed", "failed"):
            run["status"] = kind
            run[f"{kind}_at"] = ev.get("at")
            for key in ("attempt", "duration_ms", "error", "port"):
                if ev.get(key) is not None:
                    run[key] = ev[key]
    out = []
    for nid, st in nodes.items():
        st = st or {}
        node_runs = list(runs.get(nid, {}).values())
        last_failed = next((r.get("failed_at") for r in reversed(node_runs) if r.get("status") == "failed"), None)
        out.append(
            NodeLog(
                node_id=nid,
                status=st.get("status"),
                attempt=st.get("attempts"),
                activations=st.get("activations"),
                started_at=st.get("started_at") or (node_runs[0].get("started_at") if node_runs else None),
                completed_at=st.get("completed_at") if st.get("status") == "completed" else None,
                failed_at=(last_failed or st.get("completed_at")) if st.get("status") == "failed" else None,
                duration_ms=st.get("duration_ms"),
                error=st.get("error"),
                runs=node_runs,
            )
        )
    return out


@router.get("/api/v1/executions/{execution_id}/logs", response_model=ExecutionLogs)
async def execution_logs(
    execution_id: str, session: SessionDep, principal: CurrentPrincipal, client: OptionalTemporalDep,
    settings: SettingsDep,
):
    """Per node: status, attempt, started/completed/failed time, duration, error; plus the event log."""
    row = await svc.get_execution_row(session, principal, execution_id)
    detail = await svc.detail(session, client, settings, row)
    progress = detail.progress or {}
    return ExecutionLogs(
        execution_id=row.id, status=row.status, nodes=_node_logs(progress), events=list(progress.get("events") or [])
    )


@router.post("/api/v1/executions/{execution_id}/retry", response_model=ExecutionStarted, status_code=status.HTTP_202_ACCEPTED)
async def retry_execution(
    execution_id: str, session: SessionDep, pg: PgDep, principal: CurrentPrincipal, client: TemporalDep,
    settings: SettingsDep,
):
    """Start a new execution with the same input and version."""
    row = await svc.get_execution_row(session, principal, execution_id)
    if row.workflow_id is None:
        raise Conflict("execution has no stored workflow to retry")
    wf = await wf_svc.get_workflow(session, principal, row.workflow_id)
    new = await svc.start(session, pg, client, settings, principal, wf, input=row.input, version=row.version, trigger="retry")
    return _started(new, settings)
