"""Analytics: per-node run rows, the redrive link, and covering indexes for windowed aggregates.

``node_runs`` holds one row per node that ran in a finished root execution (written by the worker's
``wfo.record_node_runs`` activity at the end of the run). The covering indexes let the windowed
analytics queries (``api/services/analytics.py``) answer from index-only scans.

Revision ID: 0012_analytics_indexes
Revises: 0008_payload_owner
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012_analytics_indexes"
down_revision = "0008_payload_owner"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("executions", sa.Column("redrive_of", sa.Text(), nullable=True))
    op.create_index("ix_executions_redrive_of", "executions", ["redrive_of"],
                    postgresql_where=sa.text("redrive_of IS NOT NULL"))
    op.create_index("ix_executions_tenant_started_cover", "executions", ["tenant_id", "started_at"],
                    postgresql_include=["status", "completed_at", "workflow_id"])
    op.create_index("ix_executions_tenant_workflow_started_cover", "executions",
                    ["tenant_id", "workflow_id", "started_at"], postgresql_include=["status", "completed_at"])
    op.create_index("ix_executions_tenant_running", "executions", ["tenant_id", "started_at"],
                    postgresql_where=sa.text("status = 'running'"))
    op.create_table(
        "node_runs",
        sa.Column("execution_id", sa.Text(), nullable=False),
        sa.Column("node_id", sa.Text(), nullable=False),
        sa.Column("tenant_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("workflow_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("node_type", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("activations", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        sa.Column("error_type", sa.String(length=128), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("reused", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("execution_status", sa.String(length=16), nullable=False),
        sa.Column("execution_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("execution_id", "node_id"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
    )
    op.create_index("ix_node_runs_tenant_workflow_started", "node_runs",
                    ["tenant_id", "workflow_id", "execution_started_at"],
                    postgresql_include=["node_id", "node_type", "status", "duration_ms", "attempts", "error_type",
                                        "reused"])
    op.create_index("ix_node_runs_tenant_started", "node_runs", ["tenant_id", "execution_started_at"],
                    postgresql_include=["workflow_id", "node_id", "node_type", "status", "duration_ms", "attempts",
                                        "error_type", "reused"])


def downgrade() -> None:
    op.drop_table("node_runs")
    op.drop_index("ix_executions_tenant_running", table_name="executions")
    op.drop_index("ix_executions_tenant_workflow_started_cover", table_name="executions")
    op.drop_index("ix_executions_tenant_started_cover", table_name="executions")
    op.drop_index("ix_executions_redrive_of", table_name="executions")
    op.drop_column("executions", "redrive_of")
