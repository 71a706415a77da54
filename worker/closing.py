"""Closing finished runs outside history: their node runs and their index row, written by the worker.

A run started with `CLOSE_OUTSIDE_HISTORY` leaves its `NodeRunsRecord` on `InterpreterWorkflow.closing` as it
ends instead of running the `wfo.record_node_runs` local activity (which cost every execution one more
activation, a local-activity task and a marker event the Temporal server persists: about a quarter of the
CPU of a short execution across the worker, the server and Postgres, `bench/intake.py`). `ClosingInterceptor`
hands the record to `RunClosings` when the run's code returns or fails; `RunClosings` writes the records of
every run that ended meanwhile in one statement (group commit) and then tells `on_closed` (the API's embedded
worker: `wfo.replies`).

Invariants:
- never during replay (`workflow.unsafe.is_replaying`): a record is handed over when the run's code really
  ends on this worker; a workflow task that is retried hands it over again, and the writes are idempotent
  (node runs are upserts; only a row still `running` is closed);
- nothing here can change a run's outcome or its history: the interceptor only reads `closing` after the
  run's code has finished, and a write that fails is retried a few times and then logged;
- best effort, as the local activity was: a worker that dies between the run's end and the write leaves the
  row to the API's reconciler (it closes it from Temporal's describe) and the run's node runs unrecorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from temporalio import workflow
from temporalio.worker import (
    ExecuteWorkflowInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from wfo.replies import Outcome
from wfo.stores.worker_db import WorkerDb
from workflows.types import NodeRunsRecord

log = logging.getLogger("wfo.worker.closing")

RETRY_DELAYS = (0.2, 1.0, 5.0)
"""Seconds between attempts at writing a batch (then it is logged and dropped)."""


class RunClosings:
    """The worker's writer of ended runs' records. `hand_over` may be called from any thread (workflow code
    runs on the worker's workflow threads); the writes happen on the worker's event loop."""

    def __init__(self, db: WorkerDb, on_closed: Callable[[str, Outcome], object] | None = None) -> None:
        self.db = db
        self.on_closed = on_closed
        self._loop = asyncio.get_running_loop()
        self._queue: list[NodeRunsRecord] = []
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._closed = False
        self.written = 0
        """Records written so far."""

    def hand_over(self, record: NodeRunsRecord) -> None:
        self._loop.call_soon_threadsafe(self._enqueue, record)

    def _enqueue(self, record: NodeRunsRecord) -> None:
        self._queue.append(record)
        self._wake.set()
        if self._writer is None or self._writer.done():
            self._writer = self._loop.create_task(self._run(), name="wfo-run-closings")

    async def _run(self) -> None:
        while self._queue or not self._closed:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            batch, self._queue = self._queue, []
            await self._write(batch)

    async def _write(self, batch: list[NodeRunsRecord]) -> None:
        for delay in (*RETRY_DELAYS, None):
            try:
                await self.db.record_runs(batch)
                self.written += len(batch)
                break
            except Exception as exc:  # noqa: BLE001 - retried, then logged (the reconciler closes the rows)
                if delay is None:
                    log.error("closing %d run(s) failed: %s; their rows are left to the reconciler",
                              len(batch), type(exc).__name__)
                    break
                await asyncio.sleep(delay)
        if self.on_closed is not None:
            for rec in batch:
                if rec.close_row:
                    self.on_closed(rec.execution_id, Outcome.of(rec))

    async def close(self) -> None:
        """Write everything handed over so far (the worker has stopped running workflow code)."""
        self._closed = True
        self._wake.set()
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await self._writer


class ClosingInterceptor(Interceptor):
    """Hands each `Interpreter` run's `closing` record to `RunClosings` when the run's code ends."""

    def __init__(self, closings: RunClosings) -> None:
        self.closings = closings

    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        closings = self.closings

        class _Inbound(WorkflowInboundInterceptor):
            async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
                try:
                    return await super().execute_workflow(input)
                finally:
                    record = getattr(workflow.instance(), "closing", None)
                    if isinstance(record, NodeRunsRecord) and not workflow.unsafe.is_replaying():
                        closings.hand_over(record)

        return _Inbound
