"""REST v1: a workflow's triggers (kinds ``webhook`` and ``schedule``).

A ``webhook`` trigger answers at ``/api/v1/hooks/{trigger_id}`` (``api.routes.hooks``); a
``schedule`` trigger is a Temporal Schedule (``api.services.schedules``) kept in agreement with its
row here: Temporal is changed first, then the row; reads reconcile the row from Temporal.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel, Field, model_validator
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from api.deps import CurrentPrincipal, SessionDep, SettingsDep, get_temporal_client
from api.services import schedules
from api.services import workflows as wf_svc
from wfo.db import sql
from wfo.jsonsafe import StorableJSON, Text
from wfo.security.secretbox import seal

log = logging.getLogger("wfo.api.triggers")

router = APIRouter(prefix="/api/v1/workflows/{workflow_id}/triggers", tags=["triggers"])

MAX_SYNC_TIMEOUT_SECONDS = 60.0
DEFAULT_RATE_LIMIT_PER_MINUTE = 600
RETRY_AFTER_SECONDS = "5"
UNAVAILABLE_ERRORS = (RPCError, RuntimeError, OSError, asyncio.TimeoutError)
"""What an unreachable Temporal raises (connect failures are RuntimeError in the SDK)."""


class TriggerCreate(BaseModel):
    kind: Literal["webhook", "schedule"]
    name: Text | None = Field(default=None, max_length=255)
    # webhook
    secret: Text | None = Field(
        default=None, min_length=8, max_length=256,
        description="Turns on HMAC-SHA256 verification of the raw body (X-Signature-256: sha256=<hex>)",
    )
    response_mode: Literal["async", "sync"] = "async"
    sync_timeout_seconds: float = Field(default=10.0, gt=0, le=MAX_SYNC_TIMEOUT_SECONDS)
    rate_limit_per_minute: int = Field(default=DEFAULT_RATE_LIMIT_PER_MINUTE, ge=0, le=1_000_000)
    max_body_bytes: int | None = Field(default=None, ge=1)
    # schedule
    cron: Text | None = Field(default=None, max_length=255)
    timezone: Text = Field(default="UTC", max_length=64)
    interval_seconds: int | None = Field(default=None, ge=1, le=366 * 86400)
    jitter_seconds: int = Field(default=0, ge=0, le=86400)
    overlap: Literal["skip", "buffer_one", "buffer_all", "cancel_other", "terminate_other", "allow_all"] = "skip"
    catchup_window_seconds: int = Field(default=60, ge=10, le=366 * 86400)
    paused: bool = False
    input: StorableJSON = None
    """Static input of every scheduled run (``input.data`` in the execution)."""

    @model_validator(mode="after")
    def _check(self) -> "TriggerCreate":
        if self.kind == "schedule":
            if (self.cron is None) == (self.interval_seconds is None):
                raise ValueError("a schedule needs exactly one of 'cron' or 'interval_seconds'")
            if self.cron is not None and not croniter.is_valid(self.cron):
                raise ValueError(f"invalid cron expression {self.cron!r}")
            try:
                ZoneInfo(self.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {self.timezone!r}") from None
            if self.secret is not None:
                raise ValueError("'secret' applies to webhook triggers only")
        else:
            if self.cron is not None or self.interval_seconds is not None:
                raise ValueError("'cron'/'interval_seconds' apply to schedule triggers only")
        return self

    def config(self) -> dict[str, Any]:
        if self.kind == "webhook":
            keys = ("response_mode", "sync_timeout_seconds", "rate_limit_per_minute", "max_body_bytes")
        else:
            keys = ("cron", "timezone", "interval_seconds", "jitter_seconds", "overlap", "catchup_window_seconds", "input")
        return {k: getattr(self, k) for k in keys}


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


def _public(row: Any, request: Request, schedule_state: dict[str, Any] | None = None) -> TriggerPublic:
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


def _unavailable(exc: BaseException) -> HTTPException:
    log.warning("Temporal unavailable for a trigger change: %s", type(exc).__name__)
    return HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE,
        "workflow engine (Temporal) unavailable; nothing was changed",
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )


async def _temporal(request: Request) -> Client:
    try:
        return await get_temporal_client(request.app)
    except UNAVAILABLE_ERRORS as exc:
        raise _unavailable(exc) from exc


async def _get_row(session, principal, workflow_id: uuid.UUID, trigger_id: uuid.UUID) -> Any:
    row = (
        await sql(
            session,
            "SELECT * FROM triggers WHERE id = :id AND workflow_id = :w AND tenant_id = :t",
            {"id": trigger_id, "w": workflow_id, "t": principal.tenant_id},
        )
    ).first()
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "trigger not found")
    return row


@router.post("", response_model=TriggerPublic, status_code=status.HTTP_201_CREATED)
async def create_trigger(
    workflow_id: uuid.UUID,
    body: TriggerCreate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
):
    wf = await wf_svc.get_workflow(session, principal, workflow_id)
    if wf.status == "archived":
        raise HTTPException(status.HTTP_409_CONFLICT, "workflow is archived")
    if body.max_body_bytes is not None and body.max_body_bytes > settings.max_request_bytes:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"max_body_bytes above the server limit {settings.max_request_bytes}"
        )
    trigger_id = uuid.uuid4()
    config = body.config()
    schedule_id = schedules.schedule_id_for(str(trigger_id)) if body.kind == "schedule" else None
    row = (
        await sql(
            session,
            "INSERT INTO triggers (id, tenant_id, workflow_id, kind, name, config, secret_enc, paused, schedule_id, "
            "created_by) VALUES (:id, :t, :w, :kind, :name, CAST(:config AS jsonb), :secret, :paused, :sid, :by) "
            "RETURNING *",
            {
                "id": trigger_id,
                "t": principal.tenant_id,
                "w": wf.id,
                "kind": body.kind,
                "name": body.name,
                "config": json.dumps(config, default=str),
                "secret": seal(settings.secret_key, body.secret) if body.secret else None,
                "paused": body.paused if body.kind == "schedule" else False,
                "sid": schedule_id,
                "by": principal.name,
            },
        )
    ).one()
    if body.kind == "schedule":
        client = await _temporal(request)
        schedule = schedules.build_schedule(
            trigger_id=str(trigger_id),
            tenant_id=str(principal.tenant_id),
            workflow_id=str(wf.id),
            config=config,
            paused=body.paused,
            task_queue=settings.temporal_task_queue,
        )
        try:
            await schedules.create(client, schedule, str(trigger_id))
        except RPCError as exc:
            await session.rollback()
            if exc.status == RPCStatusCode.INVALID_ARGUMENT:
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"schedule refused: {exc.message}") from None
            raise _unavailable(exc) from exc
        except UNAVAILABLE_ERRORS as exc:
            await session.rollback()
            raise _unavailable(exc) from exc
        try:
            await session.commit()
        except Exception:
            await schedules.delete(client, str(trigger_id))
            raise
    else:
        await session.commit()
    return _public(row, request)


@router.get("", response_model=list[TriggerPublic])
async def list_triggers(workflow_id: uuid.UUID, request: Request, session: SessionDep, principal: CurrentPrincipal):
    await wf_svc.get_workflow(session, principal, workflow_id)
    rows = (
        await sql(
            session,
            "SELECT * FROM triggers WHERE workflow_id = :w AND tenant_id = :t ORDER BY created_at, id",
            {"w": workflow_id, "t": principal.tenant_id},
        )
    ).all()
    return [_public(r, request) for r in rows]


async def _reconciled(request: Request, session, row: Any, settings) -> tuple[Any, dict[str, Any] | None]:
    """Bring the row in line with Temporal (paused flag; recreate a schedule that went missing)."""
    if row.kind != "schedule":
        return row, None
    client = await _temporal(request)
    try:
        state = await schedules.describe(client, str(row.id))
        if state is None:
            await schedules.create(
                client,
                schedules.build_schedule(
                    trigger_id=str(row.id), tenant_id=str(row.tenant_id), workflow_id=str(row.workflow_id),
                    config=row.config, paused=row.paused, task_queue=settings.temporal_task_queue,
                ),
                str(row.id),
            )
            state = await schedules.describe(client, str(row.id))
    except RPCError as exc:
        raise _unavailable(exc) from exc
    if state is not None and state["paused"] != row.paused:
        row = (
            await sql(
                session,
                "UPDATE triggers SET paused = :p, updated_at = now() WHERE id = :id RETURNING *",
                {"p": state["paused"], "id": row.id},
            )
        ).one()
        await session.commit()
    return row, state


@router.get("/{trigger_id}", response_model=TriggerPublic)
async def get_trigger(
    workflow_id: uuid.UUID,
    trigger_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
):
    row = await _get_row(session, principal, workflow_id, trigger_id)
    row, state = await _reconciled(request, session, row, settings)
    return _public(row, request, state)


@router.delete("/{trigger_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_trigger(
    workflow_id: uuid.UUID, trigger_id: uuid.UUID, request: Request, session: SessionDep, principal: CurrentPrincipal
):
    row = await _get_row(session, principal, workflow_id, trigger_id)
    if row.kind == "schedule":
        client = await _temporal(request)
        try:
            await schedules.delete(client, str(row.id))
        except UNAVAILABLE_ERRORS as exc:
            raise _unavailable(exc) from exc
    await sql(session, "DELETE FROM triggers WHERE id = :id", {"id": row.id})
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _set_paused(request, session, principal, workflow_id, trigger_id, paused: bool) -> Any:
    row = await _get_row(session, principal, workflow_id, trigger_id)
    if row.kind != "schedule":
        raise HTTPException(status.HTTP_409_CONFLICT, "only schedule triggers can be paused")
    client = await _temporal(request)
    try:
        await schedules.set_paused(client, str(row.id), paused, f"{'paused' if paused else 'resumed'} by {principal.name}")
    except UNAVAILABLE_ERRORS as exc:
        raise _unavailable(exc) from exc
    row = (
        await sql(
            session,
            "UPDATE triggers SET paused = :p, updated_at = now() WHERE id = :id RETURNING *",
            {"p": paused, "id": row.id},
        )
    ).one()
    await session.commit()
    return row


@router.post("/{trigger_id}/pause", response_model=TriggerPublic)
async def pause_trigger(
    workflow_id: uuid.UUID, trigger_id: uuid.UUID, request: Request, session: SessionDep, principal: CurrentPrincipal
):
    return _public(await _set_paused(request, session, principal, workflow_id, trigger_id, True), request)


@router.post("/{trigger_id}/resume", response_model=TriggerPublic)
async def resume_trigger(
    workflow_id: uuid.UUID, trigger_id: uuid.UUID, request: Request, session: SessionDep, principal: CurrentPrincipal
):
    return _public(await _set_paused(request, session, principal, workflow_id, trigger_id, False), request)


class RunNow(BaseModel):
    overlap: Literal["skip", "buffer_one", "buffer_all", "cancel_other", "terminate_other", "allow_all"] | None = None


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
    row = await _get_row(session, principal, workflow_id, trigger_id)
    if row.kind != "schedule":
        raise HTTPException(status.HTTP_409_CONFLICT, "only schedule triggers can be run now; POST to the hook URL")
    client = await _temporal(request)
    try:
        await schedules.trigger_now(client, str(row.id), body.overlap if body else None)
    except UNAVAILABLE_ERRORS as exc:
        raise _unavailable(exc) from exc
    return {"status": "triggered", "schedule_id": row.schedule_id}
