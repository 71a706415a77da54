"""Audit log: hashes of the resource's state before and after the change; indexes for keyset pages and the
retention prune.

Rows written before this have no state hashes; their chain hash never included them (wfo.audit adds the
fields to the canonical form only when set), so they still verify.

Revision ID: 0017_audit_state
Revises: 0016_sso
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_audit_state"
down_revision = "0016_sso"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("before_hash", sa.String(length=64), nullable=True))
    op.add_column("audit_log", sa.Column("after_hash", sa.String(length=64), nullable=True))
    op.create_index("ix_audit_log_tenant_id", "audit_log", ["tenant_id", "id"])
    op.create_index("ix_audit_log_tenant_resource", "audit_log", ["tenant_id", "resource_id", "id"])
    op.create_index("ix_audit_log_at", "audit_log", ["at"])  # the retention prune


def downgrade() -> None:
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_index("ix_audit_log_tenant_resource", table_name="audit_log")
    op.drop_index("ix_audit_log_tenant_id", table_name="audit_log")
    op.drop_column("audit_log", "after_hash")
    op.drop_column("audit_log", "before_hash")
