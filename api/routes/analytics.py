"""REST v1 analytics: the dashboard summary, per workflow and per node statistics, recommendations.

Windows and buckets are ISO-8601 durations (`P7D`, `PT1H`). The window selects executions by their start
time; `running` counts what runs now; `cancelled` includes terminated, `failed` includes timed out.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel

from api.deps import CurrentPrincipal, SessionDep
from api.schemas import COMMON_ERRORS, ExecutionPublic
from api.services import analytics as svc
from api.services import executions as exec_svc
from api.services import workflows as wf_svc

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"], responses=COMMON_ERRORS)

WindowQ = Annotated[str, Query(max_length=32, description="ISO-8601 duration, e.g. P7D")]
BucketQ = Annotated[str, Query(max_length=32, description="ISO-8601 duration, e.g. PT1H")]
ExactQ = Annotated[bool, Query(description="read raw rows: exact window start and exact percentiles (slower); "
                                           "by default whole-hour windows read hourly rollups (window starts at "
                                           "the hour, percentiles from a log histogram, within 30%)")]


class Counts(BaseModel):
    running: int
    completed: int
    failed: int
    cancelled: int
    scheduled: int


class Bucket(BaseModel):
    start: datetime
    completed: int
    failed: int
    cancelled: int
    running: int


class Recent(BaseModel):
    running: list[ExecutionPublic]
    failed: list[ExecutionPublic]
    completed: list[ExecutionPublic]


class Summary(BaseModel):
    counts: Counts
    success_rate: float | None
    avg_duration_seconds: float | None
    over_time: list[Bucket]
    recent: Recent


class Percentiles(BaseModel):
    p50: float | None
    p95: float | None
    p99: float | None


class NodeStats(BaseModel):
    workflow_id: uuid.UUID | None
    node_id: str
    node_type: str
    runs: int
    completed: int
    failed: int
    success_rate: float | None
    attempts: int
    retries: int
    retried_runs: int
    retried_runs_succeeded: int
    avg_duration_ms: float | None
    duration_ms: Percentiles
    total_duration_ms: int
    reused: int
    """Nodes a redrive reused (nothing ran): not in the other numbers."""
    failures_by_type: dict[str, int]


class NodeBrief(BaseModel):
    workflow_id: uuid.UUID | None
    node_id: str
    node_type: str
    runs: int
    failed: int
    success_rate: float | None
    retries: int
    failures_by_type: dict[str, int]


class ApprovalWait(BaseModel):
    approvals: int
    total_seconds: float | None
    avg_seconds: float | None
    p50: float | None
    p95: float | None
    p99: float | None
    nodes: list[str]


class WindowOut(BaseModel):
    since: datetime
    until: datetime


class WorkflowAnalytics(BaseModel):
    workflow_id: uuid.UUID
    window: WindowOut
    executions: int
    counts: dict[str, int]
    success_rate: float | None
    avg_duration_seconds: float | None
    duration_seconds: Percentiles
    failures_by_type: dict[str, int]
    top_failing_nodes: list[NodeBrief]
    top_retrying_nodes: list[NodeBrief]
    approval_wait: ApprovalWait
    nodes: list[NodeStats]
    over_time: list[Bucket]


class NodeList(BaseModel):
    window: WindowOut
    items: list[NodeStats]


class Recommendation(BaseModel):
    rule: str
    severity: str
    workflow_id: uuid.UUID | None
    node_id: str
    node_type: str
    message: str
    evidence: dict[str, Any]


class RecommendationList(BaseModel):
    window: WindowOut
    items: list[Recommendation]


def _window(window: str, bucket: str = "PT1H", exact: bool = False) -> svc.Window:
    try:
        return svc.window(window, bucket, exact=exact)
    except svc.AnalyticsError as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{err.field}: {err.message}") from None


async def _check_workflow(session, principal, workflow_id: uuid.UUID | None) -> None:
    if workflow_id is not None:
        await wf_svc.get_workflow(session, principal, workflow_id)  # 404 unless the caller's tenant's


@router.get("/summary", response_model=Summary)
async def summary(session: SessionDep, principal: CurrentPrincipal, window: WindowQ = "P7D",
                  bucket: BucketQ = "PT1H", workflow_id: uuid.UUID | None = None, exact: ExactQ = False):
    """The dashboard: counts (`scheduled` = active schedule triggers), success rate, mean duration,
    executions started per bucket, and the 5 most recent running, failed and completed executions."""
    w = _window(window, bucket, exact)
    await _check_workflow(session, principal, workflow_id)
    data = await svc.summary(session, principal.tenant_id, w, workflow_id)
    data["recent"] = {k: [exec_svc.public(r) for r in rows] for k, rows in data["recent"].items()}
    return data


@router.get("/workflows/{workflow_id}", response_model=WorkflowAnalytics)
async def workflow_analytics(workflow_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal,
                             window: WindowQ = "P7D", bucket: BucketQ = "PT1H", exact: ExactQ = False):
    """One workflow over the window: outcome counts, success rate, p50/p95/p99 duration, failures by
    error type, the nodes that fail and retry most, time waiting on approvals, executions over time."""
    w = _window(window, bucket, exact)
    await _check_workflow(session, principal, workflow_id)
    return await svc.workflow_analytics(session, principal.tenant_id, workflow_id, w)


@router.get("/nodes", response_model=NodeList)
async def nodes(session: SessionDep, principal: CurrentPrincipal, window: WindowQ = "P7D",
                workflow_id: uuid.UUID | None = None,
                limit: Annotated[int, Query(ge=1, le=1000)] = 100, exact: ExactQ = False):
    """Per node (of every workflow, or of one): runs, success rate, retries, p50/p95/p99 duration (ms),
    failures by error type; the nodes failing most first."""
    w = _window(window, exact=exact)
    await _check_workflow(session, principal, workflow_id)
    items = await svc.node_stats(session, principal.tenant_id, w, workflow_id)
    return {"window": {"since": w.since, "until": w.until}, "items": items[:limit]}


@router.get("/recommendations", response_model=RecommendationList)
async def recommendations(session: SessionDep, principal: CurrentPrincipal, window: WindowQ = "P7D",
                          workflow_id: uuid.UUID | None = None, exact: ExactQ = False):
    """Rules over the node statistics, each with the numbers behind it: timeouts below observed durations,
    retries that never succeed, high failure rates, nodes that dominate a workflow's time."""
    w = _window(window, exact=exact)
    await _check_workflow(session, principal, workflow_id)
    items = await svc.recommendations(session, principal.tenant_id, w, workflow_id)
    return {"window": {"since": w.since, "until": w.until}, "items": items}
