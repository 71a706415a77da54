"""Starting executions and reading their progress: the API's and the CLI's way into the engine."""

from __future__ import annotations

import secrets
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)

from wfo.settings import get_settings
from wfo.stores.payloads import offload_if_large
from workflows.search_attributes import SA_TENANT, SA_TRIGGER, SA_VERSION, SA_WORKFLOW_ID
from workflows.types import INTERPRETER_WORKFLOW, PROGRESS_QUERY, ExecutionInput, ExecutionOptions


def default_options() -> ExecutionOptions:
    """Execution options from the process's settings (PAYLOAD_THRESHOLD_BYTES...)."""
    return ExecutionOptions(payload_threshold_bytes=get_settings().payload_threshold_bytes)


def new_execution_id() -> str:
    return f"exec-{secrets.token_hex(16)}"


async def start_execution(
    client: Client,
    *,
    definition: dict[str, Any],
    input: Any,
    task_queue: str,
    execution_id: str | None = None,
    workflow_id: str | None = None,
    version: int | None = None,
    trigger: str = "manual",
    tenant_id: str | None = None,
    started_by: str | None = None,
    options: ExecutionOptions | None = None,
    id_conflict_policy: WorkflowIDConflictPolicy = WorkflowIDConflictPolicy.FAIL,
    id_reuse_policy: WorkflowIDReusePolicy = WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    payload_store: Any = None,
) -> WorkflowHandle:
    """Start the interpreter on `definition`. The definition travels in the input (self-contained history).
    With a `payload_store`, an input larger than the payload threshold is stored there and passed by reference."""
    options = options or default_options()
    execution_id = execution_id or new_execution_id()
    if payload_store is not None:
        input = await offload_if_large(input, payload_store, options.payload_threshold_bytes,
                                       tenant_id and str(tenant_id), execution_id)
    pairs = [SearchAttributePair(SA_TRIGGER, trigger)]
    if workflow_id is not None:
        pairs.append(SearchAttributePair(SA_WORKFLOW_ID, str(workflow_id)))
    if version is not None:
        pairs.append(SearchAttributePair(SA_VERSION, int(version)))
    if tenant_id is not None:
        pairs.append(SearchAttributePair(SA_TENANT, str(tenant_id)))
    return await client.start_workflow(
        INTERPRETER_WORKFLOW,
        ExecutionInput(definition=definition, input=input, workflow_id=workflow_id and str(workflow_id),
                       version=version, trigger=trigger, tenant_id=tenant_id and str(tenant_id),
                       started_by=started_by, options=options),
        id=execution_id,
        task_queue=task_queue,
        search_attributes=TypedSearchAttributes(pairs),
        id_conflict_policy=id_conflict_policy,
        id_reuse_policy=id_reuse_policy,
        static_summary=f"{trigger} run of workflow {workflow_id or '(ad hoc)'}"
        + (f" v{version}" if version is not None else ""),
    )


async def get_progress(handle: WorkflowHandle) -> dict[str, Any]:
    """Per-node status, attempts, timings and recent events of a running or finished execution."""
    return await handle.query(PROGRESS_QUERY)
