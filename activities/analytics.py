"""Analytics activity: at the end of a root execution the interpreter hands over every node's outcome,
written here as ``node_runs`` rows (one per node that ran) for the windowed aggregates of the API."""

from __future__ import annotations

import logging
from datetime import datetime

import asyncpg
from temporalio import activity

from activities.services import Services
from workflows.types import RECORD_NODE_RUNS_ACTIVITY, NodeRunsRecord

log = logging.getLogger(__name__)

MAX_ERROR_MESSAGE = 500

_UPSERT = """
INSERT INTO node_runs (execution_id, node_id, tenant_id, workflow_id, version, node_type, status, activations,
                       attempts, duration_ms, error_type, error_message, reused, execution_status,
                       execution_started_at, started_at)
VALUES ($1, $2, $3::uuid, $4::uuid, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
ON CONFLICT (execution_id, node_id) DO UPDATE SET
    status = EXCLUDED.status, activations = EXCLUDED.activations, attempts = EXCLUDED.attempts,
    duration_ms = EXCLUDED.duration_ms, error_type = EXCLUDED.error_type, error_message = EXCLUDED.error_message,
    reused = EXCLUDED.reused, execution_status = EXCLUDED.execution_status
"""


def _ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class AnalyticsActivities:
    """Writes ``node_runs``; idempotent (an upsert keyed by execution and node), so retries are harmless."""

    def __init__(self, services: Services):
        self.services = services

    @activity.defn(name=RECORD_NODE_RUNS_ACTIVITY)
    async def record_node_runs(self, rec: NodeRunsRecord) -> int:
        started = _ts(rec.started_at)
        rows = []
        for node_id, n in rec.nodes.items():
            err = n.get("error") or {}
            message = err.get("message")
            rows.append((
                rec.execution_id, node_id, rec.tenant_id, rec.workflow_id, rec.version, str(n.get("type"))[:128],
                str(n.get("status"))[:16], int(n.get("activations") or 0), int(n.get("attempts") or 0),
                n.get("duration_ms"), (err.get("type") or None) and str(err["type"])[:128],
                message[:MAX_ERROR_MESSAGE] if isinstance(message, str) else None, bool(n.get("reused")),
                rec.status, started, _ts(n.get("started_at")),
            ))
        if not rows:
            return 0
        pool = await self.services.db_pool()
        try:
            await pool.executemany(_UPSERT, rows)
        except (asyncpg.IntegrityConstraintViolationError, asyncpg.DataError, asyncpg.UndefinedTableError) as err:
            # not a stored workflow of a known tenant (ad-hoc ids), or an older schema: nothing to record,
            # and retrying would not change that
            log.info("node runs of %s not recorded: %s", rec.execution_id, type(err).__name__)
            return 0
        return len(rows)

    def all(self) -> list:
        return [self.record_node_runs]
