"""REST v1: outbound event webhook subscriptions and their delivery log.

The signing secret is shown once, in the answer to ``POST`` (generated when not given), and
stored encrypted; no other answer, log line or workflow input contains it.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel, Field, field_validator

from api.deps import CurrentPrincipal, SessionDep, SettingsDep
from api.events.bridge import bridge_loop
from api.schemas import Page
from wfo.db import sql
from wfo.jsonsafe import Text
from wfo.models_events import EVENT_TYPES
from wfo.netguard import UnsafeURLError, check_outbound_url
from wfo.security.secretbox import new_secret, seal

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])


def mount(app) -> None:
    """Mount the routes and run the event bridge (``api.events.bridge``) while the app runs."""
    import asyncio
    import contextlib

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


_COLUMNS = "id, endpoint_url, events, description, active, created_at, created_by"


def _public(row: Any) -> WebhookPublic:
    return WebhookPublic(**{k: getattr(row, k) for k in WebhookPublic.model_fields})


async def _get(session, principal, subscription_id: uuid.UUID) -> Any:
    row = (
        await sql(
            session,
            f"SELECT {_COLUMNS} FROM webhook_subscriptions WHERE id = :id AND tenant_id = :t AND deleted_at IS NULL",
            {"id": subscription_id, "t": principal.tenant_id},
        )
    ).first()
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "webhook subscription not found")
    return row


@router.post("", response_model=WebhookCreated, status_code=status.HTTP_201_CREATED)
async def create_webhook(body: WebhookCreate, session: SessionDep, principal: CurrentPrincipal, settings: SettingsDep):
    """Subscribe an endpoint to events. Private/loopback endpoints need OUTBOUND_ALLOWLIST."""
    try:
        await check_outbound_url(body.endpoint_url, settings)
    except UnsafeURLError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"endpoint_url refused: {exc}") from None
    generated = body.secret is None
    secret = new_secret() if generated else body.secret
    row = (
        await sql(
            session,
            "INSERT INTO webhook_subscriptions (id, tenant_id, endpoint_url, events, secret_enc, description, created_by) "
            f"VALUES (:id, :t, :u, CAST(:e AS jsonb), :s, :d, :by) RETURNING {_COLUMNS}",
            {
                "id": uuid.uuid4(),
                "t": principal.tenant_id,
                "u": body.endpoint_url,
                "e": json.dumps(body.events),
                "s": seal(settings.secret_key, secret),
                "d": body.description,
                "by": principal.name,
            },
        )
    ).one()
    await session.commit()
    return WebhookCreated(**_public(row).model_dump(), secret=secret if generated else None)


@router.get("", response_model=Page[WebhookPublic])
async def list_webhooks(
    session: SessionDep,
    principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
):
    params = {"t": principal.tenant_id, "limit": limit, "offset": offset}
    where = "tenant_id = :t AND deleted_at IS NULL"
    total = (await sql(session, f"SELECT count(*) FROM webhook_subscriptions WHERE {where}", params)).scalar_one()
    rows = (
        await sql(
            session,
            f"SELECT {_COLUMNS} FROM webhook_subscriptions WHERE {where} ORDER BY created_at, id LIMIT :limit OFFSET :offset",
            params,
        )
    ).all()
    return Page(items=[_public(r) for r in rows], total=total, limit=limit, offset=offset)


@router.get("/{subscription_id}", response_model=WebhookPublic)
async def get_webhook(subscription_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal):
    return _public(await _get(session, principal, subscription_id))


@router.delete("/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_webhook(subscription_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal):
    """Stop deliveries (pending retries end as ``cancelled``); the delivery log stays readable."""
    await _get(session, principal, subscription_id)
    await sql(
        session,
        "UPDATE webhook_subscriptions SET active = false, deleted_at = now() WHERE id = :id AND tenant_id = :t",
        {"id": subscription_id, "t": principal.tenant_id},
    )
    await session.commit()
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
    exists = (
        await sql(
            session,
            "SELECT 1 FROM webhook_subscriptions WHERE id = :id AND tenant_id = :t",
            {"id": subscription_id, "t": principal.tenant_id},
        )
    ).first()
    if exists is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "webhook subscription not found")
    where = "subscription_id = :id AND tenant_id = :t" + (" AND status = :st" if status_ else "")
    params = {"id": subscription_id, "t": principal.tenant_id, "st": status_, "limit": limit, "offset": offset}
    total = (await sql(session, f"SELECT count(*) FROM webhook_deliveries WHERE {where}", params)).scalar_one()
    rows = (
        await sql(
            session,
            f"SELECT * FROM webhook_deliveries WHERE {where} ORDER BY created_at DESC, id LIMIT :limit OFFSET :offset",
            params,
        )
    ).all()
    return Page(
        items=[DeliveryPublic(**{k: getattr(r, k) for k in DeliveryPublic.model_fields}) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
    )
