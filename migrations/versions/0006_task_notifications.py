"""Who was emailed about which approval task (so a retried notification does not mail twice).

Revision ID: 0006_task_notifications
Revises: 0005_merge_heads
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_task_notifications"
down_revision = "0005_merge_heads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "task_notifications",
        sa.Column("task_id", sa.Text(), primary_key=True),
        sa.Column("recipient", sa.Text(), primary_key=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("task_notifications")
