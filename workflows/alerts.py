"""Alert rules: what each kind watches, how an observation is judged, and the scheduler workflow.

Pure (layer 0): the rule kinds with their parameter schemas, `judge()` (observation -> firing or not,
with an honest one-line summary), the activity/workflow names and their dataclasses, and the
`AlertsScheduler` workflow that evaluates every enabled rule of every tenant each `interval_seconds`
through one activity. The workflow is durable (one per namespace, fixed id `ALERTS_WORKFLOW_ID`), keeps
its history short with continue-as-new, and never does I/O itself.

De-duplication lives in the activity's state table: a rule notifies when it *changes* state
(ok -> firing: `alert.fired`, firing -> ok: `alert.resolved`), never again while it stays firing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

ALERTS_WORKFLOW = "AlertsScheduler"
ALERTS_WORKFLOW_ID = "wfo-alerts-scheduler"
EVALUATE_ALERTS_ACTIVITY = "alerts.evaluate"
ITERATIONS_PER_RUN = 200
"""Continue-as-new after this many evaluations (a few events each: the history stays small)."""

_DURATION = {"type": "string", "pattern": "^P", "description": "ISO-8601 duration, e.g. PT1H"}

RULE_KINDS: dict[str, dict[str, Any]] = {
    "failure_rate": {
        "title": "Failure rate over a window",
        "schema": {"type": "object", "required": ["threshold_percent"], "additionalProperties": False,
                   "properties": {
                       "threshold_percent": {"type": "number", "minimum": 0, "maximum": 100},
                       "window": {**_DURATION, "default": "PT1H"},
                       "min_executions": {"type": "integer", "minimum": 1, "default": 5},
                       "workflow_id": {"type": "string", "format": "uuid"}}},
    },
    "long_running": {
        "title": "An execution running longer than a duration",
        "schema": {"type": "object", "required": ["max_duration"], "additionalProperties": False,
                   "properties": {"max_duration": _DURATION, "workflow_id": {"type": "string", "format": "uuid"}}},
    },
    "queue_backlog": {
        "title": "Task-queue backlog over a size",
        "schema": {"type": "object", "required": ["max_backlog"], "additionalProperties": False,
                   "properties": {"max_backlog": {"type": "integer", "minimum": 0}}},
    },
    "no_worker": {
        "title": "No worker polling the task queue",
        "schema": {"type": "object", "additionalProperties": False, "properties": {}},
    },
}

CHANNELS_SCHEMA = {
    "type": "object", "additionalProperties": False,
    "properties": {"webhook": {"type": "boolean", "default": True,
                               "description": "emit alert.fired / alert.resolved to the tenant's webhooks"},
                   "emails": {"type": "array", "items": {"type": "string", "format": "email"}, "maxItems": 50}},
}


@dataclass
class Observation:
    """What the activity measured for one rule."""

    value: float
    """failure_rate: percent failed; long_running: executions over the limit; queue_backlog: tasks
    waiting; no_worker: live pollers."""
    sample: int = 0
    """failure_rate: executions closed in the window."""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Judgement:
    firing: bool
    summary: str


def judge(kind: str, params: dict[str, Any], obs: Observation) -> Judgement:
    if kind == "failure_rate":
        threshold = float(params["threshold_percent"])
        least = int(params.get("min_executions", 5))
        window = params.get("window", "PT1H")
        if obs.sample < least:
            return Judgement(False, f"{obs.sample} executions closed in {window} (fewer than {least}: not judged)")
        firing = obs.value > threshold
        return Judgement(firing, f"{obs.value:.1f}% of {obs.sample} executions failed in {window} "
                                 f"({'over' if firing else 'within'} {threshold:g}%)")
    if kind == "long_running":
        n = int(obs.value)
        return Judgement(n > 0, f"{n} execution(s) running longer than {params['max_duration']}")
    if kind == "queue_backlog":
        n = int(obs.value)
        limit = int(params["max_backlog"])
        return Judgement(n > limit, f"{n} task(s) waiting on the task queue (limit {limit})")
    if kind == "no_worker":
        n = int(obs.value)
        return Judgement(n == 0, "no worker is polling the task queue" if n == 0 else f"{n} worker(s) polling")
    raise ValueError(f"unknown alert rule kind {kind!r}")


@dataclass
class EvaluateAlertsInput:
    task_queue: str
    """The task queue whose backlog and pollers the queue rules watch."""


@dataclass
class EvaluateAlertsResult:
    evaluated: int = 0
    fired: list[str] = field(default_factory=list)
    """Rule ids that started firing in this pass."""
    resolved: list[str] = field(default_factory=list)


@dataclass
class AlertsSchedulerInput:
    task_queue: str
    interval_seconds: float = 60.0
    iterations: int = 0


@workflow.defn(name=ALERTS_WORKFLOW)
class AlertsSchedulerWorkflow:
    """Evaluates every alert rule each `interval_seconds`, forever (continue-as-new keeps it short)."""

    @workflow.run
    async def run(self, inp: AlertsSchedulerInput) -> None:
        iterations = inp.iterations
        while True:
            try:
                await workflow.execute_activity(
                    EVALUATE_ALERTS_ACTIVITY, EvaluateAlertsInput(task_queue=inp.task_queue),
                    result_type=EvaluateAlertsResult, start_to_close_timeout=timedelta(seconds=60),
                    retry_policy=RetryPolicy(maximum_attempts=3, maximum_interval=timedelta(seconds=10)))
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a failed pass is retried at the next tick, never fatal
                workflow.logger.warning("alert evaluation failed; next pass in %ss", inp.interval_seconds)
            iterations += 1
            if iterations % ITERATIONS_PER_RUN == 0 or workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(AlertsSchedulerInput(inp.task_queue, inp.interval_seconds, iterations))
            await workflow.sleep(inp.interval_seconds)
