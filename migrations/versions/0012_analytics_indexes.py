"""Analytics: per-node run rows, the redrive link, and covering indexes for windowed aggregates.

``node_runs`` holds one row per node that ran in a finished root execution (written by the worker's
``wfo.record_node_runs`` activity at the end of the run). The covering indexes serve the exact (raw) path
of the windowed analytics queries (``api/services/analytics.py``).

Hourly rollups (``execution_rollup``, ``node_rollup``, ``node_error_rollup``) are kept exact by statement
triggers on ``executions`` and ``node_runs`` (every insert, update and delete subtracts the old rows'
contribution and adds the new rows', grouped per rollup key), so a week's window reads ~168 rows per workflow (or node) instead of
every execution. Durations go into a log histogram of HIST_BUCKETS columns: bucket 0 is [0, 1 ms),
bucket k >= 1 is [1.3^(k-1), 1.3^k) ms, the last one open-ended; percentiles read from it are within a
bucket's width (30%) of the exact value, typically much closer.

Revision ID: 0012_analytics_indexes
Revises: 0011_auth_hardening
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
down_revision = "0011_auth_hardening"
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
    for statement in rollup_functions():
        op.execute(statement)
    for op_ in OPS:
        for table, fn in (("executions", "wfo_rollup_executions"), ("node_runs", "wfo_rollup_node_runs")):
            op.execute(f"CREATE TRIGGER {table}_rollup_{op_} AFTER {EVENTS[op_]} ON {table} {REFS[op_]} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION {fn}_{op_}()")


# statement-level triggers with transition tables: one grouped upsert per statement (a COPY of 100,000
# rows is one upsert per rollup key), and an UPDATE that changes nothing the rollups count writes nothing
OPS = ("ins", "upd", "del")
SOURCES = {"ins": "SELECT 1 AS s, r.* FROM new_rows r",
           "del": "SELECT -1 AS s, r.* FROM old_rows r",
           "upd": "SELECT -1 AS s, r.* FROM old_rows r UNION ALL SELECT 1 AS s, r.* FROM new_rows r"}
REFS = {"ins": "REFERENCING NEW TABLE AS new_rows", "del": "REFERENCING OLD TABLE AS old_rows",
        "upd": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"}
EVENTS = {"ins": "INSERT", "del": "DELETE", "upd": "UPDATE"}


def rollup_functions(create: str = "CREATE") -> list[str]:
    """The six trigger functions of this revision (``CREATE OR REPLACE`` restores them: 0019's downgrade)."""
    out = []
    hist_sums = ", ".join(f"sum(CASE WHEN b = {i} THEN s ELSE 0 END)" for i in range(HIST_BUCKETS))
    hist_changed = " OR ".join(f"sum(CASE WHEN b = {i} THEN s ELSE 0 END) <> 0" for i in range(HIST_BUCKETS))
    for op_, src in SOURCES.items():
        out.append(f"""
{create} FUNCTION wfo_rollup_executions_{op_}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO execution_rollup AS x (tenant_id, hour, workflow_id, status, n, finished, dur_sum, {", ".join(H)})
  SELECT tenant_id, hour, workflow_id, status, sum(s), sum(s * fin), sum(s * coalesce(d, 0)), {hist_sums}
  FROM (SELECT s, tenant_id, date_trunc('hour', started_at, 'UTC') AS hour,
               coalesce(workflow_id, '{ZERO_UUID}'::uuid) AS workflow_id, status, fin, d, wfo_hist_bucket(d) AS b
        FROM (SELECT q.*, (q.status <> 'running' AND q.completed_at IS NOT NULL)::int AS fin,
                     CASE WHEN q.status <> 'running' AND q.completed_at IS NOT NULL
                          THEN greatest(0, extract(epoch FROM q.completed_at - q.started_at) * 1000) END AS d
              FROM ({src}) q) q2) q3
  GROUP BY tenant_id, hour, workflow_id, status
  HAVING sum(s) <> 0 OR sum(s * fin) <> 0 OR sum(s * coalesce(d, 0)) <> 0 OR {hist_changed}
  ON CONFLICT (tenant_id, hour, workflow_id, status) DO UPDATE SET
    n = x.n + EXCLUDED.n, finished = x.finished + EXCLUDED.finished, dur_sum = x.dur_sum + EXCLUDED.dur_sum,
    {_hist_sets()};
  RETURN NULL;
END $$""")
        out.append(f"""
{create} FUNCTION wfo_rollup_node_runs_{op_}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO node_rollup AS x (tenant_id, hour, workflow_id, node_id, node_type, runs, completed, failed, reused,
                                retries, retried, retried_ok, attempts, dur_n, dur_sum, {", ".join(H)})
  SELECT tenant_id, hour, workflow_id, node_id, max(node_type), sum(ran), sum(ran * (status = 'completed')::int),
         sum(ran * (status = 'failed')::int), sum(s * reused::int), sum(ran * greatest(attempts - 1, 0)),
         sum(ran * (attempts > 1)::int), sum(ran * (attempts > 1 AND status = 'completed')::int),
         sum(ran * greatest(attempts, 1)), sum(CASE WHEN b IS NULL THEN 0 ELSE s END),
         sum(CASE WHEN b IS NULL THEN 0 ELSE s * duration_ms END), {hist_sums}
  FROM (SELECT q.s, q.tenant_id, date_trunc('hour', q.execution_started_at, 'UTC') AS hour,
               coalesce(q.workflow_id, '{ZERO_UUID}'::uuid) AS workflow_id, q.node_id, q.node_type, q.status,
               q.reused, q.attempts, q.duration_ms, CASE WHEN q.reused THEN 0 ELSE q.s END AS ran,
               CASE WHEN q.reused THEN NULL ELSE wfo_hist_bucket(q.duration_ms) END AS b
        FROM ({src}) q) q2
  GROUP BY tenant_id, hour, workflow_id, node_id
  ON CONFLICT (tenant_id, hour, workflow_id, node_id) DO UPDATE SET
    node_type = EXCLUDED.node_type, runs = x.runs + EXCLUDED.runs, completed = x.completed + EXCLUDED.completed,
    failed = x.failed + EXCLUDED.failed, reused = x.reused + EXCLUDED.reused, retries = x.retries + EXCLUDED.retries,
    retried = x.retried + EXCLUDED.retried, retried_ok = x.retried_ok + EXCLUDED.retried_ok,
    attempts = x.attempts + EXCLUDED.attempts, dur_n = x.dur_n + EXCLUDED.dur_n, dur_sum = x.dur_sum + EXCLUDED.dur_sum,
    {_hist_sets()};
  INSERT INTO node_error_rollup AS x (tenant_id, hour, workflow_id, node_id, error_type, n)
  SELECT q.tenant_id, date_trunc('hour', q.execution_started_at, 'UTC'), coalesce(q.workflow_id, '{ZERO_UUID}'::uuid),
         q.node_id, coalesce(q.error_type, 'Unknown'), sum(q.s)
  FROM ({src}) q WHERE q.status = 'failed' AND NOT q.reused
  GROUP BY 1, 2, 3, 4, 5 HAVING sum(q.s) <> 0
  ON CONFLICT (tenant_id, hour, workflow_id, node_id, error_type) DO UPDATE SET n = x.n + EXCLUDED.n;
  RETURN NULL;
END $$""")
    return out


def downgrade() -> None:
    for op_ in OPS:
        for table, fn in (("executions", "wfo_rollup_executions"), ("node_runs", "wfo_rollup_node_runs")):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_rollup_{op_} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {fn}_{op_}()")
    op.execute("DROP FUNCTION IF EXISTS wfo_hist_bucket(double precision)")
    for t in ("node_error_rollup", "node_rollup", "execution_rollup"):
        op.drop_table(t)
    op.drop_table("node_runs")
    op.drop_index("ix_executions_tenant_running", table_name="executions")
    op.drop_index("ix_executions_tenant_workflow_started_cover", table_name="executions")
    op.drop_index("ix_executions_tenant_started_cover", table_name="executions")
    op.drop_index("ix_executions_redrive_of", table_name="executions")
    op.drop_column("executions", "redrive_of")
