"""Failed-start state as data: ``executions.failure`` (``start_failed`` | ``not_found``) instead of matching
error-message prefixes; existing rows are backfilled from the messages once, here.

Revision ID: 0009_execution_state
Revises: 0008_payload_owner
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_execution_state"
down_revision = "0008_payload_owner"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("executions", sa.Column("failure", sa.String(16), nullable=True))
    op.create_check_constraint("ck_executions_failure", "executions",
                               "failure IS NULL OR failure IN ('start_failed','not_found')")
    op.execute("UPDATE executions SET failure = 'start_failed' "
               "WHERE status = 'failed' AND starts_with(error, 'could not start')")
    op.execute("UPDATE executions SET failure = 'not_found' "
               "WHERE status = 'failed' AND starts_with(error, 'execution not found')")


def downgrade() -> None:
    op.drop_constraint("ck_executions_failure", "executions", type_="check")
    op.drop_column("executions", "failure")
