"""Executions listings at 100,000 rows: each filter and the keyset cursor walk one index range, newest first.

The listing orders by (started_at DESC, id DESC) and pages by a (started_at, id) cursor, so the listing
indexes end in `id`; workflow and status together get one (the row comparison of a cursor page is then an index bound, not a filter over every
newer row); `trigger` gets its own; the `q` search (a prefix of the execution id or of the starter's
email) gets two `text_pattern_ops` indexes (LIKE 'prefix%' ranges under any collation).

Revision ID: 0018_execution_filter_indexes
Revises: 0017_audit_state
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0018_execution_filter_indexes"
down_revision = "0017_audit_state"
branch_labels = None
depends_on = None

REPLACED = {
    # old name: (old columns, new name)
    "ix_executions_tenant_started": (["tenant_id", "started_at"], "ix_executions_tenant_started_id"),
    "ix_executions_tenant_status_started": (["tenant_id", "status", "started_at"], "ix_executions_tenant_status_started_id"),
    "ix_executions_tenant_workflow_started": (["tenant_id", "workflow_id", "started_at"],
                                              "ix_executions_tenant_workflow_started_id"),
}


def upgrade() -> None:
    for old, (cols, new) in REPLACED.items():
        op.create_index(new, "executions", [*cols, "id"])
        op.drop_index(old, table_name="executions")
    op.create_index("ix_executions_tenant_workflow_status_started_id", "executions",
                    ["tenant_id", "workflow_id", "status", "started_at", "id"])
    op.create_index("ix_executions_tenant_trigger_started_id", "executions", ["tenant_id", "trigger", "started_at", "id"])
    op.create_index("ix_executions_tenant_id_prefix", "executions", ["tenant_id", "id"],
                    postgresql_ops={"id": "text_pattern_ops"})
    op.create_index("ix_executions_tenant_started_by_prefix", "executions", ["tenant_id", "started_by"],
                    postgresql_ops={"started_by": "text_pattern_ops"})


def downgrade() -> None:
    op.drop_index("ix_executions_tenant_started_by_prefix", table_name="executions")
    op.drop_index("ix_executions_tenant_id_prefix", table_name="executions")
    op.drop_index("ix_executions_tenant_trigger_started_id", table_name="executions")
    op.drop_index("ix_executions_tenant_workflow_status_started_id", table_name="executions")
    for old, (cols, new) in REPLACED.items():
        op.create_index(old, "executions", cols)
        op.drop_index(new, table_name="executions")
