"""Inbound webhooks: accepted webhooks/s and p50/p99 from request to execution started, at N senders.

Starts a local stack: a Temporal dev server (bundled CLI), a fresh database on the local Postgres
(``WFO_BENCH_PG_ADMIN_URL``, default postgresql://postgres@127.0.0.1:5432/postgres), Redis from
``WFO_BENCH_REDIS_URL`` (default redis://127.0.0.1:6379/0), the API in its own uvicorn process
and an engine worker, then ``--concurrency`` senders POST ``--requests`` deliveries, each with its
own ``Idempotency-Key`` (as providers send them), to one webhook trigger over real HTTP.

* accepted/s: 202 answers per second of wall time (each one is an execution Temporal recorded).
* request -> execution started: from just before the request is sent to the execution's start
  time as recorded by Temporal (same machine, same clock), for every accepted delivery.
* request -> 202: the sender-side latency (the answer is sent only after Temporal has the start).

    .venv/bin/python bench/webhooks.py --concurrency 20 --requests 1000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from bench.runner import run
from bench.stack import local_stack, pct

DEFINITION = {
    "schema_version": 1,
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "end", "type": "end", "config": {"output": "{{ input.body }}"}},
    ],
    "edges": [{"source": "start", "target": "end"}],
}


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--concurrency", type=int, default=20)
    ap.add_argument("--requests", type=int, default=1000, help="measured deliveries (after warm-up)")
    ap.add_argument("--warmup", type=int, default=40)
    ap.add_argument("--duplicates", type=int, default=0, help="also send each key this many extra times")
    ap.add_argument("--no-worker", action="store_true", help="don't run a worker (executions stay queued)")
    ap.add_argument("--inline-worker", action="store_true",
                    help="run the worker in this process (shares the load generator's event loop)")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    args = ap.parse_args()

    from wfo.executions import keyed_execution_id as execution_id_for_delivery

    worker = "none" if args.no_worker else ("inline" if args.inline_worker else "process")
    async with local_stack(worker=worker) as stack:
        client = stack.client
        limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
        async with httpx.AsyncClient(base_url=stack.base_url, limits=limits, timeout=30) as http:
            headers = await stack.login(http)
            wf = (await http.post("/api/v1/workflows", headers=headers,
                                  json={"name": "bench", "definition": DEFINITION, "status": "active"})).json()
            trig = (await http.post(f"/api/v1/workflows/{wf['id']}/triggers", headers=headers,
                                    json={"kind": "webhook", "rate_limit_per_minute": 0})).json()
            url = f"/api/v1/hooks/{trig['id']}"

            async def run(total: int, tag: str) -> tuple[list[float], dict[str, float], int, int]:
                latencies: list[float] = []
                sent_at: dict[str, float] = {}
                errors = 0
                dups = 0
                jobs = [(f"{tag}-{i}", i) for i in range(total)]
                jobs += [(f"{tag}-{i}", i) for _ in range(args.duplicates) for i in range(total)]
                counter = iter(jobs)

                async def sender() -> None:
                    nonlocal errors, dups
                    for key, i in counter:
                        wall = time.time()
                        t0 = time.perf_counter()
                        r = await http.post(url, json={"n": i}, headers={"Idempotency-Key": key})
                        latencies.append((time.perf_counter() - t0) * 1000)
                        if r.status_code != 202:
                            errors += 1
                        elif r.json().get("duplicate"):
                            dups += 1
                        else:
                            sent_at[r.json()["execution_id"]] = wall

                await asyncio.gather(*(sender() for _ in range(args.concurrency)))
                return latencies, sent_at, errors, dups

            await run(args.warmup, "warm")
            t0 = time.perf_counter()
            lat, sent_at, errors, dups = await run(args.requests, "run")
            wall = time.perf_counter() - t0

        # request -> execution started, from Temporal's recorded start time
        sem = asyncio.Semaphore(20)
        started: list[float] = []

        async def started_latency(execution_id: str, t_send: float) -> None:
            async with sem:
                desc = await client.get_workflow_handle(execution_id).describe()
                started.append((desc.start_time.timestamp() - t_send) * 1000)

        await asyncio.gather(*(started_latency(e, t) for e, t in sent_at.items()))
        expected = {execution_id_for_delivery(trig["id"], f"run-{i}") for i in range(args.requests)}
        assert set(sent_at) <= expected

        result = {
            "endpoint": "POST /api/v1/hooks/{trigger_id}",
            "concurrency": args.concurrency,
            "requests": len(lat),
            "accepted": len(lat) - errors,
            "errors": errors,
            "duplicates_answered": dups,
            "accepted_per_s": round((len(lat) - errors) / wall, 1),
            "to_started_p50_ms": round(pct(started, 50), 1),
            "to_started_p99_ms": round(pct(started, 99), 1),
            "to_202_p50_ms": round(pct(lat, 50), 1),
            "to_202_p99_ms": round(pct(lat, 99), 1),
            "to_202_mean_ms": round(statistics.fmean(lat), 1),
            "cpus": os.cpu_count(),
            "worker": worker,
        }
        if args.json:
            print(json.dumps(result))
        else:
            for k, v in result.items():
                print(f"{k:>20}: {v}")


if __name__ == "__main__":
    run(main)
