"""Approval task inbox: list, inspect, decide (a validated Temporal Update), and signed one-click links."""

from __future__ import annotations

import html
from typing import Annotated, Any

from fastapi import APIRouter, Form, Header, HTTPException, Query, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select

from api.deps import CurrentPrincipal, SessionDep, SettingsDep, TemporalDep
from api.services import tasks as svc
from api.services.tasks import REFUSALS, CompleteTask, TaskPage, TaskPublic, TaskStatus  # noqa: F401 - re-exported
from wfo.approval_links import LinkError, link_path, make_token, read_token
from wfo.db import execute
from wfo.models import User
from wfo.models_tasks import TaskLinkUse
from workflows.types import Decision

router = APIRouter(tags=["tasks"])


class LinkRequest(BaseModel):
    assignee: str = Field(min_length=1, max_length=320, description="email of the user the links are bound to")
    ttl_hours: float = Field(default=72, gt=0, le=24 * 30)


class TaskLinks(BaseModel):
    approve_url: str
    reject_url: str
    expires_in_hours: float


_load = svc.load
_decide = svc.decide


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
    return await svc.list_tasks(session, principal, status_=status_, workflow_id=workflow_id,
                                execution_id=execution_id, mine=mine, limit=limit, offset=offset)


@router.get("/api/v1/tasks/{task_id}", response_model=TaskPublic)
async def get_task(task_id: str, session: SessionDep, principal: CurrentPrincipal, client: TemporalDep):
    return await svc.get_task(session, client, principal, task_id)


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
    svc.audit_before(row)
    return await svc.decide_once(session, client, row.execution_id,
                                 svc.principal_decision(principal, task_id, body, idempotency_key))


@router.post("/api/v1/tasks/{task_id}/links", response_model=TaskLinks)
async def create_links(task_id: str, body: LinkRequest, session: SessionDep, principal: CurrentPrincipal,
                       settings: SettingsDep) -> TaskLinks:
    """Signed approve/reject links for one assignee (who must be able to act on the task)."""
    row = await _load(session, principal, task_id)
    if row.status != "pending":
        raise HTTPException(status.HTTP_409_CONFLICT, f"task is already {row.status}")
    user = (await session.exec(select(User).where(User.tenant_id == principal.tenant_id,
                                                     User.email == body.assignee))).first()
    roles = [str(user.role)] if user is not None else []
    users = [u.lower() for u in (row.assignee_users or [])]
    if body.assignee.lower() not in users and not set(roles) & set(row.assignee_roles or []):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"{body.assignee} is not an assignee of this task")
    ttl = int(body.ttl_hours * 3600)
    return TaskLinks(
        approve_url=link_path(task_id, make_token(settings, task_id, body.assignee, "approved", ttl_seconds=ttl,
                                                  roles=roles)),
        reject_url=link_path(task_id, make_token(settings, task_id, body.assignee, "rejected", ttl_seconds=ttl,
                                                 roles=roles)),
        expires_in_hours=body.ttl_hours,
    )


def _page(title: str, body: str, code: int = 200) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
                        f"</head><body style='font-family:sans-serif;max-width:40em;margin:3em auto'>"
                        f"<h1>{html.escape(title)}</h1>{body}</body></html>", status_code=code)


async def _task_for_link(session, task_id: str):
    return await svc.row_by_id(session, task_id)


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
    verb = "Approve" if claim.decision == "approved" else "Reject"
    return _page(f"{verb}: {row.title}", (
        f"<p>{html.escape(row.description or '')}</p><p>As <b>{html.escape(claim.assignee)}</b>.</p>"
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
    inserted = (await execute(session, insert(TaskLinkUse).values(nonce=claim.nonce, task_id=task_id)
                              .on_conflict_do_nothing().returning(col(TaskLinkUse.nonce)))).first()
    if inserted is None:
        await session.rollback()
        raise HTTPException(status.HTTP_410_GONE, "this approval link has already been used")
    svc.audit_before(row)
    try:
        result = await _decide(client, row.execution_id, Decision(
            task_id=task_id, decision=claim.decision, user_email=claim.assignee, roles=claim.roles,
            comment=comment, idempotency_key=f"link:{claim.nonce}", via="link"))
    except BaseException:
        await session.rollback()  # the link stays usable if the decision was not recorded
        raise
    await session.commit()
    return result


