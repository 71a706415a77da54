"""Dataclasses in and out of the interpreter workflow and its activities."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

INTERPRETER_WORKFLOW = "Interpreter"
PROGRESS_QUERY = "progress"
NODE_OUTPUT_QUERY = "node_output"
"""Query: one node's latest output (`{"node_id", "ran", "output"}`); read-only, so it never touches history."""
EVALUATE_ACTIVITY = "wfo.evaluate"
LOAD_DEFINITION_ACTIVITY = "wfo.load_definition"
CHECKPOINT_ACTIVITY = "wfo.checkpoint"
RECORD_NODE_RUNS_ACTIVITY = "wfo.record_node_runs"
RESUME_QUERY = "resume_data"


@dataclass
class ExecutionOptions:
    payload_threshold_bytes: int = 256 * 1024
    """Outputs larger than this (JSON bytes) are stored outside history and passed by reference."""
    max_history_events: int = 10_000
    """Continue-as-new once history grows past this (or when Temporal suggests it)."""
    inline_batch: int = 500
    """Pure steps evaluated in one workflow task before yielding with a short timer."""
    default_activity_timeout_seconds: float = 300.0


@dataclass
class ExecutionInput:
    """Everything an execution needs, so its history is self-contained and replayable."""

    definition: dict[str, Any]
    input: Any = None
    workflow_id: str | None = None
    """The stored workflow this definition is a version of (None for ad-hoc runs)."""
    version: int | None = None
    trigger: str = "manual"
    tenant_id: str | None = None
    started_by: str | None = None
    options: ExecutionOptions = field(default_factory=ExecutionOptions)
    state: dict[str, Any] | None = None
    """Interpreter state carried over by continue-as-new (None on the first run)."""
    resume: dict[str, Any] | None = None
    """A redrive: ``{"completed": {node_id: {"output": ..., "port": ...}}, "redrive_of": execution_id}``.
    Each listed node's first activation completes at once with the saved output and port (nothing runs);
    the other nodes run as usual. Only read on the first run (continue-as-new carries it in `state`)."""
    features: list[str] | None = None
    """Interpreter changes (`workflow.patched` ids) this execution was started with (`ENGINE_FEATURES`): the
    interpreter takes them as on without recording a patch marker. Each marker also upserts the
    `TemporalChangeVersion` search attribute, a visibility write per patch per execution, so every new
    execution would otherwise pay for every past change. Histories that lack the field, or a feature,
    still decide by `workflow.patched` exactly as they were recorded."""


CLOSE_OUTSIDE_HISTORY = "close-outside-history"
"""Feature (no `workflow.patched` id: only executions started with it take it): the run's node runs and its
row close are handed to the worker when the run ends (`InterpreterWorkflow.closing`, written by the worker's
`worker.closing` interceptor, outside history) instead of a `wfo.record_node_runs` local activity."""

ENGINE_FEATURES: tuple[str, ...] = ("expression-limits", "record-node-runs", "approval-close-in-background",
                                    CLOSE_OUTSIDE_HISTORY)
"""Every `workflow.patched` id of the interpreter, and the start-only features: what a new execution is started
with (`ExecutionInput.features`). Add a new patch id here when you add the patch."""


@dataclass
class NodeRunsRecord:
    """What `wfo.record_node_runs` writes at the end of a root execution: one entry per node that ran."""

    execution_id: str
    tenant_id: str
    workflow_id: str | None
    version: int | None
    status: str
    """`completed` or `failed` (the execution's outcome)."""
    started_at: str
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    """node id -> {type, status, activations, attempts, duration_ms, error, started_at, reused}."""
    output: Any = None
    """The execution's result (`completed`)."""
    error: str | None = None
    """The execution's failure message (`failed`)."""
    progress: dict[str, Any] | None = None
    """The final progress (what the progress query answers), kept on the row so reads need no worker."""
    close_row: bool = False
    """Also close the execution's index row (status, output, error, progress, completed_at) in the same
    transaction, so the API's reconciler needs no describe + history fetch per finished execution."""


@dataclass
class ComponentRequest:
    """Input of every component activity (side-effecting node) and of `wfo.evaluate`."""

    node_id: str
    node_type: str
    config: Any
    execution_id: str
    idempotency_key: str
    workflow_id: str | None = None
    tenant_id: str | None = None
    render_context: dict[str, Any] | None = None
    """When set, `config` is raw: the activity resolves stored payloads in this context and renders it."""
    skip_fields: list[str] = field(default_factory=list)
    payload_threshold_bytes: int = 256 * 1024
    now_millis: int = 0
    seed: int = 0
    secret_paths: list[list[str | int]] = field(default_factory=list)
    """Config paths holding literal `secret://NAME` references of the stored definition
    (`workflows.secret_refs`): the only places the activity resolves secrets."""


@dataclass
class ComponentResult:
    output: Any = None
    port: str | None = None
    attempt: int = 1


@dataclass
class LoadDefinitionRequest:
    workflow_id: str
    version: int | None = None
    tenant_id: str | None = None


@dataclass
class LoadDefinitionResult:
    definition: dict[str, Any]
    version: int


DECIDE_UPDATE = "approval.decide"
APPROVALS_QUERY = "approvals"
TASK_OPEN_ACTIVITY = "wfo.task_open"
TASK_UPDATE_ACTIVITY = "wfo.task_update"
TASK_CLOSE_ACTIVITY = "wfo.task_close"
TASK_NOTIFY_ACTIVITY = "wfo.task_notify"


@dataclass
class Decision:
    """A person's decision on an approval task, sent as the `approval.decide` update."""

    task_id: str
    decision: str
    """`approved` or `rejected`."""
    user_id: str | None = None
    user_email: str | None = None
    roles: list[str] = field(default_factory=list)
    comment: str | None = None
    data: dict[str, Any] | None = None
    idempotency_key: str | None = None
    """Repeating a request with the same key returns the first result instead of voting twice."""
    via: str = "api"


@dataclass
class TaskRecord:
    """An approval task as the worker writes it to Postgres (the inbox); Temporal stays the truth."""

    task_id: str
    execution_id: str
    node_id: str
    title: str
    status: str = "pending"
    description: str | None = None
    workflow_id: str | None = None
    tenant_id: str | None = None
    assignee_users: list[str] = field(default_factory=list)
    assignee_roles: list[str] = field(default_factory=list)
    required_approvals: int = 1
    form: dict[str, Any] | None = None
    due_at: str | None = None
    escalated: bool = False
    started_by: str | None = None
    decision: str | None = None
    votes: list[dict[str, Any]] = field(default_factory=list)
    completed_at: str | None = None
    notify_email: bool = False
    """Email each assignee signed approve/reject links (users by address, roles through the tenant's users)."""
    link_hours: float = 72.0
