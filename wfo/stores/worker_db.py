"""The worker's raw asyncpg access, in one place: the hot path of every approval node and child definition.

Activities run these statements on every approval task write and stored-definition load, so they use the
worker's asyncpg pool directly (no ORM session per activity). Everything else goes through SQLModel
sessions and the other store modules; no other module of the worker writes SQL.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import asyncpg

from wfo.jsonsafe import scrub_nul
from workflows.types import NodeRunsRecord, TaskRecord

_UPSERT_TASK = """
INSERT INTO tasks (id, tenant_id, execution_id, workflow_id, node_id, title, description, status,
                   assignee_users, assignee_roles, required_approvals, form, due_at, escalated, started_by,
                   decision, votes, completed_at, updated_at)
VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb, $11, $12::jsonb, $13, $14, $15, $16,
        $17::jsonb, $18, now())
ON CONFLICT (id) DO UPDATE SET
    status = EXCLUDED.status, assignee_users = EXCLUDED.assignee_users, assignee_roles = EXCLUDED.assignee_roles,
    due_at = EXCLUDED.due_at, escalated = EXCLUDED.escalated, decision = EXCLUDED.decision,
    votes = EXCLUDED.votes, completed_at = EXCLUDED.completed_at, updated_at = now()
"""

_UPSERT_NODE_RUNS = """
INSERT INTO node_runs (execution_id, node_id, tenant_id, workflow_id, version, node_type, status, activations,
                       attempts, duration_ms, error_type, error_message, reused, execution_status,
                       execution_started_at, started_at)
SELECT r.execution_id, r.node_id, r.tenant_id, r.workflow_id, r.version, r.node_type, r.status, r.activations,
       r.attempts, r.duration_ms, r.error_type, r.error_message, r.reused, r.execution_status,
       r.execution_started_at, r.started_at
FROM unnest($1::text[], $2::text[], $3::uuid[], $4::uuid[], $5::int[], $6::text[], $7::text[], $8::int[],
            $9::int[], $10::bigint[], $11::text[], $12::text[], $13::bool[], $14::text[], $15::timestamptz[],
            $16::timestamptz[])
     AS r (execution_id, node_id, tenant_id, workflow_id, version, node_type, status, activations, attempts,
           duration_ms, error_type, error_message, reused, execution_status, execution_started_at, started_at)
ORDER BY r.execution_id, r.node_id
ON CONFLICT (execution_id, node_id) DO UPDATE SET
    status = EXCLUDED.status, activations = EXCLUDED.activations, attempts = EXCLUDED.attempts,
    duration_ms = EXCLUDED.duration_ms, error_type = EXCLUDED.error_type, error_message = EXCLUDED.error_message,
    reused = EXCLUDED.reused, execution_status = EXCLUDED.execution_status
"""
"""The node runs of any number of executions in ONE statement: the analytics rollups are statement-level
triggers, so one firing per batch, not one per node or per execution."""
MAX_ERROR_MESSAGE = 500

_CLOSE_EXECUTIONS = """
UPDATE executions AS e SET status = c.status, output = c.output, error = c.error,
       progress = COALESCE(c.progress, e.progress), completed_at = now(), updated_at = now()
FROM unnest($17::text[], $18::uuid[], $19::text[], $20::jsonb[], $21::text[], $22::jsonb[])
     AS c (id, tenant_id, status, output, error, progress)
WHERE e.id = c.id AND e.tenant_id = c.tenant_id AND e.status = 'running'
"""
"""A root run closes its own index row as it ends; only a row still `running` changes (a cancel or the
reconciler may have closed it first)."""

_RUNS_AND_CLOSES = f"WITH runs AS ({_UPSERT_NODE_RUNS} RETURNING 1) {_CLOSE_EXECUTIONS}"
"""Both in one statement (atomic, one round trip, no transaction block)."""


def _ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class WorkerDb:
    """Statements over the worker's asyncpg pool (``pool`` creates it on first use)."""

    def __init__(self, pool: Callable[[], Awaitable[asyncpg.Pool]]) -> None:
        self._pool = pool

    async def upsert_task(self, t: TaskRecord) -> None:
        """Write the inbox row of an approval task (the workflow is the source of truth)."""
        pool = await self._pool()
        await pool.execute(
            _UPSERT_TASK, t.task_id, t.tenant_id, t.execution_id, t.workflow_id, t.node_id, t.title, t.description,
            t.status, json.dumps(t.assignee_users), json.dumps(t.assignee_roles), t.required_approvals,
            json.dumps(t.form) if t.form is not None else None, _ts(t.due_at), t.escalated, t.started_by,
            t.decision, json.dumps(t.votes, default=str), _ts(t.completed_at),
        )

    async def users_with_roles(self, tenant_id: str, roles: list[str]) -> list[tuple[str, str]]:
        """(email, role) of the tenant's active users holding one of ``roles``."""
        pool = await self._pool()
        rows = await pool.fetch("SELECT email, role FROM users WHERE tenant_id = $1::uuid AND is_active "
                                "AND role = ANY($2::text[])", tenant_id, list(roles))
        return [(row["email"], row["role"]) for row in rows]

    async def notified(self, task_id: str) -> set[str]:
        pool = await self._pool()
        return {r["recipient"] for r in await pool.fetch(
            "SELECT recipient FROM task_notifications WHERE task_id = $1", task_id)}

    async def record_notified(self, task_id: str, recipient: str) -> None:
        pool = await self._pool()
        await pool.execute("INSERT INTO task_notifications (task_id, recipient) VALUES ($1, $2) "
                           "ON CONFLICT DO NOTHING", task_id, recipient)

    async def tenant_name(self, tenant_id: str) -> str | None:
        """The name of tenant `tenant_id` (None when there is no such tenant)."""
        pool = await self._pool()
        return await pool.fetchval("SELECT name FROM tenants WHERE id::text = $1", tenant_id)

    async def definition(self, workflow_id: str, version: int | None, tenant_id: str | None
                         ) -> tuple[dict[str, Any], int] | None:
        """A stored workflow's definition (a given version, or its current one) within the tenant."""
        pool = await self._pool()
        row = await pool.fetchrow(
            "SELECT v.definition, v.version FROM workflow_versions v JOIN workflows w ON w.id = v.workflow_id "
            "WHERE w.id::text = $1 AND v.version = COALESCE($2, w.current_version) "
            "AND ($3::text IS NULL OR w.tenant_id::text = $3)",
            workflow_id, version, tenant_id,
        )
        if row is None:
            return None
        definition = row["definition"]
        if isinstance(definition, str):
            definition = json.loads(definition)
        return definition, row["version"]

    async def record_node_runs(self, rec: NodeRunsRecord) -> int:
        """One ``node_runs`` row per node of a finished root execution (an upsert: retries are harmless;
        the rollup triggers follow), and its row closed when ``rec.close_row``. Returns the rows written."""
        return await self.record_runs([rec])

    async def record_runs(self, records: list[NodeRunsRecord]) -> int:
        """`record_node_runs` of many executions in one statement (the worker's group commit of ended runs).
        Returns the number of node-run rows written."""
        runs: list[list[Any]] = [[] for _ in range(16)]
        closes: list[list[Any]] = [[] for _ in range(6)]
        for rec in records:
            started = _ts(rec.started_at)
            for node_id, n in rec.nodes.items():
                err = n.get("error") or {}
                message = err.get("message")
                for col, value in zip(runs, (
                        rec.execution_id, node_id, rec.tenant_id, rec.workflow_id, rec.version,
                        str(n.get("type"))[:128], str(n.get("status"))[:16], int(n.get("activations") or 0),
                        int(n.get("attempts") or 0), n.get("duration_ms"),
                        (err.get("type") or None) and str(err["type"])[:128],
                        message[:MAX_ERROR_MESSAGE] if isinstance(message, str) else None, bool(n.get("reused")),
                        rec.status, started, _ts(n.get("started_at"))), strict=True):
                    col.append(value)
            if rec.close_row:
                for col, value in zip(closes, (
                        rec.execution_id, rec.tenant_id, rec.status,
                        json.dumps(scrub_nul(rec.output)) if rec.output is not None else None, scrub_nul(rec.error),
                        json.dumps(scrub_nul(rec.progress)) if rec.progress is not None else None), strict=True):
                    col.append(value)
        if not runs[0] and not closes[0]:
            return 0
        pool = await self._pool()
        if closes[0]:
            await pool.execute(_RUNS_AND_CLOSES, *runs, *closes)  # (no node ran: empty arrays, no row)
        else:
            await pool.execute(_UPSERT_NODE_RUNS, *runs)
        return len(runs[0])
