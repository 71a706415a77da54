"""Per-request batch loaders: a list of N workflows costs one query per related field, not N.

Keys requested while the resolvers of one list run are collected and loaded in a single query on the next
event-loop turn. All loaders of a request share its one database session, so their queries are serialized
with a lock.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from sqlalchemy import func, or_
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from wfo.models import TERMINAL_EXECUTION_STATUSES, Execution, ExecutionStatus, Workflow, WorkflowVersion

BatchFn = Callable[[list[Any]], Awaitable[dict[Any, Any]]]


class Loader:
    def __init__(self, batch: BatchFn, default: Any = None):
        self._batch = batch
        self._default = default
        self._cache: dict[Hashable, asyncio.Future] = {}
        self._queue: list[Hashable] = []
        self._tasks: set[asyncio.Task] = set()
        self.batches = 0
        """How many queries this loader made (tests check it stays 1 for a list)."""

    def load(self, key: Hashable) -> asyncio.Future:
        fut = self._cache.get(key)
        if fut is not None:
            return fut
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self._cache[key] = fut
        self._queue.append(key)
        if len(self._queue) == 1:
            # two hops: let every sibling resolver of the list register its key first
            loop.call_soon(lambda: loop.call_soon(self._start_dispatch))
        return fut

    def _start_dispatch(self) -> None:
        task = asyncio.ensure_future(self._dispatch())
        self._tasks.add(task)  # keep a reference until done (the loop only holds weak ones)
        task.add_done_callback(self._tasks.discard)

    async def _dispatch(self) -> None:
        keys, self._queue = self._queue, []
        if not keys:
            return
        self.batches += 1
        try:
            found = await self._batch(keys)
        except Exception as exc:  # noqa: BLE001 - every waiter gets the failure
            for k in keys:
                if not self._cache[k].done():
                    self._cache[k].set_exception(exc)
            return
        for k in keys:
            if not self._cache[k].done():
                self._cache[k].set_result(found.get(k, self._default))


class Loaders:
    """The loaders of one request, scoped to the caller's tenant."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID, lock: asyncio.Lock):
        self.session = session
        self.tenant_id = tenant_id
        self.lock = lock
        self.workflow = Loader(self._workflows)
        self.stats = Loader(self._stats, default=(0, None))
        self.versions = Loader(self._versions, default=[])
        self.current_definition = Loader(self._current_definitions)
        self.executions = Loader(self._executions, default=[])

    async def _exec(self, stmt):
        async with self.lock:
            return (await self.session.exec(stmt)).all()

    async def _workflows(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, Workflow]:
        rows = await self._exec(select(Workflow).where(col(Workflow.id).in_(ids), Workflow.tenant_id == self.tenant_id))
        return {r.id: r for r in rows}

    async def _stats(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[int, float | None]]:
        terminal = [s.value for s in TERMINAL_EXECUTION_STATUSES]
        stmt = (
            select(
                Execution.workflow_id,
                func.count().label("n"),
                func.count().filter(col(Execution.status) == ExecutionStatus.completed.value).label("ok"),
                func.count().filter(col(Execution.status).in_(terminal)).label("finished"),
            )
            .where(Execution.tenant_id == self.tenant_id, col(Execution.workflow_id).in_(ids))
            .group_by(Execution.workflow_id)
        )
        out = {}
        for wf_id, n, ok, finished in await self._exec(stmt):
            out[wf_id] = (int(n), round(100.0 * ok / finished, 2) if finished else None)
        return out

    async def _versions(self, keys: list[tuple[uuid.UUID, int]]) -> dict[tuple[uuid.UUID, int], list[WorkflowVersion]]:
        ids = list({k[0] for k in keys})
        # versions are reached through tenant-checked workflows only
        rows = await self._exec(
            select(WorkflowVersion).where(col(WorkflowVersion.workflow_id).in_(ids))
            .order_by(WorkflowVersion.workflow_id, col(WorkflowVersion.version).desc()))
        by_wf: dict[uuid.UUID, list[WorkflowVersion]] = defaultdict(list)
        for r in rows:
            by_wf[r.workflow_id].append(r)
        return {k: by_wf[k[0]][: k[1]] for k in keys}

    async def _current_definitions(self, keys: list[tuple[uuid.UUID, int]]) -> dict[tuple[uuid.UUID, int], Any]:
        conds = [(WorkflowVersion.workflow_id == wf) & (WorkflowVersion.version == v) for wf, v in keys]
        rows = await self._exec(select(WorkflowVersion).where(or_(*conds)))
        return {(r.workflow_id, r.version): r.definition for r in rows}

    async def _executions(self, keys: list[tuple[uuid.UUID, int]]) -> dict[tuple[uuid.UUID, int], list[Execution]]:
        ids = list({k[0] for k in keys})
        limit = max(k[1] for k in keys)
        ranked = (
            select(Execution, func.row_number().over(partition_by=Execution.workflow_id,
                                                     order_by=col(Execution.started_at).desc()).label("rn"))
            .where(Execution.tenant_id == self.tenant_id, col(Execution.workflow_id).in_(ids))
            .subquery()
        )
        ex = aliased(Execution, ranked)
        rows = await self._exec(select(ex).where(ranked.c.rn <= limit).order_by(ex.workflow_id, ex.started_at.desc()))
        by_wf: dict[uuid.UUID, list[Execution]] = defaultdict(list)
        for r in rows:
            by_wf[r.workflow_id].append(r)
        return {k: by_wf[k[0]][: k[1]] for k in keys}
