"""`describe_task_queue` sees every partition of a task queue: the pollers and the backlog on all of them.

Temporal places each long poll, and each new task, on one of a queue's partitions (4 by default). A
describe of the root partition alone showed about half of twelve pollers here, so a live worker could read as
absent (`/health/detailed`, the `no_worker` alert)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from temporalio.api.enums.v1 import TaskQueueKind
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeTaskQueueResponse,
    PollActivityTaskQueueRequest,
    PollWorkflowTaskQueueRequest,
)
from temporalio.service import RPCError, RPCStatusCode

from tests.helpers import defn, node
from wfo.executions import start_execution
from wfo.taskqueue import describe_task_queue

POLLERS = 12


async def test_pollers_on_every_partition_are_seen(temporal_env, task_queue):
    client = temporal_env.client
    tq = TaskQueue(name=task_queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL)
    polls = [asyncio.create_task(client.workflow_service.poll_workflow_task_queue(PollWorkflowTaskQueueRequest(
                 namespace=client.namespace, task_queue=tq, identity=f"wf-{n}"))) for n in range(POLLERS)]
    polls += [asyncio.create_task(client.workflow_service.poll_activity_task_queue(PollActivityTaskQueueRequest(
                  namespace=client.namespace, task_queue=tq, identity=f"act-{n}"))) for n in range(POLLERS)]
    try:
        for _ in range(50):  # the long polls reach the server
            state = await describe_task_queue(client, task_queue)
            if len(state.workflow_pollers) == len(state.activity_pollers) == POLLERS:
                break
            await asyncio.sleep(0.1)
        assert sorted(state.workflow_pollers) == sorted(f"wf-{n}" for n in range(POLLERS))
        assert sorted(state.activity_pollers) == sorted(f"act-{n}" for n in range(POLLERS))
        assert state.workers_live
    finally:
        for p in polls:
            p.cancel()
        await asyncio.gather(*polls, return_exceptions=True)


async def test_backlog_counts_the_tasks_on_every_partition(temporal_env, task_queue):
    client = temporal_env.client
    d = defn([node("start", "start"), node("end", "end")], ["start->end"])
    for i in range(8):  # nobody polls this queue: every first workflow task waits
        await start_execution(client, definition=d, input={"n": i}, task_queue=task_queue)
    for _ in range(50):
        state = await describe_task_queue(client, task_queue)
        if state.backlog == 8:
            break
        await asyncio.sleep(0.1)
    assert state.backlog == 8 and state.backlog_age_seconds > 0, state
    assert not state.workers_live and state.workflow_pollers == []


class _LegacyOnly:
    """A server whose enhanced describe fails with `status` (pure branching, no server): answers the
    per-type calls."""

    def __init__(self, status: RPCStatusCode = RPCStatusCode.INVALID_ARGUMENT) -> None:
        self.requests: list = []
        self.status = status

    async def describe_task_queue(self, req):
        self.requests.append(req)
        if req.api_mode:
            raise RPCError("enhanced describe failed", self.status, b"")
        resp = DescribeTaskQueueResponse()
        resp.pollers.add(identity=f"w-{req.task_queue_type}")
        resp.stats.approximate_backlog_count = 3
        return resp


@pytest.mark.parametrize("status", [RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.UNIMPLEMENTED,
                                    RPCStatusCode.CANCELLED])
async def test_where_the_enhanced_describe_fails_the_per_type_calls_answer(status):
    service = _LegacyOnly(status)
    state = await describe_task_queue(SimpleNamespace(namespace="default", workflow_service=service), "q")
    assert [r.api_mode for r in service.requests] == [1, 0, 0]
    assert state.workflow_pollers == ["w-1"] and state.activity_pollers == ["w-2"] and state.backlog == 6


async def test_a_server_that_does_not_answer_is_an_error():
    class Down(_LegacyOnly):
        async def describe_task_queue(self, req):
            raise RPCError("unavailable", RPCStatusCode.UNAVAILABLE, b"")
    with pytest.raises(RPCError):
        await describe_task_queue(SimpleNamespace(namespace="default", workflow_service=Down()), "q")
