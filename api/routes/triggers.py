"""REST v1: a workflow's triggers (kinds ``webhook`` and ``schedule``); the use cases are ``api.services.triggers``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel

from api.deps import CurrentPrincipal, SessionDep, SettingsDep, get_temporal_client
from api.services import triggers as svc
from api.services.triggers import Overlap, TriggerCreate
from wfo.models_events import Trigger

router = APIRouter(prefix="/api/v1/workflows/{workflow_id}/triggers", tags=["triggers"])

class TriggerPublic(BaseModel):
    id: uuid.UUID
    workflow_id: uuid.UUID
    kind: str
    name: str | None
    config: dict[str, Any]
    has_secret: bool
    paused: bool
    url: str | None = None
    """Webhook triggers: where to POST."""
    schedule_id: str | None = None
    schedule: dict[str, Any] | None = None
    """Schedule triggers (on GET one): Temporal's view (next runs, recent actions, paused)."""
    created_at: datetime
    created_by: str | None


def _public(row: Trigger, request: Request, schedule_state: dict[str, Any] | None = None) -> TriggerPublic:
    url = None
    if row.kind == "webhook":
        url = str(request.base_url).rstrip("/") + f"/api/v1/hooks/{row.id}"
    return TriggerPublic(
        id=row.id,
        workflow_id=row.workflow_id,
        kind=row.kind,
        name=row.name,
        config=row.config or {},
        has_secret=row.secret_enc is not None,
        paused=row.paused,
        url=url,
        schedule_id=row.schedule_id,
        schedule=schedule_state,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def _client(request: Request) -> svc.ClientProvider:
    return lambda: get_temporal_client(request.app)


@router.post("", response_model=TriggerPublic, status_code=status.HTTP_201_CREATED)
async def create_trigger(
    workflow_id: uuid.UUID,
    body: TriggerCreate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
):
    return _public(await svc.create(session, _client(request), settings, principal, workflow_id, body), request)


@router.get("", response_model=list[TriggerPublic])
async def list_triggers(workflow_id: uuid.UUID, request: Request, session: SessionDep, principal: CurrentPrincipal):
    return [_public(r, request) for r in await svc.list_for_workflow(session, principal, workflow_id)]


@router.get("/{trigger_id}", response_model=TriggerPublic)
async def get_trigger(
    workflow_id: uuid.UUID,
    trigger_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
):
    row = await svc.get(session, principal, workflow_id, trigger_id)
    row, state = await svc.reconciled(session, _client(request), settings, row)
    return _public(row, request, state)


@router.delete("/{trigger_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_trigger(
    workflow_id: uuid.UUID, trigger_id: uuid.UUID, request: Request, session: SessionDep, principal: CurrentPrincipal
):
    await svc.delete(session, _client(request), principal, workflow_id, trigger_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{trigger_id}/pause", response_model=TriggerPublic)
async def pause_trigger(
    workflow_id: uuid.UUID, trigger_id: uuid.UUID, request: Request, session: SessionDep, principal: CurrentPrincipal
):
    return _public(await svc.set_paused(session, _client(request), principal, workflow_id, trigger_id, True), request)


@router.post("/{trigger_id}/resume", response_model=TriggerPublic)
async def resume_trigger(
    workflow_id: uuid.UUID, trigger_id: uuid.UUID, request: Request, session: SessionDep, principal: CurrentPrincipal
):
    return _public(await svc.set_paused(session, _client(request), principal, workflow_id, trigger_id, False), request)


class RunNow(BaseModel):
    overlap: Overlap | None = None


@router.post("/{trigger_id}/run", status_code=status.HTTP_202_ACCEPTED)
async def run_trigger_now(
    workflow_id: uuid.UUID,
    trigger_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    body: RunNow | None = None,
) -> dict[str, str]:
    """Fire a schedule now (its overlap policy applies unless overridden)."""
    row = await svc.run_now(session, _client(request), principal, workflow_id, trigger_id, body.overlap if body else None)
    return {"status": "triggered", "schedule_id": row.schedule_id or ""}
