"""Outbound event webhooks (subscriptions, delivery log) and inbound triggers.

Revision ID: 0003_triggers_webhooks
Revises: 0001_initial
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0003_triggers_webhooks"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(
        name, sa.DateTime(timezone=True), nullable=nullable, server_default=None if nullable else sa.func.now()
    )


def _tenant() -> sa.Column:
    return sa.Column(
        "tenant_id", pg.UUID(as_uuid=True), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        _tenant(),
        sa.Column("endpoint_url", sa.Text(), nullable=False),
        sa.Column("events", pg.JSONB(), nullable=False),
        sa.Column("secret_enc", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_by", sa.String(320), nullable=True),
        _ts("created_at"),
        _ts("deleted_at", nullable=True),
    )
    op.create_index("ix_webhook_subscriptions_tenant_id", "webhook_subscriptions", ["tenant_id"])

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Text(), primary_key=True),
        _tenant(),
        sa.Column(
            "subscription_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        _ts("completed_at", nullable=True),
        sa.CheckConstraint(
            "status IN ('pending','succeeded','failed','cancelled')", name="ck_webhook_deliveries_status"
        ),
    )
    op.create_index("ix_webhook_deliveries_tenant_id", "webhook_deliveries", ["tenant_id"])
    op.create_index(
        "ix_webhook_deliveries_sub_created", "webhook_deliveries", ["subscription_id", "created_at"]
    )

    op.create_table(
        "triggers",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        _tenant(),
        sa.Column(
            "workflow_id", pg.UUID(as_uuid=True), sa.ForeignKey("workflows.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("config", pg.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("secret_enc", sa.Text(), nullable=True),
        sa.Column("paused", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("schedule_id", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(320), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.CheckConstraint("kind IN ('webhook','schedule')", name="ck_triggers_kind"),
    )
    op.create_index("ix_triggers_tenant_workflow", "triggers", ["tenant_id", "workflow_id"])


def downgrade() -> None:
    op.drop_table("triggers")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_subscriptions")
