"""Alert rules of a tenant and their current state (migration ``0014_alerts``).

A rule's state row is written by the alert evaluation activity only; it changes from `ok` to `firing`
(and back) at most once per evaluation pass, and each change notifies once (`fired_count` numbers the
firings, so the notification's event id `alert:<rule>:<n>:fired` is stable across retries).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

import wfo.models  # noqa: F401  (tenants must be in the metadata for the foreign key)
from wfo.models import utcnow


class AlertRule(SQLModel, table=True):
    __tablename__ = "alert_rules"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "name", name="uq_alert_rules_tenant_name"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=200)
    kind: str = Field(max_length=32)
    """One of `workflows.alerts.RULE_KINDS`."""
    params: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB)
    channels: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB)
    """`{"webhook": bool, "emails": [...]}`."""
    enabled: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True),
                                 sa_column_kwargs={"server_default": sa.func.now()})
    updated_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True),
                                 sa_column_kwargs={"server_default": sa.func.now()})


class AlertState(SQLModel, table=True):
    __tablename__ = "alert_states"

    rule_id: uuid.UUID = Field(foreign_key="alert_rules.id", primary_key=True, ondelete="CASCADE")
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True, ondelete="CASCADE")
    status: str = Field(default="ok", max_length=16)
    """`ok` or `firing`."""
    value: float | None = None
    summary: str | None = Field(default=None, sa_type=sa.Text)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB)
    since: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    """When the current status began."""
    fired_count: int = 0
    last_evaluated_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
