"""Issue 10 item 3: abusive expressions fail their node fast and the API in the same process stays responsive.

The API app and the worker run in this one process, as in `wfo dev`: before the limits, `$sum([1..1000000])`
wedged the workflow task past Temporal's deadlock detector (retried forever) and string doubling built a
2 GiB string while `/health` stalled for seconds.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError

from tests.helpers import defn, node
from wfo.executions import start_execution

ABUSE = {
    "sum of a million": "$sum([1..1000000])",
    "string doubling": '($s := function($x, $n){ $n = 0 ? $x : $s($x & $x, $n - 1) }; $length($s("ab", 30)))',
    "pad": '$pad("x", 1000000000)',
    "nested references": '($a := [1..1000]; $b := [$a,$a,$a,$a,$a,$a,$a,$a]; $c := [$b,$b,$b,$b,$b,$b,$b,$b];'
                         ' $d := [$c,$c,$c,$c,$c,$c,$c,$c]; $string([$d,$d,$d,$d,$d,$d,$d,$d]))',
}


def _abuse_definition(expression: str) -> dict:
    return defn([node("start", "start"), node("t", "transform", expression=expression),
                 node("end", "end", output="{{ nodes.t }}")], ["start->t", "t->end"])


async def _health_latencies(http, stop: asyncio.Event) -> list[float]:
    out: list[float] = []
    while not stop.is_set():
        t = time.perf_counter()
        r = await http.get("/health")
        out.append(time.perf_counter() - t)
        assert r.status_code == 200
        await asyncio.sleep(0.01)
    return out


async def test_abusive_expressions_fail_fast_and_api_stays_responsive(http, worker, temporal_env, api_settings):
    client = temporal_env.client
    stop = asyncio.Event()
    probe = asyncio.create_task(_health_latencies(http, stop))
    await asyncio.sleep(0.2)
    started = time.perf_counter()
    handles = {name: await start_execution(client, definition=_abuse_definition(expr), input=None,
                                           task_queue=api_settings.temporal_task_queue)
               for name, expr in ABUSE.items()}
    failures = {}
    for name, handle in handles.items():
        with pytest.raises(WorkflowFailureError) as info:
            await asyncio.wait_for(handle.result(), timeout=30)
        failures[name] = info.value.cause
    elapsed = time.perf_counter() - started
    await asyncio.sleep(0.3)
    stop.set()
    latencies = sorted(await probe)

    for name, cause in failures.items():
        assert cause.type == "ExpressionError", (name, cause.type, cause.message)
        assert "limit" in cause.message or "budget" in cause.message, (name, cause.message)
        assert "node 't'" in cause.message, cause.message
    assert elapsed < 20, elapsed
    # no workflow task failed (deadlock detector) or was retried: each node failed on its first evaluation
    for name, handle in handles.items():
        kinds = [ev.event_type async for ev in handle.fetch_history_events()]
        assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in kinds, name
        assert EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT not in kinds, name
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
    assert len(latencies) >= 10
    assert p99 < 0.5, f"/health p99 {p99 * 1000:.0f} ms over {len(latencies)} probes"
    print(f"abuse failed in {elapsed:.2f}s; /health p99 {p99 * 1000:.1f} ms over {len(latencies)} probes")


async def test_valid_expressions_near_the_limits_still_evaluate(http, worker, temporal_env, api_settings):
    d = defn([node("start", "start"),
              node("t", "transform", expression="{ 'sum': $sum([1..14000]), 'len': $length($pad('', 1000000)) }"),
              node("end", "end", output="{{ nodes.t }}")], ["start->t", "t->end"])
    h = await start_execution(temporal_env.client, definition=d, input=None,
                              task_queue=api_settings.temporal_task_queue)
    assert await asyncio.wait_for(h.result(), timeout=30) == {"sum": 98007000, "len": 1000000}
