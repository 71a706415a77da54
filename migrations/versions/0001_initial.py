"""Initial schema: tenants, users, api_keys, workflows, workflow_versions, executions, payloads.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False, default_now: bool = True) -> sa.Column:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        nullable=nullable,
        server_default=sa.func.now() if default_now else None,
    )


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        _ts("created_at"),
    )
    op.create_table(
        "users",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant_id", pg.UUID(as_uuid=True), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("full_name", sa.String(255), nullable=True),
        sa.Column("hashed_password", sa.String(), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()),
        _ts("created_at"),
        sa.CheckConstraint("role IN ('admin','developer','operator','viewer')", name="ck_users_role"),
    )
    op.create_index("ix_users_tenant_id", "users", ["tenant_id"])

    op.create_table(
        "api_keys",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant_id", pg.UUID(as_uuid=True), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", pg.UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("prefix", sa.String(32), nullable=False),
        sa.Column("hashed_key", sa.String(128), nullable=False, unique=True),
        sa.Column("role", sa.String(32), nullable=False),
        _ts("created_at"),
        _ts("last_used_at", nullable=True, default_now=False),
        _ts("revoked_at", nullable=True, default_now=False),
        sa.CheckConstraint("role IN ('admin','developer','operator','viewer')", name="ck_api_keys_role"),
    )
    op.create_index("ix_api_keys_tenant_id", "api_keys", ["tenant_id"])

    op.create_table(
        "workflows",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant_id", pg.UUID(as_uuid=True), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("category", sa.String(100), nullable=True),
        sa.Column("tags", pg.JSONB(), nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("status", sa.String(16), nullable=False, server_default="draft"),
        sa.Column("current_version", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("created_by", sa.String(320), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        _ts("archived_at", nullable=True, default_now=False),
        sa.CheckConstraint("status IN ('draft','active','inactive','archived')", name="ck_workflows_status"),
    )
    op.create_index("ix_workflows_tenant_id", "workflows", ["tenant_id"])
    op.create_index("ix_workflows_tenant_status", "workflows", ["tenant_id", "status"])

    op.create_table(
        "workflow_versions",
        sa.Column(
            "workflow_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey("workflows.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("definition", pg.JSONB(), nullable=False),
        _ts("created_at"),
        sa.Column("created_by", sa.String(320), nullable=True),
    )

    op.create_table(
        "executions",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("tenant_id", pg.UUID(as_uuid=True), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "workflow_id", pg.UUID(as_uuid=True), sa.ForeignKey("workflows.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="running"),
        sa.Column("trigger", sa.String(64), nullable=False, server_default="manual"),
        sa.Column("input", pg.JSONB(), nullable=True),
        sa.Column("output", pg.JSONB(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("progress", pg.JSONB(), nullable=True),
        sa.Column("started_by", sa.String(320), nullable=True),
        _ts("started_at"),
        _ts("completed_at", nullable=True, default_now=False),
        _ts("updated_at"),
        sa.CheckConstraint(
            "status IN ('running','completed','failed','cancelled','terminated','timed_out')",
            name="ck_executions_status",
        ),
    )
    op.create_index(
        "ix_executions_tenant_workflow_started", "executions", ["tenant_id", "workflow_id", "started_at"]
    )
    op.create_index("ix_executions_tenant_started", "executions", ["tenant_id", "started_at"])
    op.create_index("ix_executions_status", "executions", ["status"])

    op.create_table(
        "payloads",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("tenant_id", sa.Text(), nullable=True),
        sa.Column("data", pg.BYTEA(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=True),
        _ts("created_at"),
    )


def downgrade() -> None:
    op.drop_table("payloads")
    op.drop_table("executions")
    op.drop_table("workflow_versions")
    op.drop_table("workflows")
    op.drop_table("api_keys")
    op.drop_table("users")
    op.drop_table("tenants")
