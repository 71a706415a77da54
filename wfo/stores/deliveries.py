"""Outbound webhook subscriptions and the delivery log, as the emitter and the delivery activities use them.

SQLAlchemy expressions over the SQLModel tables (no SQL text). A delivery row is written by the emitter
after it started the delivery workflow, or by the first attempt if the emitter died in between
(``ensure_row``): both are idempotent on the delivery id.
"""

from __future__ import annotations

import uuid

from sqlalchemy import case, func, literal, or_, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select

from wfo.db import execute
from wfo.models_events import DeliveryStatus, WebhookDelivery, WebhookSubscription


async def matching_subscriptions(session, tenant_id: uuid.UUID, event_type: str) -> list[uuid.UUID]:
    """Ids of the tenant's active subscriptions to ``event_type`` (or to ``*``), oldest first."""
    events = col(WebhookSubscription.events)
    rows = await execute(session,
        select(WebhookSubscription.id)
        .where(WebhookSubscription.tenant_id == tenant_id, col(WebhookSubscription.active).is_(True),
               col(WebhookSubscription.deleted_at).is_(None),
               or_(events.contains([event_type]), events.contains(["*"])))
        .order_by(col(WebhookSubscription.created_at)))
    return list(rows.scalars().all())


async def ensure_row(session, *, delivery_id: str, tenant_id: uuid.UUID, subscription_id: uuid.UUID,
                     event_id: str, event_type: str) -> None:
    await execute(session,
        insert(WebhookDelivery).values(id=delivery_id, tenant_id=tenant_id, subscription_id=subscription_id,
                                       event_id=event_id, event_type=event_type)
        .on_conflict_do_nothing(index_elements=[col(WebhookDelivery.id)]))


async def subscription(session, subscription_id: uuid.UUID) -> WebhookSubscription | None:
    return (await session.exec(select(WebhookSubscription).where(WebhookSubscription.id == subscription_id))).first()


async def record_attempt(session, delivery_id: str, attempt: int, status_code: int | None, error: str | None,
                         succeeded: bool) -> None:
    """One attempt's outcome; a success closes the delivery."""
    d = WebhookDelivery
    await execute(session,
        update(d).where(col(d.id) == delivery_id).values(
            attempts=func.greatest(col(d.attempts), attempt), response_status=status_code, last_error=error,
            updated_at=func.now(),
            status=case((literal(succeeded), DeliveryStatus.succeeded.value), else_=col(d.status)),
            completed_at=case((literal(succeeded), func.now()), else_=col(d.completed_at)),
        ))


async def close(session, delivery_id: str, status: str, error: str | None) -> tuple[int, int | None] | None:
    """Final status of a delivery; returns (attempts, last response status) when the row exists."""
    d = WebhookDelivery
    row = (await execute(session,
        update(d).where(col(d.id) == delivery_id)
        .values(status=status, updated_at=func.now(), completed_at=func.now(),
                last_error=func.coalesce(error, col(d.last_error)))
        .returning(col(d.attempts), col(d.response_status)))).first()
    return None if row is None else (row[0], row[1])
