"""Interpreter overhead, measured in one run on one server (ratios, not absolute times).

1. A 20-node linear definition of side-effecting no-ops through the interpreter, against the same 20
   activities in a hand-written Temporal workflow. Goal: ratio <= 1.15.
2. A mixed definition (10 transforms + 10 no-ops) through the interpreter, against 20 activities by hand:
   pure nodes are evaluated inside the workflow, so they cost no activity round trip.

Usage: python bench/interpreter_overhead.py [--rounds 15] [--concurrency 1]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from temporalio.testing import WorkflowEnvironment

from bench.handwritten import HandWrittenChain
from bench.runner import run
from cli.dev import DEV_SERVER_ARGS
from wfo.executions import start_execution
from wfo.settings import Settings
from wfo.temporal import SEARCH_ATTRIBUTES, temporal_cli_path
from worker.main import build_worker

GATE = 1.05
"""Interpreter vs hand-written chain of 20 activities: above this ratio the bench exits 1."""


def linear(n_noop: int, n_transform: int = 0) -> dict:
    nodes = [{"id": "start", "type": "start"}]
    ids = []
    for i in range(n_noop + n_transform):
        nid = f"n{i}"
        ids.append(nid)
        if i % 2 == 1 and n_transform and (i // 2) < n_transform:
            nodes.append({"id": nid, "type": "transform", "config": {"expression": "{'i': %d}" % i}})
        else:
            nodes.append({"id": nid, "type": "util.noop", "config": {"value": i}})
    nodes.append({"id": "end", "type": "end", "config": {"output": "{{ nodes.%s }}" % ids[-1]}})
    chain = ["start", *ids, "end"]
    return {"schema_version": 1, "nodes": nodes,
            "edges": [{"source": a, "target": b} for a, b in zip(chain, chain[1:])]}


async def timed(coro_factory, rounds: int, concurrency: int) -> list[float]:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        await asyncio.gather(*(coro_factory() for _ in range(concurrency)))
        times.append(time.perf_counter() - t)
    return times


async def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--concurrency", type=int, default=1)
    args = ap.parse_args()
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli_path(), search_attributes=SEARCH_ATTRIBUTES,
        dev_server_extra_args=list(DEV_SERVER_ARGS))  # as `wfo dev` runs it (eager activities)
    client = env.client
    settings = Settings(environment="test", temporal_task_queue=f"bench-{uuid.uuid4().hex[:6]}")
    twenty = linear(20)
    mixed = linear(10, 10)
    assert sum(n["type"] == "transform" for n in mixed["nodes"]) == 10

    async def interp(definition):
        h = await start_execution(client, definition=definition, input=None,
                                  task_queue=settings.temporal_task_queue)
        await h.result()

    async def hand():
        await client.execute_workflow("HandWrittenChain", 20, id=f"hand-{uuid.uuid4().hex}",
                                      task_queue=settings.temporal_task_queue)

    try:
        async with build_worker(client, settings, workflows=[HandWrittenChain]):
            await timed(hand, 2, 1)  # warm up both paths
            await timed(lambda: interp(twenty), 2, 1)
            results: dict[str, list[float]] = {"hand": [], "interp20": [], "mixed": []}
            for _ in range(args.rounds):  # interleave so machine noise hits all three alike
                results["hand"] += await timed(hand, 1, args.concurrency)
                results["interp20"] += await timed(lambda: interp(twenty), 1, args.concurrency)
                results["mixed"] += await timed(lambda: interp(mixed), 1, args.concurrency)
    finally:
        await env.shutdown()

    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"rounds={args.rounds} concurrency={args.concurrency} (median wall time per round)")
    print(f"  hand-written workflow, 20 activities        {med['hand'] * 1000:8.1f} ms")
    print(f"  interpreter, 20 util.noop nodes             {med['interp20'] * 1000:8.1f} ms")
    print(f"  interpreter, 10 transform + 10 util.noop    {med['mixed'] * 1000:8.1f} ms")
    ratio = med['interp20'] / med['hand']
    print(f"ratio interpreter(20 activities) / hand-written = {ratio:.3f}  (regression gate <= {GATE})")
    print(f"ratio interpreter(mixed) / hand-written(20 act) = {med['mixed'] / med['hand']:.3f}  "
          "(pure nodes cost no activity round trip)")
    if ratio > GATE:
        print(f"REGRESSION: the interpreter costs {ratio:.3f}x the hand-written chain (gate {GATE})")
        return 1
    return 0


if __name__ == "__main__":
    run(main)
