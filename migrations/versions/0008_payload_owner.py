"""Payloads remember the execution that stored them, so they can be collected once it is over.

Revision ID: 0008_payload_owner
Revises: 0007_task_decisions
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_payload_owner"
down_revision = "0007_task_decisions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("payloads", sa.Column("execution_id", sa.Text(), nullable=True))
    op.create_index("ix_payloads_created_at", "payloads", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_payloads_created_at", table_name="payloads")
    op.drop_column("payloads", "execution_id")
