"""REST v1: outbound event webhook subscriptions and their delivery log (use cases: ``api.services.webhooks``).

The signing secret is shown once, in the answer to ``POST`` (generated when not given), and
stored encrypted; no other answer, log line or workflow input contains it.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field, field_validator

from api.deps import CurrentPrincipal, SessionDep, SettingsDep
from api.events.bridge import bridge_loop
from api.schemas import Page
from api.services import webhooks as svc
from wfo.jsonsafe import Text
from wfo.models_events import EVENT_TYPES

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])


def mount(app) -> None:
    """Mount the routes and run the event bridge (``api.events.bridge``) while the app runs."""
    app.include_router(router)
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a):
        async with inner(a) as state:
            task = asyncio.create_task(bridge_loop(a), name="wfo-event-bridge")
            try:
                yield state
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    app.router.lifespan_context = lifespan

EventName = Literal[EVENT_TYPES + ("*",)]  # type: ignore[valid-type]


class WebhookCreate(BaseModel):
    endpoint_url: Text = Field(max_length=2048)
    events: list[EventName] = Field(min_length=1, max_length=len(EVENT_TYPES) + 1)  # type: ignore[valid-type]
    secret: Text | None = Field(default=None, min_length=16, max_length=256)
    description: Text | None = Field(default=None, max_length=1000)

    @field_validator("events")
    @classmethod
    def _dedupe(cls, v: list[str]) -> list[str]:
        return sorted(set(v))


class WebhookPublic(BaseModel):
    id: uuid.UUID
    endpoint_url: str
    events: list[str]
    description: str | None
    active: bool
    created_at: datetime
    created_by: str | None


class WebhookCreated(WebhookPublic):
    secret: str | None = Field(
        default=None, description="The signing secret, shown only here and only when it was generated"
    )


class DeliveryPublic(BaseModel):
    id: str
    event_id: str
    event_type: str
    status: str
    attempts: int
    response_status: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None


def _public(row: Any) -> WebhookPublic:
    return WebhookPublic(**{k: getattr(row, k) for k in WebhookPublic.model_fields})


@router.post("", response_model=WebhookCreated, status_code=status.HTTP_201_CREATED)
async def create_webhook(body: WebhookCreate, session: SessionDep, principal: CurrentPrincipal, settings: SettingsDep):
    """Subscribe an endpoint to events. Private/loopback endpoints need OUTBOUND_ALLOWLIST."""
    row, generated = await svc.create(session, settings, principal, endpoint_url=body.endpoint_url,
                                      events=body.events, secret=body.secret, description=body.description)
    return WebhookCreated(**_public(row).model_dump(), secret=generated)


@router.get("", response_model=Page[WebhookPublic])
async def list_webhooks(
    session: SessionDep,
    principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
):
    rows, total = await svc.list_active(session, principal, limit, offset)
    return Page(items=[_public(r) for r in rows], total=total, limit=limit, offset=offset)


@router.get("/{subscription_id}", response_model=WebhookPublic)
async def get_webhook(subscription_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal):
    return _public(await svc.get(session, principal, subscription_id))


@router.delete("/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_webhook(subscription_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal):
    """Stop deliveries (pending retries end as ``cancelled``); the delivery log stays readable."""
    await svc.delete(session, principal, subscription_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{subscription_id}/deliveries", response_model=Page[DeliveryPublic])
async def list_deliveries(
    subscription_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    status_: Annotated[Literal["pending", "succeeded", "failed", "cancelled"] | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
):
    """The delivery log, newest first: attempts, last HTTP status and error of each delivery."""
    rows, total = await svc.deliveries(session, principal, subscription_id, status_, limit, offset)
    return Page(
        items=[DeliveryPublic(**{k: getattr(r, k) for k in DeliveryPublic.model_fields}) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
    )
