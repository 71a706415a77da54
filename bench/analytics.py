"""Analytics queries on a 100,000-execution window: each endpoint's service call, p50/max over N runs.

Creates a throw-away database on the local Postgres (``WFO_BENCH_PG_ADMIN_URL``, default
postgresql://postgres@127.0.0.1:5432/postgres), migrates it to head, and loads with COPY:

- the measured tenant: ``--executions`` executions (default 100,000) of ``--workflows`` workflows spread
  over the last 7 days (85% completed, 10% failed, 3% cancelled, 2% running), each with ``--nodes`` node
  runs (default 5: 500,000 ``node_runs`` rows), random durations, failures with an error type, retries;
- a second tenant with as many executions again (noise the tenant filter must skip).

Then ANALYZE and time, in one process, the service functions behind
``GET /api/v1/analytics/summary`` (window P7D, bucket PT1H), ``/analytics/workflows/{id}`` (the
busiest workflow), ``/analytics/nodes`` (every workflow) and ``/analytics/recommendations``, each
``--repeat`` times after one warm-up; prints p50 and max in ms and the plan's scan nodes
(``EXPLAIN``) for the summary's rollup query; then the exact (raw rows) path of the summary and the
workflow view for comparison. Target: every default-path p50 under 200 ms.

    .venv/bin/python bench/analytics.py [--executions 100000] [--repeat 5] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg

from api.services import analytics
from wfo.db import create_engine, create_sessionmaker, run_migrations
from wfo.models import utcnow

ADMIN = os.environ.get("WFO_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
NODE_TYPES = ["http.request", "transform", "db.query", "approval", "email.send", "decision", "util.noop"]
ERRORS = ["Timeout", "HttpStatusError", "HttpConnectionError", "ExpressionError"]


async def load(url: str, tenant: uuid.UUID, n_exec: int, n_wf: int, n_nodes: int, seed: int) -> list[uuid.UUID]:
    rnd = random.Random(seed)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("INSERT INTO tenants (id, name) VALUES ($1, $2)", tenant, f"bench-{tenant.hex[:8]}")
        wids = [uuid.uuid4() for _ in range(n_wf)]
        for i, wid in enumerate(wids):
            await conn.execute("INSERT INTO workflows (id, tenant_id, name, status) VALUES ($1, $2, $3, 'active')",
                               wid, tenant, f"wf-{i}")
            nodes = [{"id": f"n{k}", "type": NODE_TYPES[(i + k) % len(NODE_TYPES)], "timeout": "PT5S"}
                     for k in range(n_nodes)]
            await conn.execute("INSERT INTO workflow_versions (workflow_id, version, definition) "
                               "VALUES ($1, 1, $2::jsonb)", wid, json.dumps({"nodes": nodes}))
        now = utcnow()
        execs, runs = [], []
        for i in range(n_exec):
            # a skewed mix: a few workflows carry most of the load
            wid = wids[min(int(rnd.expovariate(0.5)), n_wf - 1)]
            started = now - timedelta(seconds=rnd.uniform(0, 7 * 86400))
            r = rnd.random()
            status = "completed" if r < 0.85 else "failed" if r < 0.95 else "cancelled" if r < 0.98 else "running"
            eid = f"exec-{uuid.uuid4()}"
            total = 0
            fail_at = rnd.randrange(n_nodes) if status == "failed" else None
            for k in range(n_nodes):
                if fail_at is not None and k > fail_at:
                    break
                d = int(rnd.lognormvariate(5, 1.2))
                total += d
                failed = k == fail_at
                attempts = rnd.choice([1, 1, 1, 2, 3]) if failed or rnd.random() < 0.05 else 1
                runs.append((eid, f"n{k}", tenant, wid, 1, NODE_TYPES[k % len(NODE_TYPES)],
                             "failed" if failed else "completed", 1, attempts, d,
                             rnd.choice(ERRORS) if failed else None, None, False,
                             "failed" if status == "failed" else "completed", started, started))
            done = None if status == "running" else started + timedelta(milliseconds=total + 20)
            execs.append((eid, tenant, wid, 1, status, "manual", started, done, started))
        await conn.copy_records_to_table(
            "executions", records=execs,
            columns=["id", "tenant_id", "workflow_id", "version", "status", "trigger", "started_at", "completed_at",
                     "updated_at"])
        await conn.copy_records_to_table(
            "node_runs", records=runs,
            columns=["execution_id", "node_id", "tenant_id", "workflow_id", "version", "node_type", "status",
                     "activations", "attempts", "duration_ms", "error_type", "error_message", "reused",
                     "execution_status", "execution_started_at", "started_at"])
        return wids
    finally:
        await conn.close()


async def timed(fn, repeat: int) -> tuple[float, float]:
    await fn()  # warm-up (plans, caches)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        await fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), max(times)


async def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--executions", type=int, default=100_000)
    ap.add_argument("--workflows", type=int, default=10)
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--keep", action="store_true", help="keep the database (prints its URL)")
    args = ap.parse_args()

    name = f"wfo_bench_analytics_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        await run_migrations(url)
        tenant, noise = uuid.uuid4(), uuid.uuid4()
        t0 = time.perf_counter()
        wids = await load(url, tenant, args.executions, args.workflows, args.nodes, 1)
        await load(url, noise, args.executions, args.workflows, args.nodes, 2)
        conn = await asyncpg.connect(url)
        await conn.execute("VACUUM ANALYZE executions")
        await conn.execute("VACUUM ANALYZE node_runs")
        n_exec = await conn.fetchval("SELECT count(*) FROM executions WHERE tenant_id = $1", tenant)
        n_runs = await conn.fetchval("SELECT count(*) FROM node_runs WHERE tenant_id = $1", tenant)
        print(f"loaded {n_exec} executions and {n_runs} node runs for the measured tenant "
              f"(x2 with the noise tenant) in {time.perf_counter() - t0:.1f} s")

        engine = create_engine(url, pool_size=2, max_overflow=0)
        sm = create_sessionmaker(engine)
        w = analytics.window("P7D", "PT1H")
        busiest = wids[0]

        async def with_session(fn):
            async with sm() as session:
                return await fn(session)

        exact = analytics.window("P7D", "PT1H", exact=True)
        cases = {
            "summary (P7D, PT1H)": lambda: with_session(lambda s: analytics.summary(s, tenant, w)),
            "workflows/{id} (busiest)": lambda: with_session(
                lambda s: analytics.workflow_analytics(s, tenant, busiest, w)),
            "nodes (all workflows)": lambda: with_session(lambda s: analytics.node_stats(s, tenant, w)),
            "recommendations": lambda: with_session(lambda s: analytics.recommendations(s, tenant, w)),
        }
        raw_cases = {  # the exact path (raw rows), for comparison: not held to the target
            "summary exact=true": lambda: with_session(lambda s: analytics.summary(s, tenant, exact)),
            "workflows/{id} exact=true": lambda: with_session(
                lambda s: analytics.workflow_analytics(s, tenant, busiest, exact)),
        }
        busy = await conn.fetchval("SELECT count(*) FROM executions WHERE tenant_id = $1 AND workflow_id = $2",
                                   tenant, busiest)
        print(f"busiest workflow: {busy} executions in the window")
        ok = True
        for label, fn in cases.items():
            p50, worst = await timed(fn, args.repeat)
            ok &= p50 < 200
            print(f"  {label:28s} p50 {p50:7.1f} ms   max {worst:7.1f} ms   {'OK' if p50 < 200 else 'OVER 200 ms'}")
        for label, fn in raw_cases.items():
            p50, worst = await timed(fn, max(1, args.repeat // 2))
            print(f"  {label:28s} p50 {p50:7.1f} ms   max {worst:7.1f} ms   (raw rows, for comparison)")
        rollup_rows = await conn.fetchval("SELECT count(*) FROM node_rollup WHERE tenant_id = $1 AND hour >= $2",
                                          tenant, w.since)
        plan = await conn.fetch(
            "EXPLAIN SELECT status, sum(n) FROM execution_rollup WHERE tenant_id = $1 AND hour >= $2 "
            "AND hour < $3 GROUP BY status", tenant, w.since, w.until)
        scans = [r[0].strip() for r in plan if "Scan" in r[0]]
        print(f"node_rollup rows in the window: {rollup_rows}; summary rollup plan:", "; ".join(scans))
        print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        await conn.close()
        await engine.dispose()
        return 0 if ok else 1
    finally:
        if args.keep:
            print("kept", url)
        else:
            admin = await asyncpg.connect(ADMIN)
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
