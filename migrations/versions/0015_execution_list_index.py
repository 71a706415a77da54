"""Executions and inbox tasks listed by status within a tenant, newest first, from one index range each.

Revision ID: 0015_execution_list_index
Revises: 0014_alerts
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0015_execution_list_index"
down_revision = "0014_alerts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_executions_tenant_status_started", "executions", ["tenant_id", "status", "started_at"])
    op.create_index("ix_tasks_tenant_status_created", "tasks", ["tenant_id", "status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_tasks_tenant_status_created", table_name="tasks")
    op.drop_index("ix_executions_tenant_status_started", table_name="executions")
