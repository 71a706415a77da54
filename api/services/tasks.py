"""Approval tasks, shared by REST (``api.routes.tasks``) and GraphQL (``api.graphql.resolvers``): the inbox
query, loading one task within the caller's tenant, refreshing it from Temporal, and deciding through the
``approval.decide`` Update with refusals mapped to ``wfo.errors`` (Forbidden / Conflict / InvalidInput /
Unavailable; HTTP 403 / 409 / 422 / 503 through ``api.errors``)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field
from sqlalchemy import func, or_, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from wfo.audit import audit_state
from wfo.db import execute
from wfo.errors import Conflict, Forbidden, InvalidInput, NotFound, Unavailable, WfoError
from wfo.jsonsafe import jsonable
from wfo.models import Execution, Role
from wfo.models_tasks import Task, TaskDecision
from workflows.types import APPROVALS_QUERY, DECIDE_UPDATE, Decision

TaskStatus = Literal["pending", "approved", "rejected", "timed_out", "cancelled"]
TASK_STATUSES: tuple[str, ...] = get_args(TaskStatus)

REFUSALS: dict[str, type[WfoError]] = {
    "NotAssignee": Forbidden,
    "SelfApproval": Forbidden,
    "AlreadyVoted": Conflict,
    "TaskClosed": Conflict,
    "TaskNotFound": Conflict,
    "InvalidForm": InvalidInput,
    "InvalidDecision": InvalidInput,
}

MAX_LIMIT = 500
COUNT_CAP = 10_000
MAX_OFFSET = 1_000_000
IDEMPOTENCY_KEY_MAX = 200


class TaskPublic(BaseModel):
    id: str
    execution_id: str
    workflow_id: str | None
    node_id: str
    title: str
    description: str | None
    status: str
    assignees: dict[str, list[str]]
    required_approvals: int
    form: dict[str, Any] | None
    due_at: datetime | None
    escalated: bool
    decision: str | None
    votes: list[dict[str, Any]]
    created_at: datetime
    completed_at: datetime | None


class TaskPage(BaseModel):
    items: list[TaskPublic]
    total: int
    limit: int
    offset: int
    total_capped: bool = False
    """True when `total` is a lower bound (counting stopped at `COUNT_CAP`)."""


class CompleteTask(BaseModel):
    decision: Literal["approved", "rejected"]
    comment: str | None = Field(default=None, max_length=10_000)
    data: dict[str, Any] | None = None


def public(row: Task) -> TaskPublic:
    return TaskPublic(
        id=row.id, execution_id=row.execution_id, workflow_id=row.workflow_id, node_id=row.node_id,
        title=row.title, description=row.description, status=row.status,
        assignees={"users": list(row.assignee_users or []), "roles": list(row.assignee_roles or [])},
        required_approvals=row.required_approvals, form=row.form, due_at=row.due_at, escalated=row.escalated,
        decision=row.decision, votes=list(row.votes or []), created_at=row.created_at,
        completed_at=row.completed_at,
    )


def can_act(principal) -> Any:
    """The caller is a user assignee (by email or id) or holds an assignee role."""
    users = col(Task.assignee_users)
    return or_(users.contains([principal.name]), users.contains([str(principal.user_id or principal.id)]),
               col(Task.assignee_roles).contains([str(principal.role)]))


async def load(session, principal, task_id: str) -> Task:
    """The task's row within the caller's tenant, or NotFound."""
    row = (await session.exec(select(Task).where(Task.id == task_id, Task.tenant_id == principal.tenant_id)
                              .execution_options(populate_existing=True))).first()
    if row is None:
        raise NotFound(f"task {task_id} not found")
    return row


async def row_by_id(session, task_id: str) -> Task | None:
    """Any tenant's task (signed links carry their own authority)."""
    return (await session.exec(select(Task).where(Task.id == task_id)
                               .execution_options(populate_existing=True))).first()


async def reconcile(session, client, row: Task) -> Task:
    """Temporal is the truth: refresh a pending row from the execution's approvals query."""
    if row.status != "pending" or client is None:
        return row
    handle = client.get_workflow_handle(row.execution_id)
    try:
        running = (await asyncio.wait_for(handle.describe(), 5)).status.name == "RUNNING"
    except Exception:  # noqa: BLE001 - Temporal down, history gone: keep the row
        return row
    try:
        tasks = await asyncio.wait_for(handle.query(APPROVALS_QUERY), 5)
    except Exception:  # noqa: BLE001 - no worker to answer (a closed execution needs a replay): decide below
        if running:
            return row
        tasks = []
    live = next((t for t in tasks if t["task_id"] == row.id), None)
    if not running and (live is None or live["status"] == "pending"):
        # the execution ended without closing the task (terminated from outside, timed out): nobody can act
        await execute(session, update(Task).where(col(Task.id) == row.id, col(Task.status) == "pending")
                      .values(status="cancelled", completed_at=func.now(), updated_at=func.now()))
        await session.commit()
        return await row_by_id(session, row.id) or row
    if live is None or live["status"] == row.status and live["votes"] == list(row.votes or []):
        return row
    await execute(session, update(Task).where(col(Task.id) == row.id).values(
        status=live["status"], votes=live["votes"], escalated=live["escalated"],
        assignee_users=live["assignees"]["users"], assignee_roles=live["assignees"]["roles"],
        updated_at=func.now()))
    await session.commit()
    return await row_by_id(session, row.id) or row


async def close_orphaned_tasks(sessionmaker) -> int:
    """Pending tasks whose execution has ended (per the executions index) can never be decided: cancel them.
    Run by the API's periodic reconcile pass, after the executions index has been refreshed from Temporal."""
    async with sessionmaker() as session:
        ended = select(Execution.id).where(col(Execution.status) != "running")
        result = await execute(session, update(Task).where(col(Task.status) == "pending",
                                                           col(Task.execution_id).in_(ended))
                               .values(status="cancelled", completed_at=func.now(), updated_at=func.now()))
        await session.commit()
        return result.rowcount or 0


async def get_task(session, client, principal, task_id: str) -> TaskPublic:
    """One task of the caller's tenant (any status, whoever may act on it), refreshed from Temporal; or 404."""
    return public(await reconcile(session, client, await load(session, principal, task_id)))


async def list_tasks(session, principal, *, status_: str | None = "pending", workflow_id: str | None = None,
                     execution_id: str | None = None, mine: bool = True, limit: int = 50,
                     offset: int = 0) -> TaskPage:
    """Tasks of the caller's tenant; by default the pending ones the caller may act on (non-admins only ever
    see the ones they may act on)."""
    conds: list[Any] = [Task.tenant_id == principal.tenant_id]
    if status_ is not None:
        conds.append(Task.status == status_)
    if workflow_id:
        conds.append(Task.workflow_id == workflow_id)
    if execution_id:
        conds.append(Task.execution_id == execution_id)
    if mine or principal.role != Role.admin:
        conds.append(can_act(principal))
    # counted up to COUNT_CAP (`total_capped` beyond): an inbox of 10,000 open tasks answers in milliseconds
    capped = select(Task.id).where(*conds).limit(COUNT_CAP + 1).subquery()
    total = (await session.exec(select(func.count()).select_from(capped))).one()
    rows = (await session.exec(select(Task).where(*conds).order_by(col(Task.created_at).desc(), col(Task.id))
                               .limit(limit).offset(offset))).all()
    return TaskPage(items=[public(r) for r in rows], total=min(total, COUNT_CAP), limit=limit, offset=offset,
                    total_capped=total > COUNT_CAP)


def audit_before(row: Task) -> None:
    """The task as it stood before a decision, for the decision's audit row (REST, GraphQL, signed links)."""
    audit_state(before={"id": row.id, "execution_id": row.execution_id, "status": row.status,
                        "votes": list(row.votes or [])}, resource_type="tasks")


async def decide(client, execution_id: str, decision: Decision) -> dict[str, Any]:
    """Send the decision as the execution's `approval.decide` Update; a refusal becomes its HTTP error."""
    handle = client.get_workflow_handle(execution_id)
    try:
        result = await handle.execute_update(DECIDE_UPDATE, decision, result_type=dict)
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        refusal = REFUSALS.get(getattr(cause, "type", None) or "", Conflict)
        raise refusal(getattr(cause, "message", None) or str(err)) from None
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise Conflict("the execution has already finished") from None
        if err.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            raise Unavailable("workflow engine unavailable, retry later", retry_after=5) from None
        raise
    # the decision's outcome as the workflow answered it (the task's row catches up on its next refresh)
    audit_state(after={"id": decision.task_id, "execution_id": execution_id, **result}, resource_type="tasks",
                resource_id=decision.task_id)
    return result


async def decide_once(session, client, execution_id: str, decision: Decision) -> dict[str, Any]:
    """`decide`, remembering the answer under the decision's idempotency key: a repeat gets the first answer,
    even once the execution has finished (the workflow answers repeats itself while it runs)."""
    key = decision.idempotency_key
    if key:
        stored = await session.get(TaskDecision, (decision.task_id, key))
        if stored is not None:
            return stored.result
    result = await decide(client, execution_id, decision)
    if key:
        await execute(session, insert(TaskDecision).values(task_id=decision.task_id, idempotency_key=key,
                                                           result=jsonable(result)).on_conflict_do_nothing())
        await session.commit()
    return result


def principal_decision(principal, task_id: str, body: CompleteTask, idempotency_key: str | None,
                       via: str = "api") -> Decision:
    """The decision of an authenticated caller (the key is scoped to the caller; `via` is recorded on the vote)."""
    user_id = str(principal.user_id) if principal.user_id else None
    key = f"{principal.name}:{idempotency_key}" if idempotency_key else None
    return Decision(task_id=task_id, decision=body.decision, user_id=user_id, user_email=principal.name,
                    roles=[str(principal.role)], comment=body.comment, data=body.data, idempotency_key=key,
                    via=via)
