"""A test workflow publishing an event twice with one event id (must deliver once)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.delivery import EmitEventRequest


@workflow.defn(name="EmitTwice")
class EmitTwiceWorkflow:
    @workflow.run
    async def run(self, tenant_id: str) -> list[str]:
        wid = workflow.info().workflow_id
        req = EmitEventRequest("execution.completed", tenant_id, {"execution_id": wid}, f"execution.completed:{wid}")
        first = await workflow.execute_local_activity(
            "wfo.events.emit", req, result_type=list[str], start_to_close_timeout=timedelta(seconds=30)
        )
        again = await workflow.execute_local_activity(
            "wfo.events.emit", req, result_type=list[str], start_to_close_timeout=timedelta(seconds=30)
        )
        if first != again:
            raise RuntimeError("emit is not idempotent")
        return first
