"""`WORKER_SANDBOXED=false` (`wfo worker --unsandboxed`): the same interpreter without Temporal's sandbox.
An approval flow decided on an unsandboxed worker replays unchanged under the sandboxed runner (and the
other way round), so a fleet can switch either way without breaking running executions."""

from __future__ import annotations

from temporalio.worker import Replayer, UnsandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from tests.engine.test_approvals import approval_flow, decide, open_task
from wfo.executions import start_execution
from worker.main import WORKFLOWS, build_worker, workflow_runner
from workflows.interpreter import InterpreterWorkflow


async def test_unsandboxed_worker_runs_and_replays_sandboxed(temporal_env, settings):
    assert isinstance(workflow_runner(), SandboxedWorkflowRunner)
    assert isinstance(workflow_runner(False), UnsandboxedWorkflowRunner)
    client = temporal_env.client
    unsandboxed = settings.model_copy(update={"worker_sandboxed": False})
    worker = build_worker(client, unsandboxed)
    assert isinstance(worker._workflow_worker._workflow_runner, UnsandboxedWorkflowRunner)
    async with worker:
        h = await start_execution(client, definition=approval_flow(), input={"invoice": "INV-1", "amount": 5},
                                  task_queue=settings.temporal_task_queue)
        task = await open_task(h)
        assert (await decide(h, task["task_id"], "bob@x.io"))["status"] == "approved"
        out = await h.result()
    assert out["result"] == "approved" and out["task"]["decided_by"] == "bob@x.io"
    history = await h.fetch_history()
    for runner in (workflow_runner(), workflow_runner(False)):
        await Replayer(workflows=list(WORKFLOWS), workflow_runner=runner).replay_workflow(history)
    assert InterpreterWorkflow in WORKFLOWS
