"""Analytics activity: at the end of a root execution the interpreter hands over every node's outcome,
written as ``node_runs`` rows (one per node that ran) for the windowed aggregates of the API."""

from __future__ import annotations

import logging

import asyncpg
from temporalio import activity

from activities.services import Services
from workflows.types import RECORD_NODE_RUNS_ACTIVITY, NodeRunsRecord

log = logging.getLogger(__name__)


class AnalyticsActivities:
    """Writes ``node_runs`` through the worker's store; idempotent (an upsert keyed by execution and node)."""

    def __init__(self, services: Services):
        self.services = services

    @activity.defn(name=RECORD_NODE_RUNS_ACTIVITY)
    async def record_node_runs(self, rec: NodeRunsRecord) -> int:
        try:
            return await self.services.worker_db.record_node_runs(rec)
        except (asyncpg.IntegrityConstraintViolationError, asyncpg.DataError, asyncpg.UndefinedTableError) as err:
            # not a stored workflow of a known tenant (ad-hoc ids), or an older schema: nothing to record,
            # and retrying would not change that
            log.info("node runs of %s not recorded: %s", rec.execution_id, type(err).__name__)
            return 0

    def all(self) -> list:
        return [self.record_node_runs]
