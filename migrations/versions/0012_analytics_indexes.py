"""Analytics: per-node run rows, the redrive link, and covering indexes for windowed aggregates.

``node_runs`` holds one row per node that ran in a finished root execution (written by the worker's
``wfo.record_node_runs`` activity at the end of the run). The covering indexes serve the exact (raw) path
of the windowed analytics queries (``api/services/analytics.py``).

Hourly rollups (``execution_rollup``, ``node_rollup``, ``node_error_rollup``) are kept exact by row
triggers on ``executions`` and ``node_runs`` (every insert, update and delete subtracts the old row's
contribution and adds the new one), so a week's window reads ~168 rows per workflow (or node) instead of
every execution. Durations go into a log histogram of HIST_BUCKETS columns: bucket 0 is [0, 1 ms),
bucket k >= 1 is [1.3^(k-1), 1.3^k) ms, the last one open-ended; percentiles read from it are within a
bucket's width (30%) of the exact value, typically much closer.

Revision ID: 0012_analytics_indexes
Revises: 0008_payload_owner
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

HIST_BUCKETS = 80
HIST_BASE = 1.3
H = [f"h{i:02d}" for i in range(HIST_BUCKETS)]
ZERO_UUID = "00000000-0000-0000-0000-000000000000"

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


    _rollups()


def _hist_values(var: str, sign: str) -> str:
    return ", ".join(f"CASE WHEN {var} = {i} THEN {sign} ELSE 0 END" for i in range(HIST_BUCKETS))


def _hist_sets() -> str:
    return ", ".join(f"{h} = x.{h} + EXCLUDED.{h}" for h in H)


def _rollups() -> None:
    hist_cols = [sa.Column(h, sa.BigInteger(), nullable=False, server_default="0") for h in H]
    op.create_table(
        "execution_rollup",
        sa.Column("tenant_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("workflow_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("finished", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("dur_sum", sa.Float(), nullable=False, server_default="0"),
        *hist_cols,
        sa.PrimaryKeyConstraint("tenant_id", "hour", "workflow_id", "status"),
    )
    op.create_index("ix_execution_rollup_workflow", "execution_rollup", ["tenant_id", "workflow_id", "hour"])
    op.create_table(
        "node_rollup",
        sa.Column("tenant_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("workflow_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("node_id", sa.Text(), nullable=False),
        sa.Column("node_type", sa.String(length=128), nullable=False),
        *[sa.Column(c, sa.BigInteger(), nullable=False, server_default="0") for c in
          ("runs", "completed", "failed", "reused", "retries", "retried", "retried_ok", "attempts", "dur_n")],
        sa.Column("dur_sum", sa.Float(), nullable=False, server_default="0"),
        *[sa.Column(h, sa.BigInteger(), nullable=False, server_default="0") for h in H],
        sa.PrimaryKeyConstraint("tenant_id", "hour", "workflow_id", "node_id"),
    )
    op.create_index("ix_node_rollup_workflow", "node_rollup", ["tenant_id", "workflow_id", "hour"])
    op.create_table(
        "node_error_rollup",
        sa.Column("tenant_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("workflow_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("node_id", sa.Text(), nullable=False),
        sa.Column("error_type", sa.String(length=128), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("tenant_id", "hour", "workflow_id", "node_id", "error_type"),
    )
    op.execute(f"""
CREATE FUNCTION wfo_hist_bucket(ms double precision) RETURNS integer LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN ms IS NULL THEN NULL WHEN ms < 1 THEN 0
              ELSE least({HIST_BUCKETS - 1}, 1 + floor(ln(ms) / ln({HIST_BASE}))::integer) END
$$""")
    op.execute(f"""
CREATE FUNCTION wfo_rollup_execution(r executions, s integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  fin boolean := r.status <> 'running' AND r.completed_at IS NOT NULL;
  d double precision;
  b integer;
BEGIN
  IF fin THEN
    d := greatest(0, extract(epoch FROM r.completed_at - r.started_at) * 1000);
  END IF;
  b := wfo_hist_bucket(d);
  INSERT INTO execution_rollup AS x (tenant_id, hour, workflow_id, status, n, finished, dur_sum, {", ".join(H)})
  VALUES (r.tenant_id, date_trunc('hour', r.started_at, 'UTC'), coalesce(r.workflow_id, '{ZERO_UUID}'::uuid),
          r.status, s, CASE WHEN fin THEN s ELSE 0 END, coalesce(d, 0) * s, {_hist_values("b", "s")})
  ON CONFLICT (tenant_id, hour, workflow_id, status) DO UPDATE SET
    n = x.n + EXCLUDED.n, finished = x.finished + EXCLUDED.finished, dur_sum = x.dur_sum + EXCLUDED.dur_sum,
    {_hist_sets()};
END $$""")
    op.execute(f"""
CREATE FUNCTION wfo_rollup_node_run(r node_runs, s integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  ran integer := CASE WHEN r.reused THEN 0 ELSE s END;
  b integer := CASE WHEN r.reused THEN NULL ELSE wfo_hist_bucket(r.duration_ms) END;
  hr timestamptz := date_trunc('hour', r.execution_started_at, 'UTC');
  wf uuid := coalesce(r.workflow_id, '{ZERO_UUID}'::uuid);
BEGIN
  INSERT INTO node_rollup AS x (tenant_id, hour, workflow_id, node_id, node_type, runs, completed, failed, reused,
                                retries, retried, retried_ok, attempts, dur_n, dur_sum, {", ".join(H)})
  VALUES (r.tenant_id, hr, wf, r.node_id, r.node_type, ran,
          CASE WHEN r.status = 'completed' THEN ran ELSE 0 END,
          CASE WHEN r.status = 'failed' THEN ran ELSE 0 END,
          CASE WHEN r.reused THEN s ELSE 0 END,
          ran * greatest(r.attempts - 1, 0),
          CASE WHEN r.attempts > 1 THEN ran ELSE 0 END,
          CASE WHEN r.attempts > 1 AND r.status = 'completed' THEN ran ELSE 0 END,
          ran * greatest(r.attempts, 1),
          CASE WHEN b IS NULL THEN 0 ELSE s END,
          CASE WHEN b IS NULL THEN 0 ELSE r.duration_ms * s END,
          {_hist_values("b", "s")})
  ON CONFLICT (tenant_id, hour, workflow_id, node_id) DO UPDATE SET
    node_type = EXCLUDED.node_type, runs = x.runs + EXCLUDED.runs, completed = x.completed + EXCLUDED.completed,
    failed = x.failed + EXCLUDED.failed, reused = x.reused + EXCLUDED.reused, retries = x.retries + EXCLUDED.retries,
    retried = x.retried + EXCLUDED.retried, retried_ok = x.retried_ok + EXCLUDED.retried_ok,
    attempts = x.attempts + EXCLUDED.attempts, dur_n = x.dur_n + EXCLUDED.dur_n, dur_sum = x.dur_sum + EXCLUDED.dur_sum,
    {_hist_sets()};
  IF r.status = 'failed' AND NOT r.reused THEN
    INSERT INTO node_error_rollup AS x (tenant_id, hour, workflow_id, node_id, error_type, n)
    VALUES (r.tenant_id, hr, wf, r.node_id, coalesce(r.error_type, 'Unknown'), s)
    ON CONFLICT (tenant_id, hour, workflow_id, node_id, error_type) DO UPDATE SET n = x.n + EXCLUDED.n;
  END IF;
END $$""")
    for table, fn in (("executions", "wfo_rollup_execution"), ("node_runs", "wfo_rollup_node_run")):
        op.execute(f"""
CREATE FUNCTION {fn}_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN PERFORM {fn}(OLD, -1); END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN PERFORM {fn}(NEW, 1); END IF;
  RETURN NULL;
END $$""")
        op.execute(f"CREATE TRIGGER {table}_rollup AFTER INSERT OR UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION {fn}_trigger()")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS executions_rollup ON executions")
    op.execute("DROP TRIGGER IF EXISTS node_runs_rollup ON node_runs")
    for fn in ("wfo_rollup_execution_trigger()", "wfo_rollup_node_run_trigger()",
               "wfo_rollup_execution(executions, integer)", "wfo_rollup_node_run(node_runs, integer)",
               "wfo_hist_bucket(double precision)"):
        op.execute(f"DROP FUNCTION IF EXISTS {fn}")
    for t in ("node_error_rollup", "node_rollup", "execution_rollup"):
        op.drop_table(t)
    op.drop_table("node_runs")
    op.drop_index("ix_executions_tenant_running", table_name="executions")
    op.drop_index("ix_executions_tenant_workflow_started_cover", table_name="executions")
    op.drop_index("ix_executions_tenant_started_cover", table_name="executions")
    op.drop_index("ix_executions_redrive_of", table_name="executions")
    op.drop_column("executions", "redrive_of")
