"""In-process answers for sync webhooks: the execution's outcome handed straight to the request waiting for it.

When the API process runs an embedded workflow worker (``API_EMBEDDED_WORKER``), a sync webhook starts its
execution eagerly: Temporal hands the first workflow task to this process's worker in the start call's
answer, so a short flow runs, and closes its index row (the node-runs local activity), in this process. That
local activity calls ``Replies.deliver``; the request that ``expect``-ed the execution gets the outcome
without a history long poll (which costs the Temporal server about as much as the start itself).

Invariants:
- only an expected execution is delivered (nothing is kept for executions nobody waits for), and a future
  is resolved once;
- delivery is a shortcut, never the only way: a waiter that hears nothing (the run moved to another worker,
  the local activity failed, the run was cancelled) falls back to Temporal's result (``api.routes.hooks``);
- the outcome is the closing local activity's: the run's result or failure message, as the row stores it;
  the local activity runs just before the run completes in Temporal, so the answer can leave a moment
  before Temporal records the completion (a worker crash in between replays the run: the same result for
  a run whose inputs are in its history).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from workflows.types import NodeRunsRecord


@dataclass(frozen=True)
class Outcome:
    """How an execution ended: ``status`` completed | failed, with its ``output`` or ``error``."""

    status: str
    output: Any = None
    error: str | None = None

    @classmethod
    def of(cls, record: NodeRunsRecord) -> Outcome:
        """The outcome a run's closing record (``close_row``) carries."""
        return cls(status=record.status, output=record.output, error=record.error)


class Replies:
    """Futures of the executions this process's requests wait for, keyed by execution id."""

    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[Outcome]] = {}
        self.delivered = 0
        """Outcomes handed to a waiting request so far (each one a history long poll saved)."""

    def expect(self, execution_id: str) -> asyncio.Future[Outcome]:
        """A future for the outcome of `execution_id` (call before starting it; `discard` when done)."""
        fut = self._waiting.get(execution_id)
        if fut is None or fut.done():
            fut = self._waiting[execution_id] = asyncio.get_running_loop().create_future()
        return fut

    def deliver(self, execution_id: str, outcome: Outcome) -> bool:
        """Resolve the waiter of `execution_id`, if any (True when one was waiting)."""
        fut = self._waiting.pop(execution_id, None)
        if fut is None or fut.done():
            return False
        fut.set_result(outcome)
        self.delivered += 1
        return True

    def discard(self, execution_id: str) -> None:
        fut = self._waiting.pop(execution_id, None)
        if fut is not None and not fut.done():
            fut.cancel()

    def __len__(self) -> int:
        return len(self._waiting)
