"""Auth hardening: API keys record their creator; login/API-key failure counters (Redis fallback);
user emails unique per tenant (so creating a user reveals nothing about other tenants).

Revision ID: 0011_auth_hardening
Revises: 0010_credentials
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0011_auth_hardening"
down_revision = "0010_credentials"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("created_by_user_id", pg.UUID(as_uuid=True),
                                        sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True))
    op.add_column("api_keys", sa.Column("created_by", sa.String(length=320), nullable=True))
    op.create_table(
        "auth_throttle",
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_auth_throttle_expires_at", "auth_throttle", ["expires_at"])
    op.drop_constraint("users_email_key", "users", type_="unique")
    op.create_unique_constraint("uq_users_tenant_email", "users", ["tenant_id", "email"])
    op.create_index("ix_users_email", "users", ["email"])


def downgrade() -> None:
    op.drop_index("ix_users_email", table_name="users")
    op.drop_constraint("uq_users_tenant_email", "users", type_="unique")
    op.create_unique_constraint("users_email_key", "users", ["email"])  # fails if an email is now shared
    op.drop_index("ix_auth_throttle_expires_at", table_name="auth_throttle")
    op.drop_table("auth_throttle")
    op.drop_column("api_keys", "created_by")
    op.drop_column("api_keys", "created_by_user_id")
