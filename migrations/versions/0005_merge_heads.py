"""Merge the two revisions that branched from 0003 (approval tasks, tenant templates).

Revision ID: 0005_merge_heads
Revises: 0004_approval_tasks, 0004_tenant_templates
Create Date: 2026-11-22
"""

from __future__ import annotations

revision = "0005_merge_heads"
down_revision = ("0004_approval_tasks", "0004_tenant_templates")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
