"""``ScheduledTrigger``: the action of a trigger's Temporal Schedule, and its contracts.

Each fire resolves the workflow's *current* active version (a schedule keeps working across
edits, and skips while the workflow is not active), indexes the execution, and runs the
interpreter as a child workflow. Waiting for the child keeps the schedule's overlap policy
meaningful (skip / buffer / cancel_other apply to whole executions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ChildWorkflowError

from workflows.search_attributes import execution_search_attributes
from workflows.types import INTERPRETER_WORKFLOW, ExecutionInput

WORKFLOW_NAME = "ScheduledTrigger"
PREPARE_SCHEDULED_RUN_ACTIVITY = "wfo.trigger.prepare_scheduled_run"


@dataclass
class PrepareScheduledRun:
    trigger_id: str
    execution_id: str
    fired_at: str


@dataclass
class PreparedRun:
    skip_reason: str | None = None
    definition: dict[str, Any] | None = None
    version: int | None = None
    workflow_id: str | None = None
    tenant_id: str | None = None
    input: Any = None


@dataclass
class ScheduledRunInput:
    trigger_id: str


@dataclass
class ScheduledRunResult:
    execution_id: str | None
    status: str
    """started | completed | failed | skipped"""
    detail: str | None = None


def schedule_id_for(trigger_id: str) -> str:
    return f"wfo-trigger-{trigger_id}"


def scheduled_execution_id(fire_workflow_id: str) -> str:
    """The interpreter child's execution id for one schedule fire (part of ``wfo.executions``' scheme)."""
    return f"{fire_workflow_id}-exec"


@workflow.defn(name=WORKFLOW_NAME)
class ScheduledTriggerWorkflow:
    @workflow.run
    async def run(self, inp: ScheduledRunInput) -> ScheduledRunResult:
        info = workflow.info()
        execution_id = scheduled_execution_id(info.workflow_id)
        prepared: PreparedRun = await workflow.execute_activity(
            PREPARE_SCHEDULED_RUN_ACTIVITY,
            PrepareScheduledRun(inp.trigger_id, execution_id, workflow.now().isoformat()),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30), maximum_attempts=20),
            result_type=PreparedRun,
        )
        if prepared.skip_reason:
            workflow.logger.info("scheduled run skipped: %s", prepared.skip_reason)
            return ScheduledRunResult(None, "skipped", prepared.skip_reason)
        try:
            await workflow.execute_child_workflow(
                INTERPRETER_WORKFLOW,
                ExecutionInput(
                    definition=prepared.definition or {},
                    input=prepared.input,
                    workflow_id=prepared.workflow_id,
                    version=prepared.version,
                    trigger="schedule",
                    tenant_id=prepared.tenant_id,
                    started_by=f"schedule:{inp.trigger_id}",
                ),
                id=execution_id,
                search_attributes=execution_search_attributes(
                    "schedule", prepared.workflow_id, prepared.version, prepared.tenant_id, fill=True),
                static_summary=f"schedule run of workflow {prepared.workflow_id} v{prepared.version}",
            )
        except ChildWorkflowError as err:
            return ScheduledRunResult(execution_id, "failed", str(err.cause or err))
        return ScheduledRunResult(execution_id, "completed")
