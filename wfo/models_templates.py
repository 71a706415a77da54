"""Tenant-owned workflow templates (migration ``0004_tenant_templates``); the built-in catalog lives in
``api/templates/*.json`` and is shared by every tenant."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

import wfo.models  # noqa: F401  (tenants must be in the metadata for the foreign key)
from wfo.models import utcnow


class TenantTemplate(SQLModel, table=True):
    __tablename__ = "templates"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "slug", name="uq_templates_tenant_slug"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True, ondelete="CASCADE")
    slug: str = Field(max_length=64)
    """The template id seen by clients (unique per tenant, never one of the built-in ids)."""
    name: str = Field(max_length=255)
    category: str = Field(max_length=100)
    description: str = Field(sa_type=sa.Text)
    tags: list[str] = Field(default_factory=list, sa_type=JSONB)
    parameters: dict[str, Any] = Field(sa_type=JSONB)
    example_parameters: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB)
    example_input: Any = Field(default=None, sa_type=JSONB(none_as_null=True), nullable=True)
    definition: dict[str, Any] = Field(sa_type=JSONB)
    created_by: str | None = Field(default=None, max_length=320)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True),
                                 sa_column_kwargs={"server_default": sa.func.now()})
