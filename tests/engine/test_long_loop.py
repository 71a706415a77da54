"""A 10,000-iteration loop completes, with history kept bounded by continue-as-new."""

from __future__ import annotations

import asyncio

from tests.helpers import defn, node
from wfo.executions import start_execution
from worker.main import build_worker
from workflows.types import ExecutionOptions

N = 10_000


async def test_ten_thousand_iterations(temporal_env, settings):
    client = temporal_env.client
    d = defn(
        [node("start", "start"), node("init", "set", values={"i": 0, "sum": 0}),
         node("loop", "loop", condition=f"vars.i < {N}", max_iterations=N + 1),
         node("step", "set", values={"i": "{{ vars.i + 1 }}", "sum": "{{ vars.sum + vars.i }}"}),
         node("every100", "decision", condition="vars.i % 100 = 0"),
         node("tick", "util.noop", value="{{ vars.i }}"),
         node("end", "end", output={"i": "{{ vars.i }}", "sum": "{{ vars.sum }}",
                                    "iterations": "{{ nodes.loop.iteration }}", "last_tick": "{{ nodes.tick }}"})],
        ["start->init", "init->loop", "loop:body->step", "step->every100", "every100:true->tick",
         "every100:false->loop", "tick->loop", "loop:done->end"],
    )
    async with build_worker(client, settings):
        h = await start_execution(client, definition=d, input=None, task_queue=settings.temporal_task_queue,
                                  options=ExecutionOptions(max_history_events=150))
        out = await asyncio.wait_for(h.result(), timeout=240)
    assert out == {"i": N, "sum": N * (N - 1) // 2, "iterations": N, "last_tick": N}
    # 100 activities (~600 events) split over several runs: no run's history grows past the budget
    runs = [w async for w in client.list_workflows(f"WorkflowId = '{h.id}'")]
    assert len(runs) >= 3
    for run in runs:
        length = (await client.get_workflow_handle(h.id, run_id=run.run_id).describe()).raw_description \
            .workflow_execution_info.history_length
        assert length <= 180, length
