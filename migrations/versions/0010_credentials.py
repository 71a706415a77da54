"""Credentials vault: per-tenant named credentials, values encrypted with AES-GCM (key id stored).

Revision ID: 0010_credentials
Revises: 0009_execution_state
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010_credentials"
down_revision = "0009_execution_state"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credentials",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant_id", postgresql.UUID(as_uuid=True), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("ciphertext", postgresql.BYTEA(), nullable=False),
        sa.Column("nonce", postgresql.BYTEA(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=True),
        sa.UniqueConstraint("tenant_id", "name", name="uq_credentials_tenant_name"),
    )
    op.create_index("ix_credentials_tenant_id", "credentials", ["tenant_id"])


def downgrade() -> None:
    op.drop_index("ix_credentials_tenant_id", table_name="credentials")
    op.drop_table("credentials")
