"""Turn changes of the metadata tables into outbound events, with no code in the routes that made them.

Every API replica scans ``workflows`` and ``executions`` for rows changed since its watermark
(minus an overlap, because a transaction may commit after a later one) and emits
``workflow.created|updated|deleted``, ``workflow.started|completed|failed|cancelled`` and
``execution.started|completed|failed``. Each event id is derived from the row and the change
(``execution.completed:<execution id>``), so scanning twice, or on several replicas, delivers once
(``emit_event`` derives the delivery workflow id from it and Temporal refuses the duplicate).
Only tenants with an active subscription are scanned.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import Client

from api.deps import get_temporal_client
from wfo.db import sql
from wfo.events import emit_event

log = logging.getLogger(__name__)

SCAN_INTERVAL_SECONDS = 2.0
OVERLAP = timedelta(seconds=30)
STARTUP_LOOKBACK = timedelta(minutes=10)
BATCH = 500

_FINISHED = {
    "completed": ("execution.completed", "workflow.completed"),
    "failed": ("execution.failed", "workflow.failed"),
    "timed_out": ("execution.failed", "workflow.failed"),
    "terminated": ("execution.failed", "workflow.cancelled"),
    "cancelled": (None, "workflow.cancelled"),
}


class EventBridge:
    def __init__(self, sessionmaker, client: Client, task_queue: str, *, since: datetime | None = None) -> None:
        self.sessionmaker = sessionmaker
        self.client = client
        self.task_queue = task_queue
        self.watermark = since or datetime.now(UTC) - STARTUP_LOOKBACK
        self._done: OrderedDict[str, None] = OrderedDict()

    def _remember(self, event_id: str) -> bool:
        """False when this replica already emitted it (saves a round trip; correctness is Temporal's)."""
        if event_id in self._done:
            return False
        self._done[event_id] = None
        while len(self._done) > 50_000:
            self._done.popitem(last=False)
        return True

    async def _changes(self) -> tuple[list[tuple[str, str, str, dict[str, Any]]], datetime]:
        since = self.watermark - OVERLAP
        events: list[tuple[str, str, str, dict[str, Any]]] = []  # (event_type, event_id, tenant, data)
        newest = self.watermark
        async with self.sessionmaker() as session:
            tenants = (
                await sql(
                    session,
                    "SELECT DISTINCT tenant_id FROM webhook_subscriptions WHERE active AND deleted_at IS NULL",
                )
            ).scalars().all()
            if not tenants:
                return [], datetime.now(UTC)
            wfs = (
                await sql(
                    session,
                    "SELECT id, tenant_id, name, status, current_version, created_at, updated_at, archived_at "
                    "FROM workflows WHERE tenant_id = ANY(:tenants) AND "
                    "(updated_at > :since OR created_at > :since OR archived_at > :since) "
                    "ORDER BY GREATEST(created_at, updated_at, COALESCE(archived_at, created_at)) LIMIT :batch",
                    {"tenants": list(tenants), "since": since, "batch": BATCH},
                )
            ).all()
            execs = (
                await sql(
                    session,
                    "SELECT id, tenant_id, workflow_id, version, status, trigger, error, started_at, completed_at, "
                    "updated_at FROM executions WHERE tenant_id = ANY(:tenants) AND "
                    "(started_at > :since OR completed_at > :since) "
                    "ORDER BY GREATEST(started_at, COALESCE(completed_at, started_at)) LIMIT :batch",
                    {"tenants": list(tenants), "since": since, "batch": BATCH},
                )
            ).all()
        for w in wfs:
            data = {"workflow_id": str(w.id), "name": w.name, "status": w.status, "version": w.current_version}
            tenant = str(w.tenant_id)
            if w.created_at > since:
                events.append(("workflow.created", f"workflow.created:{w.id}", tenant, data))
            if w.updated_at > since and (w.updated_at - w.created_at) > timedelta(milliseconds=500):
                if w.archived_at is None:
                    events.append(("workflow.updated", f"workflow.updated:{w.id}:{w.updated_at.isoformat()}", tenant, data))
            if w.archived_at is not None and w.archived_at > since:
                events.append(("workflow.deleted", f"workflow.deleted:{w.id}", tenant, data))
            newest = max(newest, w.updated_at, w.created_at, w.archived_at or w.created_at)
        for e in execs:
            data = {
                "execution_id": e.id,
                "workflow_id": str(e.workflow_id) if e.workflow_id else None,
                "version": e.version,
                "status": e.status,
                "trigger": e.trigger,
                "started_at": e.started_at,
                "completed_at": e.completed_at,
            }
            tenant = str(e.tenant_id)
            if e.started_at > since:
                events.append(("execution.started", f"execution.started:{e.id}", tenant, data))
                events.append(("workflow.started", f"workflow.started:{e.id}", tenant, data))
            if e.completed_at is not None and e.completed_at > since and e.status in _FINISHED:
                if e.error:
                    data = {**data, "error": e.error[:500]}
                for event_type in _FINISHED[e.status]:
                    if event_type:
                        events.append((event_type, f"{event_type}:{e.id}", tenant, data))
            newest = max(newest, e.started_at, e.completed_at or e.started_at)
        return events, newest

    async def scan_once(self) -> int:
        """Emit what changed since the last scan; returns how many events were emitted."""
        events, newest = await self._changes()
        emitted = 0
        for event_type, event_id, tenant, data in events:
            if not self._remember(event_id):
                continue
            try:
                await emit_event(event_type, data, tenant_id=tenant, client=self.client,
                                 sessionmaker=self.sessionmaker, task_queue=self.task_queue, event_id=event_id)
                emitted += 1
            except Exception:
                self._done.pop(event_id, None)  # try again next scan
                raise
        self.watermark = max(self.watermark, newest)
        return emitted


async def bridge_loop(app, interval: float = SCAN_INTERVAL_SECONDS) -> None:
    """Run the bridge for an app until cancelled (errors are logged and retried)."""
    bridge: EventBridge | None = None
    while True:
        try:
            if bridge is None:
                client = await get_temporal_client(app)
                bridge = EventBridge(app.state.sessionmaker, client, app.state.settings.temporal_task_queue)
            await bridge.scan_once()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001
            log.warning("event bridge scan failed: %s", type(exc).__name__)
        await asyncio.sleep(interval)
