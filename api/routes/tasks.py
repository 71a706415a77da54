"""Approval task inbox: list, inspect, decide (a validated Temporal Update), and signed one-click links."""

from __future__ import annotations

import asyncio
import html
from datetime import datetime
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Form, Header, HTTPException, Query, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlmodel import select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from api.approval_links import LinkError, make_token, read_token
from api.deps import CurrentPrincipal, SessionDep, SettingsDep, TemporalDep
from wfo.models import Role, User
from workflows.types import APPROVALS_QUERY, DECIDE_UPDATE, Decision

router = APIRouter(tags=["tasks"])

TaskStatus = Literal["pending", "approved", "rejected", "timed_out", "cancelled"]

REFUSALS = {
    "NotAssignee": status.HTTP_403_FORBIDDEN,
    "SelfApproval": status.HTTP_403_FORBIDDEN,
    "AlreadyVoted": status.HTTP_409_CONFLICT,
    "TaskClosed": status.HTTP_409_CONFLICT,
    "TaskNotFound": status.HTTP_409_CONFLICT,
    "InvalidForm": status.HTTP_422_UNPROCESSABLE_CONTENT,
    "InvalidDecision": status.HTTP_422_UNPROCESSABLE_CONTENT,
}


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


class CompleteTask(BaseModel):
    decision: Literal["approved", "rejected"]
    comment: str | None = Field(default=None, max_length=10_000)
    data: dict[str, Any] | None = None


class LinkRequest(BaseModel):
    assignee: str = Field(min_length=1, max_length=320, description="email of the user the links are bound to")
    ttl_hours: float = Field(default=72, gt=0, le=24 * 30)


class TaskLinks(BaseModel):
    approve_url: str
    reject_url: str
    expires_in_hours: float


_COLUMNS = ("id, execution_id, workflow_id, node_id, title, description, status, assignee_users, assignee_roles, "
            "required_approvals, form, due_at, escalated, decision, votes, created_at, completed_at, tenant_id")


def _public(row: Any) -> TaskPublic:
    m = row._mapping
    return TaskPublic(
        id=m["id"], execution_id=m["execution_id"], workflow_id=m["workflow_id"], node_id=m["node_id"],
        title=m["title"], description=m["description"], status=m["status"],
        assignees={"users": list(m["assignee_users"] or []), "roles": list(m["assignee_roles"] or [])},
        required_approvals=m["required_approvals"], form=m["form"], due_at=m["due_at"], escalated=m["escalated"],
        decision=m["decision"], votes=list(m["votes"] or []), created_at=m["created_at"],
        completed_at=m["completed_at"],
    )


async def _sql(session, sql: str, params: dict[str, Any]):
    return await session.exec(sa.text(sql), params=params)


def _can_act_clause() -> str:
    return ("(assignee_users @> to_jsonb(CAST(:email AS text)) OR assignee_users @> to_jsonb(CAST(:uid AS text)) "
            "OR assignee_roles @> to_jsonb(CAST(:role AS text)))")


async def _load(session, principal, task_id: str):
    row = (await _sql(
        session, f"SELECT {_COLUMNS} FROM tasks WHERE id = :id AND tenant_id = :tenant",
        {"id": task_id, "tenant": principal.tenant_id})).first()
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"task {task_id} not found")
    return row


async def _reconcile(session, client, row) -> Any:
    """Temporal is the truth: refresh a pending row from the execution's approvals query."""
    m = row._mapping
    if m["status"] != "pending" or client is None:
        return row
    try:
        tasks = await asyncio.wait_for(client.get_workflow_handle(m["execution_id"]).query(APPROVALS_QUERY), 5)
    except Exception:  # noqa: BLE001 - finished executions, Temporal down: keep the row
        return row
    live = next((t for t in tasks if t["task_id"] == m["id"]), None)
    if live is None or live["status"] == m["status"] and live["votes"] == list(m["votes"] or []):
        return row
    import json

    await _sql(session, (
        "UPDATE tasks SET status = :s, votes = CAST(:v AS jsonb), escalated = :e, "
        "assignee_users = CAST(:u AS jsonb), assignee_roles = CAST(:r AS jsonb), updated_at = now() WHERE id = :id"),
        {"s": live["status"], "v": json.dumps(live["votes"]), "e": live["escalated"],
         "u": json.dumps(live["assignees"]["users"]), "r": json.dumps(live["assignees"]["roles"]), "id": m["id"]})
    await session.commit()
    return (await _sql(session, (f"SELECT {_COLUMNS} FROM tasks WHERE id = :id"), {"id": m["id"]})).first()


@router.get("/api/v1/tasks", response_model=TaskPage)
async def list_tasks(
    session: SessionDep,
    principal: CurrentPrincipal,
    status_: Annotated[TaskStatus | None, Query(alias="status")] = "pending",
    workflow_id: str | None = None,
    execution_id: str | None = None,
    mine: bool = True,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
):
    """Tasks of the caller's tenant; by default the pending ones the caller may act on."""
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
        where.append(_can_act_clause())
        params.update({"email": principal.name, "uid": str(principal.user_id or principal.id),
                       "role": str(principal.role)})
    cond = " AND ".join(where)
    total = (await _sql(session, (f"SELECT count(*) FROM tasks WHERE {cond}"), params)).scalar_one()
    rows = (await _sql(session, (
        f"SELECT {_COLUMNS} FROM tasks WHERE {cond} ORDER BY created_at DESC, id LIMIT :limit OFFSET :offset"),
        params)).all()
    return TaskPage(items=[_public(r) for r in rows], total=total, limit=limit, offset=offset)


@router.get("/api/v1/tasks/{task_id}", response_model=TaskPublic)
async def get_task(task_id: str, session: SessionDep, principal: CurrentPrincipal, client: TemporalDep):
    row = await _load(session, principal, task_id)
    return _public(await _reconcile(session, client, row))


async def _decide(client, execution_id: str, decision: Decision) -> dict[str, Any]:
    handle = client.get_workflow_handle(execution_id)
    try:
        return await handle.execute_update(DECIDE_UPDATE, decision, result_type=dict)
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        code = REFUSALS.get(getattr(cause, "type", None), status.HTTP_409_CONFLICT)
        raise HTTPException(code, getattr(cause, "message", None) or str(err)) from None
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise HTTPException(status.HTTP_409_CONFLICT, "the execution has already finished") from None
        if err.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "workflow engine unavailable, retry later",
                                headers={"Retry-After": "5"}) from None
        raise


@router.post("/api/v1/tasks/{task_id}/complete")
async def complete_task(
    task_id: str,
    body: CompleteTask,
    session: SessionDep,
    principal: CurrentPrincipal,
    client: TemporalDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> dict[str, Any]:
    """Decide; the execution validates (assignee, one vote each, no self-approval, form) before recording."""
    row = await _load(session, principal, task_id)
    user_id = str(principal.user_id) if principal.user_id else None
    key = f"{principal.name}:{idempotency_key}" if idempotency_key else None
    result = await _decide(client, row._mapping["execution_id"], Decision(
        task_id=task_id, decision=body.decision, user_id=user_id, user_email=principal.name,
        roles=[str(principal.role)], comment=body.comment, data=body.data, idempotency_key=key, via="api"))
    return result


@router.post("/api/v1/tasks/{task_id}/links", response_model=TaskLinks)
async def create_links(task_id: str, body: LinkRequest, session: SessionDep, principal: CurrentPrincipal,
                       settings: SettingsDep) -> TaskLinks:
    """Signed approve/reject links for one assignee (who must be able to act on the task)."""
    row = await _load(session, principal, task_id)
    m = row._mapping
    if m["status"] != "pending":
        raise HTTPException(status.HTTP_409_CONFLICT, f"task is already {m['status']}")
    user = (await session.exec(select(User).where(User.tenant_id == principal.tenant_id,
                                                     User.email == body.assignee))).first()
    roles = [str(user.role)] if user is not None else []
    users = [u.lower() for u in (m["assignee_users"] or [])]
    if body.assignee.lower() not in users and not set(roles) & set(m["assignee_roles"] or []):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"{body.assignee} is not an assignee of this task")
    ttl = int(body.ttl_hours * 3600)
    base = f"/api/v1/tasks/{task_id}/act?token="
    return TaskLinks(
        approve_url=base + make_token(settings, task_id, body.assignee, "approved", ttl_seconds=ttl, roles=roles),
        reject_url=base + make_token(settings, task_id, body.assignee, "rejected", ttl_seconds=ttl, roles=roles),
        expires_in_hours=body.ttl_hours,
    )


def _page(title: str, body: str, code: int = 200) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
                        f"</head><body style='font-family:sans-serif;max-width:40em;margin:3em auto'>"
                        f"<h1>{html.escape(title)}</h1>{body}</body></html>", status_code=code)


async def _task_for_link(session, task_id: str):
    return (await _sql(session, (f"SELECT {_COLUMNS} FROM tasks WHERE id = :id"), {"id": task_id})).first()


@router.get("/api/v1/tasks/{task_id}/act", response_class=HTMLResponse)
async def link_page(task_id: str, token: str, session: SessionDep, settings: SettingsDep):
    """The page a link opens: it confirms with a POST (mail scanners that fetch links decide nothing)."""
    try:
        claim = read_token(settings, token, task_id)
    except LinkError as err:
        return _page("Link not valid", f"<p>{html.escape(err.message)}</p>", err.status)
    row = await _task_for_link(session, task_id)
    if row is None:
        return _page("Task not found", "", 404)
    m = row._mapping
    verb = "Approve" if claim.decision == "approved" else "Reject"
    return _page(f"{verb}: {m['title']}", (
        f"<p>{html.escape(m['description'] or '')}</p><p>As <b>{html.escape(claim.assignee)}</b>.</p>"
        f"<form method='post'><input type='hidden' name='token' value='{html.escape(token)}'>"
        f"<p><textarea name='comment' placeholder='Comment (optional)' rows='3' cols='50'></textarea></p>"
        f"<button type='submit'>{verb}</button></form>"))


@router.post("/api/v1/tasks/{task_id}/act")
async def link_decide(task_id: str, token: Annotated[str, Form(max_length=4000)], session: SessionDep,
                      settings: SettingsDep, client: TemporalDep,
                      comment: Annotated[str | None, Form(max_length=10_000)] = None):
    """Decide through a signed link: no login; bound to its assignee; expires; works once."""
    try:
        claim = read_token(settings, token, task_id)
    except LinkError as err:
        raise HTTPException(err.status, err.message) from None
    row = await _task_for_link(session, task_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"task {task_id} not found")
    inserted = (await _sql(session, (
        "INSERT INTO task_link_uses (nonce, task_id) VALUES (:n, :t) ON CONFLICT DO NOTHING RETURNING nonce"),
        {"n": claim.nonce, "t": task_id})).first()
    if inserted is None:
        await session.rollback()
        raise HTTPException(status.HTTP_410_GONE, "this approval link has already been used")
    try:
        result = await _decide(client, row._mapping["execution_id"], Decision(
            task_id=task_id, decision=claim.decision, user_email=claim.assignee, roles=claim.roles,
            comment=comment, idempotency_key=f"link:{claim.nonce}", via="link"))
    except BaseException:
        await session.rollback()  # the link stays usable if the decision was not recorded
        raise
    await session.commit()
    return result


