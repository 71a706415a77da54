"""What Temporal knows about a task queue: who polls it and how many tasks wait (DescribeTaskQueue).

Used by `/health/detailed` (worker liveness) and by the `workflow_queue_depth` metric. Read-only; one
round trip over every partition. A poller counts as live when Temporal saw it poll within the last
`LIVE_POLLER_WINDOW_S` seconds (Temporal forgets pollers after ~5 minutes of silence).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from temporalio.api.enums.v1 import DescribeTaskQueueMode, TaskQueueType
from temporalio.api.taskqueue.v1 import PollerInfo, TaskQueue, TaskQueueStats
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.service import RPCError

log = logging.getLogger(__name__)

LIVE_POLLER_WINDOW_S = 70.0


@dataclass
class TaskQueueState:
    task_queue: str
    workflow_pollers: list[str] = field(default_factory=list)
    """Identities of workers that polled for workflow tasks recently."""
    activity_pollers: list[str] = field(default_factory=list)
    backlog: int = 0
    """Approximate number of tasks (workflow + activity) waiting for a worker."""
    backlog_age_seconds: float = 0.0
    """Age of the oldest waiting task."""

    @property
    def workers_live(self) -> bool:
        return bool(self.workflow_pollers) and bool(self.activity_pollers)

    def as_dict(self) -> dict:
        return {"task_queue": self.task_queue, "workers_live": self.workers_live,
                "workflow_pollers": self.workflow_pollers, "activity_pollers": self.activity_pollers,
                "backlog": self.backlog, "backlog_age_seconds": round(self.backlog_age_seconds, 3)}


_TYPES = ((TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, "workflow_pollers"),
          (TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY, "activity_pollers"))


async def describe_task_queue(client: Client, task_queue: str) -> TaskQueueState:
    """Pollers and backlog over every partition of the queue, workflow and activity types, in one round trip.

    Temporal splits a task queue into partitions (4 by default) and places each long poll on one of them;
    the legacy describe reports the root partition only, so a live worker whose polls sit on other
    partitions could read as absent (a false `no_worker` alert). The enhanced mode asks every partition;
    where it fails, the legacy calls answer for the root partition."""
    now = datetime.now(UTC)
    try:
        resp = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
            namespace=client.namespace, task_queue=TaskQueue(name=task_queue),
            api_mode=DescribeTaskQueueMode.DESCRIBE_TASK_QUEUE_MODE_ENHANCED, report_pollers=True,
            report_stats=True, task_queue_types=[t for t, _ in _TYPES]))
    except RPCError as err:
        # a server without the enhanced mode (INVALID_ARGUMENT, UNIMPLEMENTED), or one of the partitions
        # failing to answer (a busy dev server has answered CANCELLED): the root partition's answer beats
        # none; if that fails too, its error is raised
        log.debug("enhanced describe of %r failed (%s): root partition only", task_queue, err.status)
        return await _describe_root_partition(client, task_queue, now)
    state = TaskQueueState(task_queue=task_queue)
    for version in resp.versions_info.values():  # unversioned workers: the one version ""
        for tq_type, attr in _TYPES:
            info = version.types_info.get(int(tq_type))
            if info is not None:
                _add(state, attr, info.pollers, info.stats if info.HasField("stats") else None, now)
    return state


def _add(state: TaskQueueState, attr: str, pollers: Iterable[PollerInfo], stats: TaskQueueStats | None,
         now: datetime) -> None:
    into: list[str] = getattr(state, attr)
    for p in pollers:
        seen = p.last_access_time.ToDatetime(tzinfo=UTC) if p.HasField("last_access_time") else now
        if (now - seen).total_seconds() <= LIVE_POLLER_WINDOW_S and p.identity not in into:
            into.append(p.identity)
    if stats is not None:
        state.backlog += int(stats.approximate_backlog_count)
        state.backlog_age_seconds = max(state.backlog_age_seconds,
                                        stats.approximate_backlog_age.ToTimedelta().total_seconds())


async def _describe_root_partition(client: Client, task_queue: str, now: datetime) -> TaskQueueState:
    state = TaskQueueState(task_queue=task_queue)
    for tq_type, attr in _TYPES:
        resp = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
            namespace=client.namespace, task_queue=TaskQueue(name=task_queue), task_queue_type=tq_type,
            report_stats=True))
        _add(state, attr, resp.pollers, resp.stats if resp.HasField("stats") else None, now)
    return state
