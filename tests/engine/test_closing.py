"""worker.closing: ended runs are closed outside history, never while replaying, and a failed write never
changes anything but the row (left to the reconciler)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from wfo.db import PgPool
from wfo.replies import Outcome
from wfo.stores.worker_db import WorkerDb
from worker import closing
from worker.closing import ClosingInterceptor, RunClosings
from worker.main import WORKFLOWS, workflow_runner
from workflows.types import NodeRunsRecord

HISTORY = Path(__file__).parent / "histories" / "replay-approval_closed_outside_history.json"


class Counting(RunClosings):
    def __init__(self) -> None:
        super().__init__(WorkerDb(PgPool("postgresql://unused@127.0.0.1:1/none")))
        self.handed: list[NodeRunsRecord] = []

    def hand_over(self, record: NodeRunsRecord) -> None:
        self.handed.append(record)


async def test_replaying_a_run_hands_nothing_over():
    """A replay (a worker restart, a cache eviction, `wfo replay`) re-runs the code of a run that already
    ended: its record must not be written again."""
    counting = Counting()
    replayer = Replayer(workflows=list(WORKFLOWS), workflow_runner=workflow_runner(),
                        interceptors=[ClosingInterceptor(counting)])
    result = await replayer.replay_workflow(WorkflowHistory.from_json(HISTORY.stem, HISTORY.read_text()),
                                            raise_on_replay_failure=True)
    assert result.replay_failure is None and counting.handed == []


async def test_a_failed_write_is_retried_then_logged_and_the_answer_still_goes_out(monkeypatch, caplog):
    monkeypatch.setattr(closing, "RETRY_DELAYS", (0.01, 0.01))
    heard: list[tuple[str, Outcome]] = []
    pool = PgPool("postgresql://postgres@127.0.0.1:1/none")  # nothing listens there
    closings = RunClosings(WorkerDb(pool), on_closed=lambda eid, outcome: heard.append((eid, outcome)))
    rec = NodeRunsRecord(execution_id="exec-x", tenant_id="00000000-0000-0000-0000-000000000002", workflow_id=None,
                         version=None, status="completed", started_at="2026-12-06T00:00:00+00:00",
                         nodes={"start": {"type": "start", "status": "completed", "activations": 1, "attempts": 1}},
                         output={"ok": True}, close_row=True)
    with caplog.at_level(logging.ERROR, logger="wfo.worker.closing"):
        await asyncio.to_thread(closings.hand_over, rec)  # from another thread, as workflow code does
        await asyncio.sleep(0.05)
        await asyncio.wait_for(closings.close(), 30)
    assert closings.written == 0
    assert any("left to the reconciler" in r.getMessage() for r in caplog.records)
    assert heard == [("exec-x", Outcome(status="completed", output={"ok": True}, error=None))]
    await pool.close()


async def test_records_of_many_runs_are_written_together(database_url):
    """Records handed over meanwhile go in one statement (one rollup trigger firing per batch)."""
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        tenant = await conn.fetchval("INSERT INTO tenants (id, name) VALUES (gen_random_uuid(), 'closing') "
                                     "RETURNING id")
        ids = [f"exec-closing-{i}" for i in range(5)]
        for eid in ids:
            await conn.execute("INSERT INTO executions (id, tenant_id, status, trigger, started_at, updated_at) "
                               "VALUES ($1, $2, 'running', 'manual', now(), now())", eid, tenant)
        pool = PgPool(database_url)
        db = WorkerDb(pool)
        batches: list[int] = []
        real = db.record_runs

        async def counted(records):
            batches.append(len(records))
            return await real(records)

        db.record_runs = counted  # type: ignore[method-assign]
        closings = RunClosings(db)
        for i, eid in enumerate(ids):
            closings.hand_over(NodeRunsRecord(
                execution_id=eid, tenant_id=str(tenant), workflow_id=None, version=None,
                status="failed" if i == 0 else "completed", started_at="2026-12-06T00:00:00+00:00",
                nodes={"a": {"type": "transform", "status": "completed", "activations": 1, "attempts": 1,
                             "duration_ms": 3}}, output=None if i == 0 else {"i": i},
                error="boom" if i == 0 else None, progress={"nodes": {}}, close_row=True))
        await asyncio.sleep(0)  # every hand-over is queued before the writer runs
        await closings.close()
        await pool.close()
        assert batches == [5] and closings.written == 5
        rows = {r["id"]: r for r in await conn.fetch(
            "SELECT id, status, output, error FROM executions WHERE id = ANY($1::text[])", ids)}
        assert rows[ids[0]]["status"] == "failed" and rows[ids[0]]["error"] == "boom"
        assert all(rows[e]["status"] == "completed" and rows[e]["output"] == f'{{"i": {i}}}'
                   for i, e in enumerate(ids) if i)
        assert await conn.fetchval("SELECT count(*) FROM node_runs WHERE execution_id = ANY($1::text[])", ids) == 5
    finally:
        await conn.close()
