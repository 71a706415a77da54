"""Activities behind triggers: resolve what a schedule fire should run, and index the execution."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio import activity

from api.events.db import sql
from wfo.settings import Settings


@dataclass
class PrepareScheduledRun:
    trigger_id: str
    execution_id: str
    fired_at: str


@dataclass
class PreparedRun:
    skip_reason: str | None = None
    definition: dict[str, Any] | None = None
    version: int | None = None
    workflow_id: str | None = None
    tenant_id: str | None = None
    input: Any = None


async def index_execution(
    session,
    *,
    execution_id: str,
    tenant_id: str | uuid.UUID,
    workflow_id: str | uuid.UUID,
    version: int,
    trigger: str,
    input: Any,
    started_by: str,
) -> bool:
    """Insert the ``executions`` index row before the start (the API core's convention).

    Returns False when the row existed. A row that was marked failed because its start never
    reached Temporal is revived: a keyed retry may start it now.
    """
    res = await sql(
        session,
        "INSERT INTO executions (id, tenant_id, workflow_id, version, status, trigger, input, started_by) "
        "VALUES (:id, :t, :w, :v, 'running', :trigger, CAST(:input AS jsonb), :by) "
        "ON CONFLICT (id) DO UPDATE SET status = 'running', error = NULL, completed_at = NULL, updated_at = now() "
        "WHERE executions.status = 'failed' AND (starts_with(executions.error, 'could not start') "
        "OR starts_with(executions.error, 'execution not found')) "
        "RETURNING (xmax = 0) AS inserted",
        {
            "id": execution_id,
            "t": uuid.UUID(str(tenant_id)),
            "w": uuid.UUID(str(workflow_id)),
            "v": version,
            "trigger": trigger,
            "input": json.dumps(input, default=str),
            "by": started_by,
        },
    )
    row = res.first()
    return bool(row and row.inserted)


class TriggerActivities:
    def __init__(self, settings: Settings, sessionmaker: async_sessionmaker) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker

    def all(self) -> list:
        return [self.prepare_scheduled_run]

    async def _delete_orphan_schedule(self, trigger_id: str) -> None:
        """The trigger row is gone (deleted, or its creation never committed): remove its schedule."""
        from temporalio.service import RPCError

        try:
            await activity.client().get_schedule_handle(f"wfo-trigger-{trigger_id}").delete()
            activity.logger.info("deleted the schedule of missing trigger %s", trigger_id)
        except RPCError:
            pass

    @activity.defn(name="wfo.trigger.prepare_scheduled_run")
    async def prepare_scheduled_run(self, req: PrepareScheduledRun) -> PreparedRun:
        async with self.sessionmaker() as session:
            row = (
                await sql(
                    session,
                    "SELECT t.id, t.tenant_id, t.workflow_id, t.config, w.status, w.current_version, v.definition "
                    "FROM triggers t JOIN workflows w ON w.id = t.workflow_id "
                    "LEFT JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = w.current_version "
                    "WHERE t.id = :id AND t.kind = 'schedule'",
                    {"id": uuid.UUID(req.trigger_id)},
                )
            ).first()
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
                session,
                execution_id=req.execution_id,
                tenant_id=row.tenant_id,
                workflow_id=row.workflow_id,
                version=row.current_version,
                trigger="schedule",
                input=run_input,
                started_by=f"schedule:{row.id}",
            )
            await session.commit()
        return PreparedRun(
            definition=row.definition,
            version=row.current_version,
            workflow_id=str(row.workflow_id),
            tenant_id=str(row.tenant_id),
            input=run_input,
        )
