"""Approval tasks, shared by REST (``api.routes.tasks``) and GraphQL (``api.graphql.resolvers``): the inbox
query, loading one task within the caller's tenant, refreshing it from Temporal, and deciding through the
``approval.decide`` Update with refusals mapped to ``wfo.errors`` (Forbidden / Conflict / InvalidInput /
Unavailable; HTTP 403 / 409 / 422 / 503 through ``api.errors``)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from wfo.db import sql
from wfo.errors import Conflict, Forbidden, InvalidInput, NotFound, Unavailable, WfoError
from wfo.models import Role
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


COLUMNS = ("id, execution_id, workflow_id, node_id, title, description, status, assignee_users, assignee_roles, "
           "required_approvals, form, due_at, escalated, decision, votes, created_at, completed_at, tenant_id")


def public(row: Any) -> TaskPublic:
    m = row._mapping
    return TaskPublic(
        id=m["id"], execution_id=m["execution_id"], workflow_id=m["workflow_id"], node_id=m["node_id"],
        title=m["title"], description=m["description"], status=m["status"],
        assignees={"users": list(m["assignee_users"] or []), "roles": list(m["assignee_roles"] or [])},
        required_approvals=m["required_approvals"], form=m["form"], due_at=m["due_at"], escalated=m["escalated"],
        decision=m["decision"], votes=list(m["votes"] or []), created_at=m["created_at"],
        completed_at=m["completed_at"],
    )


def can_act_clause() -> str:
    return ("(assignee_users @> to_jsonb(CAST(:email AS text)) OR assignee_users @> to_jsonb(CAST(:uid AS text)) "
            "OR assignee_roles @> to_jsonb(CAST(:role AS text)))")


async def load(session, principal, task_id: str):
    """The task's row within the caller's tenant, or 404."""
    row = (await sql(
        session, f"SELECT {COLUMNS} FROM tasks WHERE id = :id AND tenant_id = :tenant",
        {"id": task_id, "tenant": principal.tenant_id})).first()
    if row is None:
        raise NotFound(f"task {task_id} not found")
    return row


async def row_by_id(session, task_id: str):
    """Any tenant's task (signed links carry their own authority)."""
    return (await sql(session, f"SELECT {COLUMNS} FROM tasks WHERE id = :id", {"id": task_id})).first()


async def reconcile(session, client, row) -> Any:
    """Temporal is the truth: refresh a pending row from the execution's approvals query."""
    m = row._mapping
    if m["status"] != "pending" or client is None:
        return row
    handle = client.get_workflow_handle(m["execution_id"])
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
    live = next((t for t in tasks if t["task_id"] == m["id"]), None)
    if not running and (live is None or live["status"] == "pending"):
        # the execution ended without closing the task (terminated from outside, timed out): nobody can act
        await sql(session, "UPDATE tasks SET status = 'cancelled', completed_at = now(), updated_at = now() "
                           "WHERE id = :id AND status = 'pending'", {"id": m["id"]})
        await session.commit()
        return await row_by_id(session, m["id"])
    if live is None or live["status"] == m["status"] and live["votes"] == list(m["votes"] or []):
        return row
    await sql(session, (
        "UPDATE tasks SET status = :s, votes = CAST(:v AS jsonb), escalated = :e, "
        "assignee_users = CAST(:u AS jsonb), assignee_roles = CAST(:r AS jsonb), updated_at = now() WHERE id = :id"),
        {"s": live["status"], "v": json.dumps(live["votes"]), "e": live["escalated"],
         "u": json.dumps(live["assignees"]["users"]), "r": json.dumps(live["assignees"]["roles"]), "id": m["id"]})
    await session.commit()
    return await row_by_id(session, m["id"])


async def close_orphaned_tasks(sessionmaker) -> int:
    """Pending tasks whose execution has ended (per the executions index) can never be decided: cancel them.
    Run by the API's periodic reconcile pass, after the executions index has been refreshed from Temporal."""
    async with sessionmaker() as session:
        result = await sql(session, (
            "UPDATE tasks SET status = 'cancelled', completed_at = now(), updated_at = now() "
            "WHERE status = 'pending' AND execution_id IN "
            "(SELECT id FROM executions WHERE status <> 'running')"), {})
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
    where = ["tenant_id = :tenant"]
    params: dict[str, Any] = {"tenant": principal.tenant_id, "limit": limit, "offset": offset}
    if status_ is not None:
        where.append("status = :status")
        params["status"] = status_
    if workflow_id:
        where.append("workflow_id = :wf")
        params["wf"] = workflow_id
    if execution_id:
        where.append("execution_id = :ex")
        params["ex"] = execution_id
    if mine or principal.role != Role.admin:
        where.append(can_act_clause())
        params.update({"email": principal.name, "uid": str(principal.user_id or principal.id),
                       "role": str(principal.role)})
    cond = " AND ".join(where)
    # counted up to COUNT_CAP (`total_capped` beyond): an inbox of 10,000 open tasks answers in milliseconds
    total = (await sql(session, f"SELECT count(*) FROM (SELECT 1 FROM tasks WHERE {cond} LIMIT {COUNT_CAP + 1}) t",
                       params)).scalar_one()
    rows = (await sql(session, (
        f"SELECT {COLUMNS} FROM tasks WHERE {cond} ORDER BY created_at DESC, id LIMIT :limit OFFSET :offset"),
        params)).all()
    return TaskPage(items=[public(r) for r in rows], total=min(total, COUNT_CAP), limit=limit, offset=offset,
                    total_capped=total > COUNT_CAP)


async def decide(client, execution_id: str, decision: Decision) -> dict[str, Any]:
    """Send the decision as the execution's `approval.decide` Update; a refusal becomes its HTTP error."""
    handle = client.get_workflow_handle(execution_id)
    try:
        return await handle.execute_update(DECIDE_UPDATE, decision, result_type=dict)
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


async def decide_once(session, client, execution_id: str, decision: Decision) -> dict[str, Any]:
    """`decide`, remembering the answer under the decision's idempotency key: a repeat gets the first answer,
    even once the execution has finished (the workflow answers repeats itself while it runs)."""
    key = decision.idempotency_key
    if key:
        stored = (await sql(session, "SELECT result FROM task_decisions WHERE task_id = :t AND idempotency_key = :k",
                            {"t": decision.task_id, "k": key})).first()
        if stored is not None:
            return stored[0]
    result = await decide(client, execution_id, decision)
    if key:
        await sql(session, "INSERT INTO task_decisions (task_id, idempotency_key, result) "
                           "VALUES (:t, :k, CAST(:r AS jsonb)) ON CONFLICT DO NOTHING",
                  {"t": decision.task_id, "k": key, "r": json.dumps(result, default=str)})
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
