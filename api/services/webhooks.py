"""Outbound event webhook subscriptions and their delivery log: the use cases behind REST.

The signing secret is returned once, by ``create`` (generated when not given), and stored encrypted; no
other answer, log line or workflow input contains it. Raises ``wfo.errors`` only.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import Principal
from wfo.audit import audit_state
from wfo.errors import InvalidInput, NotFound
from wfo.models import utcnow
from wfo.models_events import WebhookDelivery, WebhookSubscription
from wfo.netguard import UnsafeURLError, check_outbound_url
from wfo.security.secretbox import new_secret, seal
from wfo.settings import Settings


async def get(session: AsyncSession, principal: Principal, subscription_id: uuid.UUID, *,
              include_deleted: bool = False) -> WebhookSubscription:
    """The caller's subscription, else ``NotFound`` (also for other tenants' ids)."""
    stmt = select(WebhookSubscription).where(WebhookSubscription.id == subscription_id,
                                             WebhookSubscription.tenant_id == principal.tenant_id)
    if not include_deleted:
        stmt = stmt.where(col(WebhookSubscription.deleted_at).is_(None))
    row = (await session.exec(stmt)).first()
    if row is None:
        raise NotFound("webhook subscription not found")
    return row


async def create(session: AsyncSession, settings: Settings, principal: Principal, *, endpoint_url: str,
                 events: list[str], secret: str | None, description: str | None
                 ) -> tuple[WebhookSubscription, str | None]:
    """Subscribe an endpoint (checked by the SSRF guard now, and again on every delivery). Returns the row
    and the generated secret (None when the caller gave one)."""
    try:
        await check_outbound_url(endpoint_url, settings)
    except UnsafeURLError as exc:
        raise InvalidInput(f"endpoint_url refused: {exc}") from None
    generated = secret is None
    plain = new_secret() if secret is None else secret
    row = WebhookSubscription(tenant_id=principal.tenant_id, endpoint_url=endpoint_url, events=list(events),
                              secret_enc=seal(settings.secret_key, plain), description=description,
                              created_by=principal.name)
    session.add(row)
    await session.commit()
    audit_state(before=None, after=row, resource_type="webhooks")
    return row, plain if generated else None


async def list_active(session: AsyncSession, principal: Principal, limit: int, offset: int
                      ) -> tuple[list[WebhookSubscription], int]:
    conds = [WebhookSubscription.tenant_id == principal.tenant_id, col(WebhookSubscription.deleted_at).is_(None)]
    total = (await session.exec(select(func.count()).select_from(WebhookSubscription).where(*conds))).one()
    rows = (await session.exec(select(WebhookSubscription).where(*conds)
                               .order_by(col(WebhookSubscription.created_at), col(WebhookSubscription.id))
                               .limit(limit).offset(offset))).all()
    return list(rows), total


async def delete(session: AsyncSession, principal: Principal, subscription_id: uuid.UUID) -> None:
    """Stop deliveries (pending retries end as ``cancelled``); the delivery log stays readable."""
    row = await get(session, principal, subscription_id)
    audit_state(before=row, resource_type="webhooks")
    row.active = False
    row.deleted_at = utcnow()
    session.add(row)
    await session.commit()
    audit_state(after=row, resource_type="webhooks")  # soft delete: the row stays, with deleted_at


async def deliveries(session: AsyncSession, principal: Principal, subscription_id: uuid.UUID, status: str | None,
                     limit: int, offset: int) -> tuple[list[WebhookDelivery], int]:
    """The delivery log of a subscription (deleted ones included), newest first."""
    await get(session, principal, subscription_id, include_deleted=True)
    conds = [WebhookDelivery.subscription_id == subscription_id, WebhookDelivery.tenant_id == principal.tenant_id]
    if status:
        conds.append(WebhookDelivery.status == status)
    total = (await session.exec(select(func.count()).select_from(WebhookDelivery).where(*conds))).one()
    rows = (await session.exec(select(WebhookDelivery).where(*conds)
                               .order_by(col(WebhookDelivery.created_at).desc(), col(WebhookDelivery.id))
                               .limit(limit).offset(offset))).all()
    return list(rows), total
