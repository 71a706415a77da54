"""Activities behind triggers: resolve what a schedule fire should run, and index the execution."""

from __future__ import annotations

import uuid

from temporalio import activity
from temporalio.service import RPCError

from wfo.db import PgPool
from wfo.settings import Settings
from wfo.stores import triggers
from wfo.stores.executions import index_execution
from workflows.trigger_schedule import (
    PREPARE_SCHEDULED_RUN_ACTIVITY,
    PreparedRun,
    PrepareScheduledRun,
    schedule_id_for,
)


class TriggerActivities:
    def __init__(self, settings: Settings, pg: PgPool) -> None:
        self.settings = settings
        self.pg = pg

    def all(self) -> list:
        return [self.prepare_scheduled_run]

    async def _delete_orphan_schedule(self, trigger_id: str) -> None:
        """The trigger row is gone (deleted, or its creation never committed): remove its schedule."""
        try:
            await activity.client().get_schedule_handle(schedule_id_for(trigger_id)).delete()
            activity.logger.info("deleted the schedule of missing trigger %s", trigger_id)
        except RPCError:
            pass

    @activity.defn(name=PREPARE_SCHEDULED_RUN_ACTIVITY)
    async def prepare_scheduled_run(self, req: PrepareScheduledRun) -> PreparedRun:
        db = await self.pg()
        row = await triggers.with_current_version(db, uuid.UUID(req.trigger_id), "schedule")
        if row is None:
            await self._delete_orphan_schedule(req.trigger_id)
            return PreparedRun(skip_reason="trigger deleted")
        if row.status != "active":
            return PreparedRun(skip_reason=f"workflow is {row.status}, not active")
        if row.definition is None:
            return PreparedRun(skip_reason="workflow has no current version")
        run_input = {
            "trigger": {"id": str(row.id), "kind": "schedule", "fired_at": req.fired_at},
            "data": (row.config or {}).get("input"),
        }
        await index_execution(
            db,
            execution_id=req.execution_id,
            tenant_id=row.tenant_id,
            workflow_id=row.workflow_id,
            version=row.current_version,
            trigger="schedule",
            input=run_input,
            started_by=f"schedule:{row.id}",
        )
        return PreparedRun(
            definition=row.definition,
            version=row.current_version,
            workflow_id=str(row.workflow_id),
            tenant_id=str(row.tenant_id),
            input=run_input,
        )
