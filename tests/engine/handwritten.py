"""Hand-written Temporal workflows that designed workflows start through `temporal.workflow`."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError


@workflow.defn(name="Greet")
class GreetWorkflow:
    @workflow.run
    async def run(self, name: str, punctuation: str = "!") -> dict:
        return {"greeting": f"Hello, {name}{punctuation}", "parent": (workflow.info().parent or None) and
                workflow.info().parent.workflow_id}


@workflow.defn(name="OutOfStock")
class OutOfStockWorkflow:
    @workflow.run
    async def run(self, sku: str) -> dict:
        raise ApplicationError(f"no stock for {sku}", {"sku": sku}, type="OutOfStock", non_retryable=True)


@workflow.defn(name="SlowReport")
class SlowReportWorkflow:
    @workflow.run
    async def run(self, report: dict) -> dict:
        await asyncio.sleep(timedelta(seconds=2).total_seconds())
        return {"report": report["name"], "done": True, "parent": (workflow.info().parent or None) and
                workflow.info().parent.workflow_id}
