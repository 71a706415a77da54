"""A hand-written Temporal workflow running N util.noop activities in a row (the benchmark's baseline)."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.types import ComponentRequest, ComponentResult


@workflow.defn(name="HandWrittenChain")
class HandWrittenChain:
    @workflow.run
    async def run(self, n: int) -> int:
        value = 0
        for i in range(n):
            res: ComponentResult = await workflow.execute_activity(
                "util.noop",
                ComponentRequest(node_id=f"n{i}", node_type="util.noop", config={"value": value + 1},
                                 execution_id=workflow.info().workflow_id,
                                 idempotency_key=f"{workflow.info().workflow_id}:n{i}"),
                result_type=ComponentResult, start_to_close_timeout=timedelta(seconds=300),
                retry_policy=RetryPolicy(maximum_attempts=3), activity_id=f"n{i}",
            )
            value = res.output
        return value
