"""Tenant-owned workflow templates (``POST /api/v1/templates``).

Revision ID: 0004_tenant_templates
Revises: 0003_triggers_webhooks
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0004_tenant_templates"
down_revision = "0003_triggers_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "templates",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant_id", pg.UUID(as_uuid=True), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("tags", pg.JSONB(), nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("parameters", pg.JSONB(), nullable=False),
        sa.Column("example_parameters", pg.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("example_input", pg.JSONB(), nullable=True),
        sa.Column("definition", pg.JSONB(), nullable=False),
        sa.Column("created_by", sa.String(320), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("tenant_id", "slug", name="uq_templates_tenant_slug"),
    )
    op.create_index("ix_templates_tenant_id", "templates", ["tenant_id"])


def downgrade() -> None:
    op.drop_index("ix_templates_tenant_id", table_name="templates")
    op.drop_table("templates")
