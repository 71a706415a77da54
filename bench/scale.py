"""Scale of the metadata API on one box: list endpoints over 100,000 executions and 10,000 pending tasks.

Starts its own stack (Temporal dev server, a fresh migrated database, the API in its own uvicorn process,
no worker), fills the index with `--executions` rows (80% completed, 10% failed, 5% cancelled, 5% running;
started over 30 days; 20 workflows) and `--tasks` pending approval tasks with one SQL statement each, then
measures p50/p99 of each listing filter over `--samples` requests, and Postgres bytes per finished execution
(table + indexes of `executions`, divided by its rows).

    .venv/bin/python bench/scale.py --executions 100000 --tasks 10000 --samples 100

Goal (issue: throughput, goal 5): every listing p99 < 100 ms. Running rows are ids Temporal does not know,
so the page reconciliation of `status=running` costs its Temporal round trips (as it would in production).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
import httpx

from bench.runner import run
from bench.stack import ADMIN_EMAIL, local_stack, pct

GOAL_P99_MS = 100.0

FILL_EXECUTIONS = """
INSERT INTO executions (id, tenant_id, workflow_id, version, status, trigger, input, output, started_by,
                        started_at, completed_at, updated_at)
SELECT 'exec-scale-' || g, $1, ($2::uuid[])[1 + g % 20], 1,
       CASE WHEN g % 20 < 16 THEN 'completed' WHEN g % 20 < 18 THEN 'failed'
            WHEN g % 20 < 19 THEN 'cancelled' ELSE 'running' END,
       CASE WHEN g % 3 = 0 THEN 'webhook' ELSE 'manual' END,
       jsonb_build_object('order', g), jsonb_build_object('total', g * 3), 'bench@bench.test',
       now() - (g % 43200) * interval '1 minute',
       CASE WHEN g % 20 < 19 THEN now() - (g % 43200) * interval '1 minute' + interval '2 seconds' END,
       now()
FROM generate_series(1, $3) AS g
"""

FILL_TASKS = """
INSERT INTO tasks (id, tenant_id, execution_id, workflow_id, node_id, title, status, assignee_users,
                   assignee_roles, required_approvals, votes, created_at, updated_at)
SELECT 'task-scale-' || g, $1, 'exec-wait-' || g, ($2::uuid[])[1 + g % 20]::text, 'approve',
       'Approve order ' || g, 'pending', '[]'::jsonb, '["admin"]'::jsonb, 1, '[]'::jsonb,
       now() - g * interval '1 second', now()
FROM generate_series(1, $3) AS g
"""


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--executions", type=int, default=100_000)
    ap.add_argument("--tasks", type=int, default=10_000)
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    async with local_stack(worker="none") as stack:
        async with httpx.AsyncClient(base_url=stack.base_url, timeout=60) as http:
            headers = await stack.login(http)
            flow = json.loads((Path(__file__).resolve().parent.parent / "docs/examples/order-total.json").read_text())
            wfs = [(await http.post("/api/v1/workflows", headers=headers, json={
                "name": f"scale-{i}", "definition": flow, "status": "active"})).json()["id"] for i in range(20)]
            db = await asyncpg.connect(stack.settings.database_url)
            try:
                tenant = await db.fetchval("SELECT tenant_id FROM users WHERE email = $1", ADMIN_EMAIL)
                t0 = time.perf_counter()
                await db.execute(FILL_EXECUTIONS, tenant, [uuid.UUID(w) for w in wfs], args.executions)
                await db.execute(FILL_TASKS, tenant, [uuid.UUID(w) for w in wfs], args.tasks)
                await db.execute("ANALYZE executions; ANALYZE tasks")
                fill_s = time.perf_counter() - t0
                size = await db.fetchval("SELECT pg_total_relation_size('executions')")
                rows = await db.fetchval("SELECT count(*) FROM executions")
            finally:
                await db.close()
            day_ago = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 86400))
            cases = {
                "executions (no filter)": "/api/v1/executions",
                "executions ?status=failed": "/api/v1/executions?status=failed",
                "executions ?status=running": "/api/v1/executions?status=running",
                "executions ?workflow_id": f"/api/v1/executions?workflow_id={wfs[3]}",
                "executions ?started_after=1d": f"/api/v1/executions?started_after={day_ago}",
                "executions deep offset 90000": "/api/v1/executions?offset=90000",
                "tasks (pending, 10k)": "/api/v1/tasks",
                "tasks ?workflow_id": f"/api/v1/tasks?workflow_id={wfs[5]}",
            }
            # the keyset position of row ~90,000 (what following `next_cursor` 1,800 times reaches)
            deep = (await http.get("/api/v1/executions?offset=89999&limit=1", headers=headers)).json()
            cases["executions deep by cursor"] = (
                f"/api/v1/executions?cursor={deep['next_cursor']}" if deep.get("next_cursor") else cases["executions deep offset 90000"])
            results = {}
            for name, url in cases.items():
                lat = []
                for _ in range(args.samples):
                    t = time.perf_counter()
                    r = await http.get(url, headers=headers)
                    lat.append((time.perf_counter() - t) * 1000)
                    assert r.status_code == 200, (url, r.status_code, r.text[:200])
                results[name] = {"p50_ms": round(pct(lat, 50), 1), "p99_ms": round(pct(lat, 99), 1)}
    out = {"executions": rows, "tasks": args.tasks, "fill_seconds": round(fill_s, 1),
           "bytes_per_execution": round(size / max(1, rows)), "lists": results}
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"{rows} execution rows, {args.tasks} pending tasks (filled in {fill_s:.1f} s); "
          f"Postgres bytes per execution row (table + indexes): {out['bytes_per_execution']}")
    print(f"{'listing':<32}{'p50 ms':>9}{'p99 ms':>9}   goal p99 < {GOAL_P99_MS:.0f} ms")
    for name, r in results.items():
        flag = "ok" if r["p99_ms"] < GOAL_P99_MS else "OVER"
        print(f"{name:<32}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}   {flag}")
    return 0


if __name__ == "__main__":
    run(main)
