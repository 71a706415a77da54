"""p50/p99 latency of ``POST /api/v1/workflows/{id}/execute`` at N concurrent clients.

Starts a local stack: a Temporal dev server (bundled CLI), a fresh database on the local Postgres
(``WFO_BENCH_PG_ADMIN_URL``, default postgresql://postgres@127.0.0.1:5432/postgres), the API in
its own uvicorn process and an engine worker, then fires ``--requests`` executes from
``--concurrency`` clients over real HTTP. Everything it started is stopped and dropped at the end.

    .venv/bin/python bench/api_execute_latency.py --concurrency 20 --requests 1000
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
from bench.stack import cpu_seconds, local_stack, pct

DEFINITION = {
    "schema_version": 1,
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "double", "type": "transform", "config": {"expression": "{ 'value': input.x * 2 }"}},
        {"id": "end", "type": "end", "config": {"output": "{{ nodes.double }}"}},
    ],
    "edges": [{"source": "start", "target": "double"}, {"source": "double", "target": "end"}],
}


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--concurrency", type=int, default=20)
    ap.add_argument("--requests", type=int, default=600, help="measured requests (after warm-up)")
    ap.add_argument("--warmup", type=int, default=40)
    ap.add_argument("--no-worker", action="store_true", help="don't run a worker (executions stay queued)")
    ap.add_argument("--inline-worker", action="store_true",
                    help="run the worker in this process (shares the load generator's event loop)")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    ap.add_argument("--uvicorn-arg", action="append", default=[],
                    help="extra uvicorn argument for the API process, e.g. --uvicorn-arg=--http=h11")
    args = ap.parse_args()
    worker = "none" if args.no_worker else ("inline" if args.inline_worker else "process")
    async with local_stack(worker=worker, uvicorn_args=args.uvicorn_arg, http_allow_private_networks=True) as stack:
        api_proc = stack.api_proc
        limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
        async with httpx.AsyncClient(base_url=stack.base_url, limits=limits, timeout=30) as http:
            headers = await stack.login(http)
            wf = (await http.post("/api/v1/workflows", headers=headers,
                                  json={"name": "bench", "definition": DEFINITION, "status": "active"})).json()
            url = f"/api/v1/workflows/{wf['id']}/execute"

            async def run(total: int) -> tuple[list[float], int]:
                latencies: list[float] = []
                errors = 0
                counter = iter(range(total))

                async def client() -> None:
                    nonlocal errors
                    for i in counter:
                        t0 = time.perf_counter()
                        r = await http.post(url, headers=headers, json={"input": {"x": i}})
                        latencies.append((time.perf_counter() - t0) * 1000)
                        if r.status_code != 202:
                            errors += 1

                await asyncio.gather(*(client() for _ in range(args.concurrency)))
                return latencies, errors

            await run(args.warmup)
            cpu0 = cpu_seconds(api_proc.pid)
            t0 = time.perf_counter()
            lat, errors = await run(args.requests)
            wall = time.perf_counter() - t0
            cpu1 = cpu_seconds(api_proc.pid)

        result = {
            "endpoint": "POST /api/v1/workflows/{id}/execute",
            "concurrency": args.concurrency,
            "requests": len(lat),
            "errors": errors,
            "p50_ms": round(pct(lat, 50), 1),
            "p90_ms": round(pct(lat, 90), 1),
            "p99_ms": round(pct(lat, 99), 1),
            "mean_ms": round(statistics.fmean(lat), 1),
            "max_ms": round(max(lat), 1),
            "throughput_rps": round(len(lat) / wall, 1),
            "api_cpu_ms_per_request": round((cpu1 - cpu0) * 1000 / len(lat), 2) if cpu0 is not None and cpu1 is not None else None,
            "cpus": os.cpu_count(),
            "loadavg_1m_after": round(os.getloadavg()[0], 2),
            "worker": worker,
        }
        if args.json:
            print(json.dumps(result))
        else:
            for k, v in result.items():
                print(f"{k:>15}: {v}")


if __name__ == "__main__":
    run(main)
