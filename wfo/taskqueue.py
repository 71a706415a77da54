"""What Temporal knows about a task queue: who polls it and how many tasks wait (DescribeTaskQueue).

Used by `/health/detailed` (worker liveness) and by the `workflow_queue_depth` metric. Read-only; one
round trip per task-queue type. A poller counts as live when Temporal saw it poll within the last
`LIVE_POLLER_WINDOW_S` seconds (Temporal forgets pollers after ~5 minutes of silence).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

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


async def describe_task_queue(client: Client, task_queue: str) -> TaskQueueState:
    state = TaskQueueState(task_queue=task_queue)
    now = datetime.now(UTC)
    for tq_type, pollers in ((TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, state.workflow_pollers),
                             (TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY, state.activity_pollers)):
        resp = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
            namespace=client.namespace, task_queue=TaskQueue(name=task_queue), task_queue_type=tq_type,
            report_stats=True))
        for p in resp.pollers:
            seen = p.last_access_time.ToDatetime(tzinfo=UTC) if p.HasField("last_access_time") else now
            if (now - seen).total_seconds() <= LIVE_POLLER_WINDOW_S:
                pollers.append(p.identity)
        if resp.HasField("stats"):
            state.backlog += int(resp.stats.approximate_backlog_count)
            age = resp.stats.approximate_backlog_age.ToTimedelta().total_seconds()
            state.backlog_age_seconds = max(state.backlog_age_seconds, age)
    return state
