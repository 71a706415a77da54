"""REST v1: redrive a failed execution from where it failed (see api/services/redrive.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status
from pydantic import ConfigDict, Field, JsonValue

from api.deps import CurrentPrincipal, PgDep, SessionDep, SettingsDep, TemporalDep
from api.routes.executions import _started
from api.schemas import COMMON_ERRORS, ExecutionStarted, RequestModel
from api.services import executions as exec_svc
from api.services import redrive as svc
from api.services import workflows as wf_svc
from wfo.models import WorkflowVersion

router = APIRouter(tags=["executions"], responses=COMMON_ERRORS)


class RedriveRequest(RequestModel):
    model_config = ConfigDict(extra="forbid")
    input: JsonValue = Field(default=None, description="edited input (absent: the original input)")
    version: int | None = Field(default=None, ge=1, description="a newer version, allowed only when the graph up "
                                                                "to the failure is unchanged")


class RedriveStarted(ExecutionStarted):
    reused_nodes: list[str]
    """Nodes whose output the new run reuses (they do not run again)."""
    rerun_from: list[str]
    """Nodes of the original run that had not completed (failed, cancelled or running)."""


_ERRORS = {409: {"description": "Not redrivable, with the reason (running, completed, version changed the done "
                                "part of the graph, history gone)"},
           503: {"description": "Temporal or a worker unavailable"}}


@router.post("/api/v1/executions/{execution_id}/redrive", response_model=RedriveStarted,
             status_code=status.HTTP_202_ACCEPTED, responses=_ERRORS)
async def redrive_execution(execution_id: str, session: SessionDep, pg: PgDep, principal: CurrentPrincipal,
                            client: TemporalDep, settings: SettingsDep, body: RedriveRequest | None = None):
    """Start a new run of the same pinned version (or a newer one whose graph up to the failure is the same)
    that reuses the outputs of the completed nodes and runs again from the failed node(s)."""
    body = body or RedriveRequest()
    row = await exec_svc.get_execution_row(session, principal, execution_id)
    if await exec_svc.reconcile_row(session, client, row, with_progress=False):
        await session.commit()
    try:
        svc.check_redrivable(row.status, row.workflow_id)
        wf = await wf_svc.get_workflow(session, principal, row.workflow_id)
        old = await session.get(WorkflowVersion, (row.workflow_id, row.version))
        if old is None:
            raise svc.RedriveRefused(f"version {row.version} of the workflow no longer exists")
        new_def, new_version = None, None
        if body.version is not None and body.version != row.version:
            new = await session.get(WorkflowVersion, (row.workflow_id, body.version))
            if new is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, f"version {body.version} not found")
            new_def, new_version = new.definition, new.version
        data = await svc.resume_data(client, row.id)
        plan = svc.plan(data, {k: {"status": v} for k, v in (data.get("statuses") or {}).items()},
                        old.definition, old.version, new_def, new_version)
    except svc.RedriveRefused as err:
        raise HTTPException(status.HTTP_409_CONFLICT, err.reason) from None
    except svc.RedriveUnavailable as err:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(err)) from None
    inp: Any = body.input if "input" in body.model_fields_set else row.input
    new_row = await exec_svc.start(
        session, pg, client, settings, principal, wf, input=inp, version=plan.version, trigger="redrive",
        resume={"completed": plan.completed, "redrive_of": row.id}, redrive_of=row.id)
    return RedriveStarted(**_started(new_row, settings).model_dump(), reused_nodes=sorted(plan.completed),
                          rerun_from=plan.rerun)
