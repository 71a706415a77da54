"""Approval task activities: keep the Postgres inbox in step with the interpreter (the source of truth)."""

from __future__ import annotations

import json
import logging
from datetime import datetime

from temporalio import activity

from activities.services import Services
from workflows.types import TASK_CLOSE_ACTIVITY, TASK_OPEN_ACTIVITY, TASK_UPDATE_ACTIVITY, TaskRecord

log = logging.getLogger(__name__)

_UPSERT = """
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

_EVENTS = {TASK_OPEN_ACTIVITY: "task.created", TASK_CLOSE_ACTIVITY: None}


def _ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class TaskActivities:
    def __init__(self, services: Services):
        self.services = services

    async def _write(self, t: TaskRecord) -> None:
        pool = await self.services.db_pool()
        await pool.execute(
            _UPSERT, t.task_id, t.tenant_id, t.execution_id, t.workflow_id, t.node_id, t.title, t.description,
            t.status, json.dumps(t.assignee_users), json.dumps(t.assignee_roles), t.required_approvals,
            json.dumps(t.form) if t.form is not None else None, _ts(t.due_at), t.escalated, t.started_by,
            t.decision, json.dumps(t.votes, default=str), _ts(t.completed_at),
        )

    async def _emit(self, event: str, t: TaskRecord) -> None:
        """Best effort: subscribers hear about the task (delivery itself is durable once started)."""
        if not t.tenant_id:
            return
        try:
            from api.events.emit import emit_event
        except ImportError:
            return
        try:
            await emit_event(
                event, {"task_id": t.task_id, "execution_id": t.execution_id, "workflow_id": t.workflow_id,
                        "node_id": t.node_id, "title": t.title, "status": t.status, "decision": t.decision},
                tenant_id=t.tenant_id, client=activity.client(), sessionmaker=self.services.sessionmaker(),
                task_queue=activity.info().task_queue, event_id=f"{event}:{t.task_id}",
            )
        except Exception as err:  # noqa: BLE001 - never fail the task write for a notification
            log.warning("could not emit %s for task %s: %s", event, t.task_id, err)

    @activity.defn(name=TASK_OPEN_ACTIVITY)
    async def open(self, t: TaskRecord) -> None:
        await self._write(t)
        await self._emit("task.created", t)

    @activity.defn(name=TASK_UPDATE_ACTIVITY)
    async def update(self, t: TaskRecord) -> None:
        await self._write(t)

    @activity.defn(name=TASK_CLOSE_ACTIVITY)
    async def close(self, t: TaskRecord) -> None:
        await self._write(t)
        await self._emit("task.completed" if t.status in ("approved", "rejected") else "task.failed", t)

    def all(self) -> list:
        return [self.open, self.update, self.close]
