"""Hourly analytics rollups (migration 0012_analytics_indexes): kept exact by statement triggers on
``executions`` and ``node_runs``; read by ``api/services/analytics.py``. Never written by application code.

Durations are counted in a log histogram of ``HIST_BUCKETS`` columns ``h00..h79``: bucket 0 is [0, 1 ms),
bucket k >= 1 is [1.3^(k-1), 1.3^k) ms, the last one open-ended. ``workflow_id`` is the zero UUID for rows
without a stored workflow.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID
from sqlmodel import SQLModel

HIST_BUCKETS = 80
HIST_BASE = 1.3
HIST_COLUMNS = [f"h{i:02d}" for i in range(HIST_BUCKETS)]


def _hist() -> list[sa.Column]:
    return [sa.Column(h, sa.BigInteger(), nullable=False, server_default="0") for h in HIST_COLUMNS]


def _counts(*names: str) -> list[sa.Column]:
    return [sa.Column(n, sa.BigInteger(), nullable=False, server_default="0") for n in names]


execution_rollup = sa.Table(
    "execution_rollup", SQLModel.metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("hour", sa.DateTime(timezone=True), primary_key=True),
    sa.Column("workflow_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("status", sa.String(length=16), primary_key=True),
    *_counts("n", "finished"),
    sa.Column("dur_sum", sa.Float(), nullable=False, server_default="0"),
    *_hist(),
    sa.Index("ix_execution_rollup_workflow", "tenant_id", "workflow_id", "hour"),
)

node_rollup = sa.Table(
    "node_rollup", SQLModel.metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("hour", sa.DateTime(timezone=True), primary_key=True),
    sa.Column("workflow_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("node_id", sa.Text(), primary_key=True),
    sa.Column("node_type", sa.String(length=128), nullable=False),
    *_counts("runs", "completed", "failed", "reused", "retries", "retried", "retried_ok", "attempts", "dur_n"),
    sa.Column("dur_sum", sa.Float(), nullable=False, server_default="0"),
    *_hist(),
    sa.Index("ix_node_rollup_workflow", "tenant_id", "workflow_id", "hour"),
)

node_error_rollup = sa.Table(
    "node_error_rollup", SQLModel.metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("hour", sa.DateTime(timezone=True), primary_key=True),
    sa.Column("workflow_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("node_id", sa.Text(), primary_key=True),
    sa.Column("error_type", sa.String(length=128), primary_key=True),
    *_counts("n"),
)
