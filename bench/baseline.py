"""The hand-written baselines for `bench/intake.py`, run as their own process: a minimal Temporal client and
worker, no API, no database, with the best configuration found (eager workflow start: the start request
also hands the first workflow task to this process's worker, saving a round trip; an unsandboxed worker;
one in-process client). The workflow computes what the 6-node pure flow computes.

    python bench/baseline.py --address 127.0.0.1:7233 --mode start|sync --requests 500 --concurrency 20

`start`: the client only starts executions (202-equivalent); their worker runs in a second process
(`--mode worker`), as the project's worker does. `sync`: start and wait for the result, client and
worker in one process so the start is eager. Prints one JSON line: {"mode", "requests", "errors",
"per_s", "p50_ms", "p99_ms", "cpu_s", "completed_per_s"} (cpu_s: this process, plus the worker process in
`start` mode, until every execution completed; completed_per_s: requests over the time until the last one
completed, so a worker that falls behind shows).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from bench.runner import run
from bench.stack import cpu_of, pct


@workflow.defn(name="BaselineFlow")
class BaselineFlow:
    """start -> transform -> decision -> set (either branch) -> end, written by hand."""

    @workflow.run
    async def run(self, inp: dict) -> dict:
        total = sum(i["price"] * i["qty"] for i in inp.get("items", []))
        review = total > 1000
        return {"amount": total, "review": review, "reason": f"Order of {total} needs a second look" if review else None}


async def drained(client: Client, task_queue: str, timeout: float = 120.0) -> None:
    """Until no execution on `task_queue` is running (visibility), polled every 50 ms."""
    deadline = time.monotonic() + timeout
    query = f'TaskQueue="{task_queue}" AND ExecutionStatus="Running"'
    while (await client.count_workflows(query)).count and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def _nothing():
    yield


async def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--address", required=True)
    ap.add_argument("--mode", choices=["start", "eager", "sync", "worker"], required=True)
    ap.add_argument("--task-queue")
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--concurrency", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=40)
    args = ap.parse_args()
    import os

    client = await Client.connect(args.address)
    tq = args.task_queue or f"baseline-{uuid.uuid4().hex[:6]}"
    body = {"items": [{"price": 700, "qty": 2}]}

    def worker() -> Worker:
        return Worker(client, task_queue=tq, workflows=[BaselineFlow], workflow_runner=UnsandboxedWorkflowRunner(),
                      max_concurrent_workflow_tasks=100)

    if args.mode == "worker":
        async with worker():
            await asyncio.Event().wait()  # until terminated
    proc = None
    if args.mode == "start":
        proc = await asyncio.create_subprocess_exec(sys.executable, __file__, "--address", args.address, "--mode",
                                                    "worker", "--task-queue", tq)
    async with (worker() if args.mode in ("sync", "eager") else _nothing()):
        async def one() -> None:
            wid = f"b-{uuid.uuid4().hex}"
            if args.mode == "start":
                await client.start_workflow(BaselineFlow.run, body, id=wid, task_queue=tq)
            elif args.mode == "eager":
                await client.start_workflow(BaselineFlow.run, body, id=wid, task_queue=tq, request_eager_start=True)
            else:
                h = await client.start_workflow(BaselineFlow.run, body, id=wid, task_queue=tq, request_eager_start=True)
                await h.result()

        async def load(n: int) -> tuple[list[float], int]:
            lat: list[float] = []
            errors = 0
            todo = iter(range(n))

            async def sender() -> None:
                nonlocal errors
                for _ in todo:
                    t0 = time.perf_counter()
                    try:
                        await one()
                        lat.append((time.perf_counter() - t0) * 1000)
                    except Exception:  # noqa: BLE001 - counted
                        errors += 1

            await asyncio.gather(*(sender() for _ in range(args.concurrency)))
            return lat, errors

        pids = [os.getpid()] + ([proc.pid] if proc else [])
        await load(args.warmup)
        await drained(client, tq)
        cpu0, t0 = cpu_of(pids), time.perf_counter()
        lat, errors = await load(args.requests)
        wall = time.perf_counter() - t0
        await drained(client, tq)  # every started execution completed (their worker kept up, or caught up)
        done, cpu = time.perf_counter() - t0, cpu_of(pids) - cpu0
    if proc is not None:
        proc.terminate()
        await proc.wait()
    print(json.dumps({"mode": args.mode, "requests": args.requests, "errors": errors,
                      "per_s": round(len(lat) / wall, 1), "p50_ms": round(pct(lat, 50), 1),
                      "p99_ms": round(pct(lat, 99), 1), "cpu_s": round(cpu, 3), "wall_s": round(wall, 3),
                      "completed_per_s": round(len(lat) / done, 1)}))
    return 0


if __name__ == "__main__":
    run(main)
