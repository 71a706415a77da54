"""Approval task activities: keep the Postgres inbox in step with the interpreter (the source of truth)."""

from __future__ import annotations

import logging

from temporalio import activity

from activities.services import Services
from connectors.base import ComponentError, NodeContext
from connectors.email import EmailSend
from wfo.approval_links import link_path, make_token
from wfo.events import emit_event
from workflows.types import (
    TASK_CLOSE_ACTIVITY,
    TASK_NOTIFY_ACTIVITY,
    TASK_OPEN_ACTIVITY,
    TASK_UPDATE_ACTIVITY,
    TaskRecord,
)

log = logging.getLogger(__name__)

_EVENTS = {TASK_OPEN_ACTIVITY: "task.created", TASK_CLOSE_ACTIVITY: None}


class TaskActivities:
    def __init__(self, services: Services):
        self.services = services

    async def _write(self, t: TaskRecord) -> None:
        await self.services.worker_db.upsert_task(t)

    async def _emit(self, event: str, t: TaskRecord) -> None:
        """Best effort: subscribers hear about the task (delivery itself is durable once started)."""
        if not t.tenant_id:
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

    async def _recipients(self, t: TaskRecord) -> dict[str, list[str]]:
        """Email address -> roles, for the task's user assignees and the tenant's active users holding its roles."""
        out: dict[str, list[str]] = {u: [] for u in t.assignee_users if "@" in u}
        if t.assignee_roles and t.tenant_id:
            for email, role in await self.services.worker_db.users_with_roles(t.tenant_id, list(t.assignee_roles)):
                out.setdefault(email, []).append(role)
        return out

    @activity.defn(name=TASK_NOTIFY_ACTIVITY)
    async def notify(self, t: TaskRecord) -> int:
        """Email each assignee not notified yet their own signed approve/reject links. Returns mails sent."""
        settings = self.services.settings
        done = await self.services.worker_db.notified(t.task_id)
        sent = 0
        ttl = int(t.link_hours * 3600)
        base = settings.public_base_url.rstrip("/")
        for email, roles in (await self._recipients(t)).items():
            if email in done:
                continue
            links = {d: base + link_path(t.task_id, make_token(settings, t.task_id, email, d, ttl_seconds=ttl,
                                                               roles=roles))
                     for d in ("approved", "rejected")}
            text = (f"{t.title}\n\n{t.description or ''}\n\n"
                    f"Approve: {links['approved']}\nReject:  {links['rejected']}\n\n"
                    f"These links are yours alone, work once and expire in {t.link_hours:g} hours. "
                    "You can also decide in the task inbox.")
            try:
                await EmailSend().run(
                    {"to": [email], "subject": f"Approval needed: {t.title}", "text": text},
                    NodeContext(execution_id=t.execution_id, node_id=t.node_id, attempt=activity.info().attempt,
                                idempotency_key=f"{t.task_id}:notify:{email}", tenant_id=t.tenant_id,
                                workflow_id=t.workflow_id, services=self.services))
            except ComponentError as err:
                if err.retryable:
                    raise  # the SMTP server is down or busy: Temporal retries, already-mailed people are skipped
                log.warning("approval task %s: not emailing %s: %s", t.task_id, email, err.message)
                continue
            await self.services.worker_db.record_notified(t.task_id, email)
            sent += 1
        return sent

    @activity.defn(name=TASK_CLOSE_ACTIVITY)
    async def close(self, t: TaskRecord) -> None:
        await self._write(t)
        await self._emit("task.completed" if t.status in ("approved", "rejected") else "task.failed", t)

    def all(self) -> list:
        return [self.open, self.update, self.close, self.notify]
