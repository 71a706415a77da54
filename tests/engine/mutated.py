"""An interpreter with a change NOT guarded by workflow.patched (used to prove the replay test bites)."""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.interpreter import InterpreterWorkflow
    from workflows.types import CLOSE_OUTSIDE_HISTORY, INTERPRETER_WORKFLOW, ExecutionInput


@workflow.defn(name=INTERPRETER_WORKFLOW)
class ReorderedInterpreter(InterpreterWorkflow):
    """An extra timer before anything else."""

    @workflow.init
    def __init__(self, inp: ExecutionInput) -> None:
        super().__init__(inp)

    @workflow.run
    async def run(self, inp: ExecutionInput):
        await workflow.sleep(timedelta(seconds=1))
        return await super().run(inp)


@workflow.defn(name=INTERPRETER_WORKFLOW)
class LocalActivityCloseInterpreter(InterpreterWorkflow):
    """Ignores `close-outside-history`: ends a run with the node-runs local activity again."""

    @workflow.init
    def __init__(self, inp: ExecutionInput) -> None:
        super().__init__(inp)
        self._features = self._features - {CLOSE_OUTSIDE_HISTORY}

    @workflow.run
    async def run(self, inp: ExecutionInput):
        return await super().run(inp)
