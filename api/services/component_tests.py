"""Run one component on its own, through Temporal like any execution (the designer's "test this node").

The node is wrapped in a definition ``start -> node -> end_<port>`` (one end node per output port, each
returning its port's name, so the port taken is known without a query) and run by the Interpreter on the
worker's task queue, scoped to the caller's tenant, with trigger ``test``. The designer's sample context
(``nodes``, ``vars``) is the execution's initial engine state, so expressions read it exactly as they would
in a real run. Test runs are not indexed as executions and record no analytics.

No HTTP types here: failures are :class:`ComponentTestError` with a ``kind`` the route maps to a status.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError, FailureError

from connectors.registry import default_registry
from wfo.executions import start_execution
from workflows.components import DEFAULT_PORT, ERROR_PORT
from workflows.definition import load_definition
from workflows.engine import new_state
from workflows.graph import analyze
from workflows.types import ExecutionOptions
from workflows.validation import validate_definition

UNTESTABLE = {"start", "end", "parallel", "join", "loop", "approval"}
"""Types that mean nothing alone (graph structure) or wait for people."""
DEFAULT_NODE_ID = "node"
TEST_TRIGGER = "test"


class ComponentTestError(Exception):
    """Why a test run could not answer. ``kind``: unknown_type, invalid, timeout, unavailable."""

    def __init__(self, kind: Literal["unknown_type", "invalid", "timeout", "unavailable"], message: str,
                 problems: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.problems = problems or []


@dataclass
class ComponentTestResult:
    status: Literal["completed", "failed"]
    output: Any
    port: str | None
    error: dict[str, Any] | None
    duration_ms: float
    execution_id: str


@dataclass
class ComponentTest:
    type: str
    config: dict[str, Any] = field(default_factory=dict)
    input: Any = None
    nodes: dict[str, Any] = field(default_factory=dict)
    vars: dict[str, Any] = field(default_factory=dict)
    node_id: str = DEFAULT_NODE_ID
    timeout: str | None = None
    """The node's own activity timeout (ISO-8601 duration), as in a definition."""
    retry: dict[str, Any] | None = None
    """The node's retry policy; by default a test makes one attempt."""


def _end_id(port: str) -> str:
    return "end_" + "".join(c if c.isalnum() or c in "_-" else "_" for c in port)


def test_definition(test: ComponentTest) -> tuple[dict[str, Any], list[str]]:
    """The one-node definition and the node's output ports (without `error`: a failure fails the run)."""
    registry = default_registry()
    spec = registry.get(test.type)
    if spec is None:
        raise ComponentTestError("unknown_type", f"unknown component type '{test.type}' "
                                                 f"(known: {', '.join(registry.types())})")
    if test.type in UNTESTABLE:
        raise ComponentTestError("invalid", f"'{test.type}' nodes cannot be tested alone (they only make sense "
                                            "in a graph or wait for people); run the workflow instead")
    node: dict[str, Any] = {"id": test.node_id, "type": test.type, "config": test.config}
    if test.timeout is not None:
        node["timeout"] = test.timeout
    if spec.kind == "activity":
        node["retry"] = test.retry if test.retry is not None else {"max_attempts": 1}
    elif test.retry is not None:
        node["retry"] = test.retry  # the validator says why it does not apply
    ports = [p for p in spec.output_ports(test.config if isinstance(test.config, dict) else {}) if p != ERROR_PORT]
    nodes = [{"id": "start", "type": "start"}, node]
    edges = [{"source": "start", "target": test.node_id}]
    for port in dict.fromkeys(ports):
        end_id = _end_id(port)
        if end_id in (test.node_id, "start"):
            end_id += "_end"
        nodes.append({"id": end_id, "type": "end",
                      "config": {"output": {"port": port, "output": f"{{{{ nodes.`{test.node_id}` }}}}"}}})
        edges.append({"source": test.node_id, "source_port": port, "target": end_id})
    return {"schema_version": 1, "nodes": nodes, "edges": edges}, ports


def check(test: ComponentTest) -> dict[str, Any]:
    """The definition to run, or ComponentTestError('invalid') with problems about the node only."""
    definition, _ = test_definition(test)
    problems = [p.to_dict() for p in validate_definition(definition, default_registry())]
    # the scaffolding is valid by construction; anything left is about the node under test
    problems = [p for p in problems if p.get("node_id") in (test.node_id, None)
                and p.get("code") not in ("unreachable", "no_end")]
    if problems:
        raise ComponentTestError("invalid", f"invalid config for '{test.type}': {len(problems)} problem(s)", problems)
    return definition


def _error_of(exc: WorkflowFailureError) -> dict[str, Any]:
    cause: BaseException | None = exc.cause
    if isinstance(cause, ApplicationError):
        failure = cause.details[0] if cause.details and isinstance(cause.details[0], dict) else {}
        inner = failure.get("cause") if isinstance(failure.get("cause"), dict) else {}
        out = {"type": inner.get("type") or cause.type or "ApplicationError",
               "message": inner.get("message") or cause.message}
        if inner.get("attempts") is not None:
            out["attempts"] = inner["attempts"]
        if inner.get("details") is not None:
            out["details"] = inner["details"]
        return out
    if isinstance(cause, FailureError):
        return {"type": type(cause).__name__, "message": cause.message}
    return {"type": type(cause or exc).__name__, "message": str(cause or exc)}


async def run(client: Client, *, task_queue: str, tenant_id: str, started_by: str, test: ComponentTest,
              timeout_s: float, payload_threshold_bytes: int) -> ComponentTestResult:
    """Run the node once and wait (at most ``timeout_s``) for its outcome. A run still going at the
    deadline is terminated (nothing keeps running after the caller was told it timed out)."""
    definition = check(test)
    defn = load_definition(definition)
    execution_id = f"test-{uuid.uuid4()}"
    state = new_state(defn, test.input, {"id": execution_id, "workflow_id": None, "version": None,
                                         "started_at": datetime.now(UTC).isoformat(),
                                         "trigger": TEST_TRIGGER}, analyze(defn).start)
    state["context"]["nodes"].update(test.nodes or {})
    state["context"]["vars"].update(test.vars or {})
    started = time.perf_counter()
    try:
        handle = await start_execution(
            client, definition=definition, input=test.input, task_queue=task_queue, execution_id=execution_id,
            trigger=TEST_TRIGGER, tenant_id=tenant_id, started_by=started_by, state=state,
            options=ExecutionOptions(payload_threshold_bytes=payload_threshold_bytes,
                                     default_activity_timeout_seconds=max(1.0, timeout_s)),
            memo={"component_test": test.type})
    except Exception as exc:
        raise ComponentTestError("unavailable", f"workflow engine unavailable: {type(exc).__name__}") from exc
    try:
        result = await asyncio.wait_for(handle.result(), timeout_s)
    except TimeoutError:
        try:
            await handle.terminate("component test timed out")
        except Exception:  # noqa: BLE001 - it may have just finished
            pass
        raise ComponentTestError("timeout", f"the '{test.type}' node did not finish within {timeout_s:g} s "
                                            f"(test run {execution_id} was stopped); is a worker running?") from None
    except WorkflowFailureError as exc:
        return ComponentTestResult(status="failed", output=None, port=None, error=_error_of(exc),
                                   duration_ms=round((time.perf_counter() - started) * 1000, 1),
                                   execution_id=execution_id)
    elapsed = round((time.perf_counter() - started) * 1000, 1)
    result = result if isinstance(result, dict) else {}
    return ComponentTestResult(status="completed", output=result.get("output"),
                               port=result.get("port") or DEFAULT_PORT, error=None, duration_ms=elapsed,
                               execution_id=execution_id)
