"""Answers to decisions sent with an idempotency key, so a repeat gets the first answer even after the
execution has finished.

Revision ID: 0007_task_decisions
Revises: 0006_task_notifications
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0007_task_decisions"
down_revision = "0006_task_notifications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "task_decisions",
        sa.Column("task_id", sa.Text(), primary_key=True),
        sa.Column("idempotency_key", sa.Text(), primary_key=True),
        sa.Column("result", pg.JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("task_decisions")
