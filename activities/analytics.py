"""Analytics activity: at the end of a root execution the interpreter hands over every node's outcome,
written as ``node_runs`` rows (one per node that ran) for the windowed aggregates of the API."""

from __future__ import annotations

import logging
from collections.abc import Callable

import asyncpg
from temporalio import activity

from activities.services import Services
from wfo.replies import Outcome
from workflows.types import RECORD_NODE_RUNS_ACTIVITY, NodeRunsRecord

log = logging.getLogger(__name__)


class AnalyticsActivities:
    """Writes ``node_runs`` through the worker's store; idempotent (an upsert keyed by execution and node).

    ``on_closed`` (the API's embedded worker: ``wfo.replies.Replies.deliver``) hears the outcome of every
    execution whose row this activity closes, once the row is written (or could not be: the answer still
    goes out)."""

    def __init__(self, services: Services, on_closed: Callable[[str, Outcome], object] | None = None):
        self.services = services
        self.on_closed = on_closed

    @activity.defn(name=RECORD_NODE_RUNS_ACTIVITY)
    async def record_node_runs(self, rec: NodeRunsRecord) -> int:
        try:
            written = await self.services.worker_db.record_node_runs(rec)
        except (asyncpg.IntegrityConstraintViolationError, asyncpg.DataError, asyncpg.UndefinedTableError) as err:
            # not a stored workflow of a known tenant (ad-hoc ids), or an older schema: nothing to record,
            # and retrying would not change that
            log.info("node runs of %s not recorded: %s", rec.execution_id, type(err).__name__)
            written = 0
        if rec.close_row and self.on_closed is not None:
            self.on_closed(rec.execution_id, Outcome.of(rec))
        return written

    def all(self) -> list:
        return [self.record_node_runs]
