"""A workflow's triggers (kinds ``webhook`` and ``schedule``): the use cases behind REST (and any other API).

A ``webhook`` trigger answers at ``/api/v1/hooks/{trigger_id}`` (``api.services.hooks``); a ``schedule``
trigger is a Temporal Schedule (``api.services.schedules``) kept in agreement with its row: Temporal is
changed first, then the row; reads reconcile the row from Temporal. Raises ``wfo.errors`` only
(Temporal unreachable: ``Unavailable``, nothing changed).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import BaseModel, Field, model_validator
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from api.deps import Principal
from api.services import schedules
from api.services import workflows as wf_svc
from wfo.audit import audit_state
from wfo.errors import Conflict, InvalidInput, NotFound, Unavailable
from wfo.jsonsafe import StorableJSON, Text, jsonable
from wfo.models import utcnow
from wfo.models_events import Trigger
from wfo.security.secretbox import seal
from wfo.settings import Settings

log = logging.getLogger("wfo.api.triggers")

MAX_SYNC_TIMEOUT_SECONDS = 60.0
DEFAULT_RATE_LIMIT_PER_MINUTE = 600
RETRY_AFTER_SECONDS = 5
UNAVAILABLE_ERRORS = (RPCError, RuntimeError, OSError, asyncio.TimeoutError)
"""What an unreachable Temporal raises (connect failures are RuntimeError in the SDK)."""

ClientProvider = Callable[[], Awaitable[Client]]


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


def _unavailable(exc: BaseException) -> Unavailable:
    log.warning("Temporal unavailable for a trigger change: %s", type(exc).__name__)
    return Unavailable("workflow engine (Temporal) unavailable; nothing was changed", retry_after=RETRY_AFTER_SECONDS)


async def _temporal(client: ClientProvider) -> Client:
    try:
        return await client()
    except UNAVAILABLE_ERRORS as exc:
        raise _unavailable(exc) from exc


async def get(session: AsyncSession, principal: Principal, workflow_id: uuid.UUID, trigger_id: uuid.UUID) -> Trigger:
    """The caller's trigger of that workflow, else ``NotFound`` (also for other tenants' ids)."""
    row = (await session.exec(select(Trigger).where(
        Trigger.id == trigger_id, Trigger.workflow_id == workflow_id, Trigger.tenant_id == principal.tenant_id))).first()
    if row is None:
        raise NotFound("trigger not found")
    return row


async def list_for_workflow(session: AsyncSession, principal: Principal, workflow_id: uuid.UUID) -> list[Trigger]:
    await wf_svc.get_workflow(session, principal, workflow_id)
    return list((await session.exec(
        select(Trigger).where(Trigger.workflow_id == workflow_id, Trigger.tenant_id == principal.tenant_id)
        .order_by(col(Trigger.created_at), col(Trigger.id)))).all())


async def create(session: AsyncSession, client: ClientProvider, settings: Settings, principal: Principal,
                 workflow_id: uuid.UUID, body: TriggerCreate) -> Trigger:
    wf = await wf_svc.get_workflow(session, principal, workflow_id)
    if wf.status == "archived":
        raise Conflict("workflow is archived")
    if body.max_body_bytes is not None and body.max_body_bytes > settings.max_request_bytes:
        raise InvalidInput(f"max_body_bytes above the server limit {settings.max_request_bytes}")
    trigger_id = uuid.uuid4()
    config = body.config()
    row = Trigger(
        id=trigger_id, tenant_id=principal.tenant_id, workflow_id=wf.id, kind=body.kind, name=body.name,
        config=jsonable(config), secret_enc=seal(settings.secret_key, body.secret) if body.secret else None,
        paused=body.paused if body.kind == "schedule" else False,
        schedule_id=schedules.schedule_id_for(str(trigger_id)) if body.kind == "schedule" else None,
        created_by=principal.name,
    )
    session.add(row)
    await session.flush()
    if body.kind == "schedule":
        temporal = await _temporal(client)
        schedule = schedules.build_schedule(
            trigger_id=str(trigger_id), tenant_id=str(principal.tenant_id), workflow_id=str(wf.id),
            config=config, paused=body.paused, task_queue=settings.temporal_task_queue,
        )
        try:
            await schedules.create(temporal, schedule, str(trigger_id))
        except RPCError as exc:
            await session.rollback()
            if exc.status == RPCStatusCode.INVALID_ARGUMENT:
                raise InvalidInput(f"schedule refused: {exc.message}") from None
            raise _unavailable(exc) from exc
        except UNAVAILABLE_ERRORS as exc:
            await session.rollback()
            raise _unavailable(exc) from exc
        try:
            await session.commit()
        except Exception:
            await schedules.delete(temporal, str(trigger_id))
            raise
    else:
        await session.commit()
    audit_state(before=None, after=row, resource_type="triggers")
    return row


async def _store_paused(session: AsyncSession, row: Trigger, paused: bool) -> Trigger:
    audit_state(before=row, resource_type="triggers")
    row.paused = paused
    row.updated_at = utcnow()
    session.add(row)
    await session.commit()
    audit_state(after=row, resource_type="triggers")
    return row


async def reconciled(session: AsyncSession, client: ClientProvider, settings: Settings,
                     row: Trigger) -> tuple[Trigger, dict[str, Any] | None]:
    """Bring the row in line with Temporal (paused flag; recreate a schedule that went missing)."""
    if row.kind != "schedule":
        return row, None
    temporal = await _temporal(client)
    try:
        state = await schedules.describe(temporal, str(row.id))
        if state is None:
            await schedules.create(
                temporal,
                schedules.build_schedule(
                    trigger_id=str(row.id), tenant_id=str(row.tenant_id), workflow_id=str(row.workflow_id),
                    config=row.config, paused=row.paused, task_queue=settings.temporal_task_queue,
                ),
                str(row.id),
            )
            state = await schedules.describe(temporal, str(row.id))
    except RPCError as exc:
        raise _unavailable(exc) from exc
    if state is not None and state["paused"] != row.paused:
        row = await _store_paused(session, row, state["paused"])
    return row, state


async def delete(session: AsyncSession, client: ClientProvider, principal: Principal, workflow_id: uuid.UUID,
                 trigger_id: uuid.UUID) -> None:
    row = await get(session, principal, workflow_id, trigger_id)
    audit_state(before=row, resource_type="triggers")
    if row.kind == "schedule":
        temporal = await _temporal(client)
        try:
            await schedules.delete(temporal, str(row.id))
        except UNAVAILABLE_ERRORS as exc:
            raise _unavailable(exc) from exc
    await session.delete(row)
    await session.commit()
    audit_state(after=None, resource_type="triggers", resource_id=trigger_id)


async def set_paused(session: AsyncSession, client: ClientProvider, principal: Principal, workflow_id: uuid.UUID,
                     trigger_id: uuid.UUID, paused: bool) -> Trigger:
    row = await get(session, principal, workflow_id, trigger_id)
    if row.kind != "schedule":
        raise Conflict("only schedule triggers can be paused")
    temporal = await _temporal(client)
    try:
        await schedules.set_paused(temporal, str(row.id), paused,
                                   f"{'paused' if paused else 'resumed'} by {principal.name}")
    except UNAVAILABLE_ERRORS as exc:
        raise _unavailable(exc) from exc
    return await _store_paused(session, row, paused)


Overlap = Literal["skip", "buffer_one", "buffer_all", "cancel_other", "terminate_other", "allow_all"]


async def run_now(session: AsyncSession, client: ClientProvider, principal: Principal, workflow_id: uuid.UUID,
                  trigger_id: uuid.UUID, overlap: Overlap | None) -> Trigger:
    """Fire a schedule now (its overlap policy applies unless overridden)."""
    row = await get(session, principal, workflow_id, trigger_id)
    if row.kind != "schedule":
        raise Conflict("only schedule triggers can be run now; POST to the hook URL")
    temporal = await _temporal(client)
    try:
        await schedules.trigger_now(temporal, str(row.id), overlap)
    except UNAVAILABLE_ERRORS as exc:
        raise _unavailable(exc) from exc
    return row
