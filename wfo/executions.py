"""Starting executions and reading their progress: the one way into the engine (API, hooks, batch, CLI).

One execution-id scheme, derived here (and for schedule fires in ``workflows.trigger_schedule``):

- ``exec-<uuid4>``: a run started by a person or a client (REST/GraphQL execute, batch, retry, CLI, an
  inbound webhook without a delivery id);
- ``hook-<trigger id>-<sha256(trigger, delivery id)[:32]>``: an inbound webhook delivery with an
  ``Idempotency-Key`` (or provider delivery header), so a repeated delivery is the same execution;
- ``<schedule fire workflow id>-exec``: a schedule fire's interpreter child (``scheduled_execution_id``).

One use case starts an indexed execution (``start_indexed``): write the ``executions`` row, start the
interpreter, mark the row ``failure=start_failed`` when the start does not reach Temporal. The schedule
path does the same from inside its workflow (index activity + child workflow) with the same id scheme
and the same search attributes (``workflows.search_attributes.execution_search_attributes``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from datetime import timedelta
from typing import Any, NamedTuple

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from wfo.errors import Unavailable
from wfo.models import utcnow
from wfo.settings import get_settings
from wfo.stores.executions import index_execution, mark_never_started, revive_not_found
from wfo.stores.payloads import offload_if_large
from workflows.search_attributes import execution_search_attributes
from workflows.trigger_schedule import scheduled_execution_id
from workflows.types import ENGINE_FEATURES, INTERPRETER_WORKFLOW, PROGRESS_QUERY, ExecutionInput, ExecutionOptions


def default_options() -> ExecutionOptions:
    """Execution options from the process's settings (PAYLOAD_THRESHOLD_BYTES...)."""
    return ExecutionOptions(payload_threshold_bytes=get_settings().payload_threshold_bytes)


def new_execution_id() -> str:
    """An unkeyed run's execution id (also its Temporal workflow id)."""
    return f"exec-{uuid.uuid4()}"


def keyed_execution_id(trigger_id: str, key: str) -> str:
    """The execution id of an inbound webhook delivery with delivery id ``key`` (stable, opaque)."""
    digest = hashlib.sha256(f"{trigger_id}\x00{key}".encode()).hexdigest()[:32]
    return f"hook-{trigger_id}-{digest}"


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
    state: dict[str, Any] | None = None,
    resume: dict[str, Any] | None = None,
    memo: dict[str, Any] | None = None,
    eager: bool = False,
) -> WorkflowHandle:
    """Start the interpreter on `definition`. The definition travels in the input (self-contained history).
    With a `payload_store`, an input larger than the payload threshold is stored there and passed by reference.
    `eager`: ask for the first workflow task in the start's answer, for a worker sharing `client` (the API's
    embedded worker); without one, or when the server declines, the start is as usual."""
    options = options or default_options()
    execution_id = execution_id or new_execution_id()
    if payload_store is not None:
        input = await offload_if_large(input, payload_store, options.payload_threshold_bytes,
                                       tenant_id and str(tenant_id), execution_id)
    return await client.start_workflow(
        INTERPRETER_WORKFLOW,
        ExecutionInput(definition=definition, input=input, workflow_id=workflow_id and str(workflow_id),
                       version=version, trigger=trigger, tenant_id=tenant_id and str(tenant_id),
                       started_by=started_by, options=options, state=state, resume=resume,
                       features=list(ENGINE_FEATURES)),
        id=execution_id,
        task_queue=task_queue,
        search_attributes=execution_search_attributes(trigger, workflow_id, version, tenant_id),
        id_conflict_policy=id_conflict_policy,
        id_reuse_policy=id_reuse_policy,
        memo=memo,
        static_summary=f"{trigger} run of workflow {workflow_id or '(ad hoc)'}"
        + (f" v{version}" if version is not None else ""),
        request_eager_start=eager,
    )


log = logging.getLogger("wfo.executions")

START_GRACE = timedelta(seconds=60)
"""A row whose workflow Temporal does not know after this long is marked ``failure=not_found``."""

__all__ = ["START_GRACE", "Started", "keyed_execution_id", "new_execution_id", "scheduled_execution_id", "start_execution",
           "start_indexed", "get_progress"]


class Started(NamedTuple):
    """What `start_indexed` did."""

    execution_id: str
    duplicate: bool
    """The row (a keyed delivery) already existed, or its workflow had already started."""
    eager: bool = False
    """The first workflow task came back with the start's answer, for this process's worker (`eager`)."""


async def start_indexed(
    db: Any,
    client: Client,
    *,
    definition: dict[str, Any],
    input: Any,
    task_queue: str,
    workflow_id: str | uuid.UUID,
    version: int,
    tenant_id: str | uuid.UUID,
    trigger: str,
    started_by: str,
    payload_threshold_bytes: int,
    execution_id: str | None = None,
    keyed: bool = False,
    index_input: Any = None,
    timeout: float | None = None,
    resume: dict[str, Any] | None = None,
    redrive_of: str | None = None,
    timings: dict[str, float] | None = None,
    payload_store: Any = None,
    eager: bool = False,
) -> Started:
    """THE "start an execution" use case: index the row, then start the interpreter.

    Returns ``Started(execution_id, duplicate, eager)``; ``duplicate`` is True when the row (a keyed delivery)
    already existed or its workflow had already started. A ``keyed`` start reuses a running workflow with the
    same id and never starts a finished one again. When the start does not reach Temporal (unreachable,
    ``timeout``), the row is marked failed with ``failure=start_failed`` (so a keyed retry revives it)
    and ``Unavailable`` is raised: nothing was accepted. ``index_input`` is the copy stored in the row
    (default: ``input``); ``payload_store`` takes an input over the payload threshold (passed by
    reference). ``resume``/``redrive_of``: a redrive (reused node outputs; the execution it
    re-runs, kept in the row and the Temporal memo). ``timings``, when given, gets the milliseconds spent
    in ``index`` (row and commit) and ``start`` (the start call). ``eager``: see ``start_execution``.
    """
    execution_id = execution_id or new_execution_id()
    started = utcnow()
    t0 = time.perf_counter()
    inserted = await index_execution(db, execution_id=execution_id, tenant_id=tenant_id,
                                     workflow_id=workflow_id, version=version, trigger=trigger,
                                     input=input if index_input is None else index_input, started_by=started_by,
                                     redrive_of=redrive_of)
    t1 = time.perf_counter()
    duplicate = not inserted
    start = start_execution(
        client, definition=definition, input=input, task_queue=task_queue, execution_id=execution_id,
        workflow_id=str(workflow_id), version=version, trigger=trigger, tenant_id=str(tenant_id),
        started_by=started_by, payload_store=payload_store,
        options=ExecutionOptions(payload_threshold_bytes=payload_threshold_bytes),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING if keyed else WorkflowIDConflictPolicy.FAIL,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE if keyed else WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        resume=resume, memo={"redrive_of": redrive_of} if redrive_of else None, eager=eager,
    )
    eagerly = False
    try:
        handle = await (asyncio.wait_for(start, timeout) if timeout else start)
        # (the SDK marks a handle whose start carried the first workflow task back)
        eagerly = bool(getattr(handle, "__temporal_eagerly_started", False))
        if timings is not None:
            timings.update(index=(t1 - t0) * 1000, start=(time.perf_counter() - t1) * 1000)
    except WorkflowAlreadyStartedError:
        duplicate = True  # a keyed delivery whose execution already finished
    except Exception as exc:
        log.warning("starting execution %s failed: %s", execution_id, type(exc).__name__)
        await mark_never_started(db, execution_id, f"could not start: {type(exc).__name__}")
        raise Unavailable("workflow engine unavailable; execution not started") from exc
    if utcnow() - started > START_GRACE / 2:
        # a very slow start may have been taken for a crash by the reconciler: revive the row
        await revive_not_found(db, execution_id)
    return Started(execution_id, duplicate, eagerly)


async def get_progress(handle: WorkflowHandle) -> dict[str, Any]:
    """Per-node status, attempts, timings and recent events of a running or finished execution."""
    return await handle.query(PROGRESS_QUERY)
