"""Tables for outbound event webhooks and inbound triggers (migration ``0003_triggers_webhooks``).

Secrets (a subscription's signing secret, a webhook trigger's verification secret) are stored
encrypted (``wfo.security.secretbox``) and are never returned by the API, logged or put in Temporal
history: the delivery activity loads a subscription's secret by id.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

import wfo.models  # noqa: F401  (tenants / workflows must be in the metadata for the foreign keys)
from wfo.models import utcnow

EVENT_TYPES = (
    "workflow.created",
    "workflow.updated",
    "workflow.deleted",
    "workflow.started",
    "workflow.completed",
    "workflow.failed",
    "workflow.cancelled",
    "execution.started",
    "execution.completed",
    "execution.failed",
    "task.created",
    "task.completed",
    "task.failed",
    "alert.fired",
    "alert.resolved",
)


class DeliveryStatus(StrEnum):
    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


class TriggerKind(StrEnum):
    webhook = "webhook"
    schedule = "schedule"


def _ts(nullable: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_type=sa.DateTime(timezone=True), nullable=True)
    return Field(
        default_factory=utcnow,
        sa_type=sa.DateTime(timezone=True),
        nullable=False,
        sa_column_kwargs={"server_default": sa.func.now()},
    )


class WebhookSubscription(SQLModel, table=True):
    __tablename__ = "webhook_subscriptions"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True, ondelete="CASCADE")
    endpoint_url: str = Field(sa_type=sa.Text)
    events: list[str] = Field(default_factory=list, sa_type=JSONB)
    secret_enc: str = Field(sa_type=sa.Text)
    """The signing secret, encrypted with a key derived from ``settings.secret_key``."""
    description: str | None = Field(default=None, sa_type=sa.Text)
    active: bool = True
    created_by: str | None = Field(default=None, max_length=320)
    created_at: datetime = _ts()
    deleted_at: datetime | None = _ts(nullable=True)


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (sa.Index("ix_webhook_deliveries_sub_created", "subscription_id", "created_at"),)

    id: str = Field(primary_key=True, sa_type=sa.Text)
    """The delivery id sent in ``X-Wfo-Delivery`` (also the Temporal workflow id)."""
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True, ondelete="CASCADE")
    subscription_id: uuid.UUID = Field(foreign_key="webhook_subscriptions.id", ondelete="CASCADE")
    event_id: str = Field(sa_type=sa.Text)
    event_type: str = Field(max_length=64)
    status: str = Field(default=DeliveryStatus.pending.value, max_length=16)
    attempts: int = 0
    response_status: int | None = None
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    completed_at: datetime | None = _ts(nullable=True)


class Trigger(SQLModel, table=True):
    __tablename__ = "triggers"
    __table_args__ = (sa.Index("ix_triggers_tenant_workflow", "tenant_id", "workflow_id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", ondelete="CASCADE")
    workflow_id: uuid.UUID = Field(foreign_key="workflows.id", ondelete="CASCADE")
    kind: str = Field(max_length=16)
    name: str | None = Field(default=None, max_length=255)
    config: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB)
    """webhook: response_mode, sync_timeout_seconds, rate_limit_per_minute, max_body_bytes.
    schedule: cron + timezone | interval_seconds, overlap, catchup_window_seconds, input."""
    secret_enc: str | None = Field(default=None, sa_type=sa.Text)
    paused: bool = False
    schedule_id: str | None = Field(default=None, sa_type=sa.Text)
    """The Temporal Schedule id (kind ``schedule``)."""
    created_by: str | None = Field(default=None, max_length=320)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
