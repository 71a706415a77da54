"""An interpreter with a change NOT guarded by workflow.patched (used to prove the replay test bites)."""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.interpreter import InterpreterWorkflow
    from workflows.types import INTERPRETER_WORKFLOW, ExecutionInput


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
