"""Webhook intake against hand-written Temporal baselines, side by side in one run (issue: throughput).

One Temporal dev server with `wfo dev`'s settings (a database file, WAL pragmas, eager workflow start and
eager activities), a fresh database on the local Postgres, the API in its own uvicorn process with its
embedded workflow worker (`--no-embedded-worker`: without) and `wfo worker` in its own process, as `make dev`
runs them. Each round runs, interleaved so machine noise hits all alike:

* `baseline start`: a minimal hand-written client starting a hand-written equivalent workflow (its worker in
  a second process): the raw Temporal start limit of this box;
* `webhook async`: POST to an async webhook trigger of the 6-node pure flow (202 once Temporal has it);
* `baseline sync`: the minimal client that starts (eagerly) and waits for the result, worker in-process;
* `webhook sync`: POST to a sync webhook trigger (200 with the output).

It prints req/s (answered), done/s (requests over the time until every execution completed: a worker that
falls behind shows here), p50, p99 and CPU ms per request of each process (API, worker, Temporal, Postgres)
until every execution completed, the medians over rounds, and the ratios with their goals:

    .venv/bin/python bench/intake.py --rounds 3 --requests 400 --concurrency 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from bench.runner import run
from bench.stack import cpu_of, local_stack, pct, pids_matching, with_children

ROOT = Path(__file__).resolve().parent.parent
FLOW = json.loads((ROOT / "docs/examples/order-total.json").read_text())  # start, transform, decision, 2 sets, end
BODY = {"items": [{"price": 700, "qty": 2}]}
GOALS = {"async_ratio": 0.8, "sync_ratio": 0.9, "async_p99_ms": 300.0}


async def baseline(address: str, mode: str, requests: int, concurrency: int, temporal: list[int]) -> dict:
    """One baseline run; `temporal_cpu` is the Temporal server's CPU over the whole run (warm-up included)."""
    cpu0 = cpu_of(temporal)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "bench/baseline.py"), "--address", address, "--mode", mode,
        "--requests", str(requests), "--concurrency", str(concurrency), stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    result = json.loads(out.decode().strip().splitlines()[-1])
    result["temporal_cpu_s"] = round(cpu_of(temporal) - cpu0, 3)
    return result


async def webhooks(http: httpx.AsyncClient, url: str, requests: int, concurrency: int, pids: dict[str, list[int]],
                   expect: int, drain=None) -> dict:
    """`requests` POSTs from `concurrency` senders; then `drain()` (until every execution completed), so CPU
    per request covers the executions' whole work and `completed_per_s` shows a worker that falls behind."""
    lat: list[float] = []
    stages: dict[str, list[float]] = {}
    errors = 0
    todo = iter(range(requests))

    async def sender() -> None:
        nonlocal errors
        for i in todo:
            t0 = time.perf_counter()
            r = await http.post(url, json={"body": BODY, "n": i, **BODY})
            if r.status_code == expect:
                lat.append((time.perf_counter() - t0) * 1000)
                for part in filter(None, r.headers.get("server-timing", "").split(", ")):
                    name, _, dur = part.partition(";dur=")
                    stages.setdefault(name, []).append(float(dur))
            else:
                errors += 1

    cpu0 = {k: cpu_of(v) for k, v in pids.items()}
    t0 = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    wall = time.perf_counter() - t0
    if drain is not None:
        await drain()
    done = time.perf_counter() - t0
    cpu = {k: round((cpu_of(v) - cpu0[k]) * 1000 / max(1, len(lat)), 2) for k, v in pids.items()}
    return {"requests": requests, "errors": errors, "per_s": round(len(lat) / wall, 1),
            "completed_per_s": round(len(lat) / done, 1),
            "p50_ms": round(pct(lat, 50), 1) if lat else None, "p99_ms": round(pct(lat, 99), 1) if lat else None,
            "cpu_ms_per_req": cpu, "stages_p50_ms": {k: round(pct(v, 50), 1) for k, v in stages.items()}}


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--concurrency", type=int, default=20)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--api-workers", type=int, default=1, help="uvicorn processes of the API (wfo api --workers)")
    ap.add_argument("--no-embedded-worker", action="store_true",
                    help="the API without its embedded workflow worker (API_EMBEDDED_WORKER=false)")
    ap.add_argument("--sandboxed", action="store_true",
                    help="run the project's worker with the workflow sandbox (default: unsandboxed, like the baseline)")
    args = ap.parse_args()
    results: dict[str, list[dict]] = {"baseline start": [], "webhook async": [], "baseline sync": [],
                                      "webhook sync": []}
    async with local_stack(worker="process", sandboxed=args.sandboxed, embedded_worker=not args.no_embedded_worker,
                           uvicorn_args=["--workers", str(args.api_workers)] if args.api_workers > 1 else None) as stack:
        address = stack.settings.temporal_address
        limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
        async with httpx.AsyncClient(base_url=stack.base_url, limits=limits, timeout=60) as http:
            headers = await stack.login(http)
            wf = (await http.post("/api/v1/workflows", headers=headers,
                                  json={"name": "intake", "definition": FLOW, "status": "active"})).json()
            urls = {}
            for mode in ("async", "sync"):
                trig = (await http.post(f"/api/v1/workflows/{wf['id']}/triggers", headers=headers, json={
                    "kind": "webhook", "rate_limit_per_minute": 0, "response_mode": mode})).json()
                urls[mode] = f"/api/v1/hooks/{trig['id']}"
            port = address.rsplit(":", 1)[1]
            pids = {"api": with_children(stack.api_proc.pid),
                    "worker": [p.pid for p in stack.procs if p is not stack.api_proc],
                    "temporal": pids_matching("start-dev", f"--port {port}") or pids_matching("start-dev"),
                    "postgres": pids_matching("postgres")}
            tq = stack.settings.temporal_task_queue

            async def drain(timeout: float = 120.0) -> None:
                query = f'TaskQueue="{tq}" AND WorkflowType="Interpreter" AND ExecutionStatus="Running"'
                deadline = time.monotonic() + timeout
                while (await stack.client.count_workflows(query)).count and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)

            await webhooks(http, urls["async"], 40, args.concurrency, pids, 202, drain)  # warm-up
            await webhooks(http, urls["sync"], 40, args.concurrency, pids, 200, drain)
            pids["postgres"] = pids_matching("postgres")  # with the backends the API and worker opened
            for _ in range(args.rounds):
                results["baseline start"].append(
                    await baseline(address, "start", args.requests, args.concurrency, pids["temporal"]))
                results["webhook async"].append(
                    await webhooks(http, urls["async"], args.requests, args.concurrency, pids, 202, drain))
                results["baseline sync"].append(
                    await baseline(address, "sync", args.requests, args.concurrency, pids["temporal"]))
                results["webhook sync"].append(
                    await webhooks(http, urls["sync"], args.requests, args.concurrency, pids, 200, drain))

    def med(variant: str, key: str) -> float:
        vals = [r[key] for r in results[variant] if r.get(key) is not None]
        return statistics.median(vals) if vals else float("nan")

    summary = {v: {k: med(v, k) for k in ("per_s", "p50_ms", "p99_ms", "completed_per_s")} for v in results}
    ratios = {"async_ratio": summary["webhook async"]["per_s"] / summary["baseline start"]["per_s"],
              "sync_ratio": summary["webhook sync"]["per_s"] / summary["baseline sync"]["per_s"],
              "async_p99_ms": summary["webhook async"]["p99_ms"]}
    if args.json:
        print(json.dumps({"rounds": results, "summary": summary, "ratios": ratios}))
        return 0
    print(f"rounds={args.rounds} requests={args.requests} concurrency={args.concurrency} (medians over rounds); "
          f"project worker {'sandboxed' if args.sandboxed else 'unsandboxed'}, "
          f"API {'without' if args.no_embedded_worker else 'with'} its embedded worker")
    print(f"{'variant':<16}{'req/s':>8}{'done/s':>8}{'p50 ms':>9}{'p99 ms':>9}   "
          "CPU ms/request until all completed (api, worker, temporal, postgres)")
    for variant, rows in results.items():
        cpu = ""
        if "cpu_ms_per_req" in rows[0]:
            cpu = ", ".join(f"{k} {statistics.median(r['cpu_ms_per_req'][k] for r in rows):.1f}"
                            for k in ("api", "worker", "temporal", "postgres"))
        else:
            warm = 40  # baseline.py's warm-up runs are in the Temporal figure too
            cpu = (f"client+worker {statistics.median(r['cpu_s'] * 1000 / r['requests'] for r in rows):.1f}, "
                   f"temporal {statistics.median(r['temporal_cpu_s'] * 1000 / (r['requests'] + warm) for r in rows):.1f}")
        s = summary[variant]
        print(f"{variant:<16}{s['per_s']:>8.1f}{s['completed_per_s']:>8.1f}{s['p50_ms']:>9.1f}{s['p99_ms']:>9.1f}   {cpu}")
        if rows[0].get("stages_p50_ms"):  # the API's Server-Timing: where a request's time goes
            print(" " * 16 + "  API stages p50 ms: " + ", ".join(
                f"{k} {statistics.median(r['stages_p50_ms'].get(k, 0) for r in rows):.1f}"
                for k in rows[0]["stages_p50_ms"]))
    print(f"async intake / raw start limit = {ratios['async_ratio']:.2f}  (goal >= {GOALS['async_ratio']})")
    print(f"sync answers / start-and-wait  = {ratios['sync_ratio']:.2f}  (goal >= {GOALS['sync_ratio']})")
    print(f"async p99 request -> 202       = {ratios['async_p99_ms']:.0f} ms  (goal < {GOALS['async_p99_ms']:.0f} ms)")
    return 0


if __name__ == "__main__":
    run(main)
