"""`temporal.workflow` in `start` mode: start any workflow type, fire-and-forget, with the worker's client.

(`child` mode needs no activity: the interpreter starts a child workflow, workflows/interpreter.py.)
The workflow id is fixed by the interpreter (default `<execution>/<node>/<activation>`), so a retried
activity never starts a second workflow: an id already started answers with that workflow's run.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from connectors.base import ComponentError, NodeContext
from workflows.components import TEMPORAL_WORKFLOW_SPEC


class TemporalWorkflowStart:
    """Runs as the activity `temporal.workflow`; its spec is the built-in control spec (not registered twice)."""

    spec: ClassVar = TEMPORAL_WORKFLOW_SPEC

    def __init__(self, client: Client | None = None):
        self._client = client

    async def run(self, config: dict[str, Any], ctx: NodeContext) -> Any:
        client = self._client or activity.client()
        queue = config.get("task_queue") or activity.info().task_queue
        timeout = config.get("execution_timeout_seconds")
        try:
            handle = await client.start_workflow(
                config["workflow_type"], args=list(config.get("args") or []), id=config["workflow_id"],
                task_queue=queue, execution_timeout=timedelta(seconds=timeout) if timeout else None,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        except WorkflowAlreadyStartedError:
            # started by an earlier attempt of this very activity (or an id given twice): report that run
            desc = await client.get_workflow_handle(config["workflow_id"]).describe()
            if desc.workflow_type == config["workflow_type"]:
                return {"workflow_id": desc.id, "run_id": desc.run_id}
            raise ComponentError(f"a workflow with id '{config['workflow_id']}' already exists "
                                 f"(type {desc.workflow_type})", retryable=False, type="WorkflowAlreadyStarted")
        return {"workflow_id": handle.id, "run_id": handle.result_run_id}
