"""The product's documented metrics, from the worker.

- `workflow_executions_total{status="completed|failed|cancelled"}` and
  `workflow_execution_duration_seconds` (histogram): counted once per top-level `Interpreter` execution
  when it closes, by a workflow interceptor (no change to the interpreter, nothing in history). Metrics
  from `workflow.metric_meter()` are not recorded while a workflow is being replayed, so a worker restart
  or a cache eviction does not count an execution twice. A continue-as-new is not a close; the duration
  is measured from the execution's first start (kept in the carried-over state).
System gauges are in `worker.system_metrics`. All are exported with the SDK's metrics on the worker's Prometheus endpoint (`WORKER_METRICS_PORT`).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.exceptions import CancelledError as TemporalCancelledError
from temporalio.worker import (
    ExecuteWorkflowInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

INTERPRETER_TYPE = "Interpreter"


def _started_at(args: Any) -> datetime | None:
    """The first start of the execution: carried in the interpreter's state across continue-as-new."""
    inp = args[0] if args else None
    state = getattr(inp, "state", None)
    try:
        started = state["context"]["execution"]["started_at"] if state else None
        return datetime.fromisoformat(started) if started else None
    except (KeyError, TypeError, ValueError):
        return None


class _Inbound(WorkflowInboundInterceptor):
    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        info = workflow.info()
        if info.workflow_type != INTERPRETER_TYPE or info.parent is not None:
            return await super().execute_workflow(input)
        started = _started_at(input.args) or info.start_time
        status = "failed"
        try:
            result = await super().execute_workflow(input)
            status = "completed"
            return result
        except workflow.ContinueAsNewError:
            status = ""
            raise
        except (asyncio.CancelledError, TemporalCancelledError):
            status = "cancelled"
            raise
        finally:
            if status:
                meter = workflow.metric_meter()
                meter.create_counter("workflow_executions_total", "closed executions by status").add(
                    1, {"status": status})
                seconds = max(0.0, (workflow.now() - started).total_seconds())
                meter.create_histogram_float("workflow_execution_duration_seconds",
                                             "execution duration, first start to close", "s").record(seconds)


class WorkflowMetricsInterceptor(Interceptor):
    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        return _Inbound

