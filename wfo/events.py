"""``emit_event``: publish one event to every matching subscription of a tenant.

Each (subscription, event) pair gets a delivery row and one ``WebhookDelivery`` workflow. The
delivery id is derived from (subscription id, event id), so emitting the same event twice (an
activity retry, a crash between the two steps) delivers it once.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from wfo.models_events import EVENT_TYPES
from wfo.stores import deliveries as store
from workflows.delivery import DeliveryInput, DeliveryRetry, DeliveryWorkflow

log = logging.getLogger(__name__)

_DELIVERY_NS = uuid.UUID("7c1d2a0e-52a4-4f53-9d8e-5f0d3b3c9a11")
MAX_EVENT_BYTES = 64 * 1024


def delivery_id_for(subscription_id: str | uuid.UUID, event_id: str) -> str:
    return str(uuid.uuid5(_DELIVERY_NS, f"{subscription_id}:{event_id}"))


def delivery_workflow_id(delivery_id: str) -> str:
    return f"webhook-delivery-{delivery_id}"


def event_body(event_id: str, event_type: str, tenant_id: str, data: dict[str, Any], created_at: datetime) -> str:
    return json.dumps(
        {
            "id": event_id,
            "type": event_type,
            "created_at": created_at.isoformat().replace("+00:00", "Z"),
            "tenant_id": tenant_id,
            "data": data,
        },
        separators=(",", ":"),
        sort_keys=True,
        default=str,
    )


async def emit_event(
    event_type: str,
    data: dict[str, Any],
    *,
    tenant_id: str | uuid.UUID,
    client: Client,
    sessionmaker: async_sessionmaker,
    task_queue: str,
    event_id: str | None = None,
    retry: Any = None,
) -> list[str]:
    """Start a durable delivery of this event to each matching active subscription.

    ``data`` should be a small summary (ids, status, timestamps), never secrets. Pass a stable
    ``event_id`` (e.g. ``f"execution.completed:{execution_id}"``) to make the call idempotent.
    Returns the delivery ids. Raises when Temporal is unreachable (callers may retry: safe).
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    tenant = str(tenant_id)
    event_id = event_id or f"evt_{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    body = event_body(event_id, event_type, tenant, data, now)
    if len(body.encode()) > MAX_EVENT_BYTES:
        raise ValueError(f"event body over {MAX_EVENT_BYTES} bytes; send a summary with ids instead")

    async with sessionmaker() as session:
        subs = await store.matching_subscriptions(session, uuid.UUID(tenant), event_type)
    deliveries = [(str(sub), delivery_id_for(sub, event_id)) for sub in subs]

    # Start first, log second: a crash in between leaves a delivery whose activity writes the log
    # row itself, never a logged delivery that nothing will send.
    for sub, delivery in deliveries:
        try:
            await client.start_workflow(
                DeliveryWorkflow.run,
                DeliveryInput(
                    delivery_id=delivery,
                    subscription_id=sub,
                    tenant_id=tenant,
                    event_id=event_id,
                    event_type=event_type,
                    body=body,
                    retry=retry or DeliveryRetry(),
                ),
                id=delivery_workflow_id(delivery),
                task_queue=task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        except WorkflowAlreadyStartedError:
            pass  # emitted before: delivered (or being delivered) once
    if deliveries:
        async with sessionmaker() as session:
            for sub, delivery in deliveries:
                await store.ensure_row(session, delivery_id=delivery, tenant_id=uuid.UUID(tenant),
                                       subscription_id=uuid.UUID(sub), event_id=event_id, event_type=event_type)
            await session.commit()
    if deliveries:
        log.info("event %s (%s) -> %d deliveries", event_type, event_id, len(deliveries))
    return [d for _, d in deliveries]
