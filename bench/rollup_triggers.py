"""Postgres time of the analytics rollup triggers, migration 0019's functions against 0012's, in one run.

A fresh database on the local Postgres (``WFO_BENCH_PG_ADMIN_URL``) at head; the statements one execution
makes (its index row, its node runs in one statement, its close) are run ``--executions`` times on one
connection, then the database is downgraded to 0018 (0012's functions) and the same is run again; rounds
alternate (upgrade, downgrade) so machine noise hits both alike. Prints ms per execution and the ratio.

    .venv/bin/python bench/rollup_triggers.py --executions 400 --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg

from bench.runner import run
from bench.stack import temp_database
from wfo.db import run_downgrade, run_migrations

NODES = ("start", "fetch", "decide", "notify", "end")


async def one_round(url: str, n: int) -> float:
    """ms of Postgres per execution (wall time on one local connection, statements back to back)."""
    conn = await asyncpg.connect(url)
    try:
        tenant = await conn.fetchval("INSERT INTO tenants (id, name, created_at) VALUES (gen_random_uuid(), $1, now()) "
                                     "RETURNING id", f"b-{uuid.uuid4().hex[:6]}")
        wf = await conn.fetchval(
            "INSERT INTO workflows (id, tenant_id, name, status, current_version, created_at, updated_at, "
            "description) VALUES (gen_random_uuid(), $1, 'w', 'active', 1, now(), now(), '') RETURNING id", tenant)
        now = datetime.now(UTC)
        t0 = time.perf_counter()
        for i in range(n):
            eid = f"exec-{uuid.uuid4()}"
            await conn.execute(
                "INSERT INTO executions (id, tenant_id, workflow_id, version, status, trigger, started_by, "
                "started_at, updated_at) VALUES ($1, $2, $3, 1, 'running', 'webhook', 'b', now(), now())",
                eid, tenant, wf)
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO node_runs (execution_id, node_id, tenant_id, workflow_id, version, node_type, "
                    "status, activations, attempts, duration_ms, reused, execution_status, execution_started_at) "
                    "SELECT $1, r.n, $2, $3, 1, 'transform', 'completed', 1, 1, r.d, false, 'completed', $4 "
                    "FROM unnest($5::text[], $6::bigint[]) AS r (n, d)",
                    eid, tenant, wf, now, list(NODES), [i % 7, 3, 40, 900, 0])
                await conn.execute("UPDATE executions SET status = 'completed', completed_at = now() WHERE id = $1",
                                   eid)
        return (time.perf_counter() - t0) * 1000 / n
    finally:
        await conn.close()


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--executions", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    new: list[float] = []
    old: list[float] = []
    async with temp_database() as url:
        await one_round(url, 50)  # warm-up
        for _ in range(args.rounds):
            new.append(await one_round(url, args.executions))
            await run_downgrade(url, "0018_execution_filter_indexes")
            old.append(await one_round(url, args.executions))
            await run_migrations(url)
    mn, mo = statistics.median(new), statistics.median(old)
    print(f"executions={args.executions} rounds={args.rounds}: index row + node runs (5, one statement) + close")
    print(f"0012 rollup functions  {mo:6.3f} ms per execution")
    print(f"0019 rollup functions  {mn:6.3f} ms per execution   ratio {mn / mo:.2f}")
    return 0


if __name__ == "__main__":
    run(main)
