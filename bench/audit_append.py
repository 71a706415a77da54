"""Audit appends per second: one transaction per row (the old path) vs the group-commit `Appender`.

Each round appends ``--rows`` entries from ``--concurrency`` concurrent tasks (as many requests at once)
on one engine with the API's pool (10 + 20 overflow), into a fresh database on the local Postgres
(``WFO_BENCH_PG_ADMIN_URL``, default postgresql://postgres@127.0.0.1:5432/postgres), then checks the chain
(`wfo.audit.verify`). Printed: rows/s and p50/p99 latency of one append for both, and the ratio.

    .venv/bin/python bench/audit_append.py --rows 2000 --concurrency 100
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.runner import run
from bench.stack import pct, temp_database
from wfo import audit
from wfo.db import create_engine


def _entry(i: int) -> audit.Entry:
    return audit.Entry(at=datetime.now(UTC), action="POST /api/v1/hooks/{trigger_id}", status=202,
                       actor_kind="webhook", resource_type="hooks", resource_id=str(i), client="127.0.0.1",
                       body_hash="0" * 64)


async def _round(rows: int, concurrency: int, append) -> tuple[float, list[float]]:
    sem = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def one(i: int) -> None:
        async with sem:
            t = time.perf_counter()
            await append(_entry(i))
            latencies.append(time.perf_counter() - t)

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(rows)))
    return rows / (time.perf_counter() - t0), latencies


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=100)
    args = ap.parse_args()
    async with temp_database() as url:
        engine = create_engine(url, pool_size=10, max_overflow=20)
        try:
            await audit.append(engine, _entry(-1))  # warm the pool and the statement
            before, lat_before = await _round(args.rows, args.concurrency, lambda e: audit.append(engine, e))
            appender = audit.Appender(engine)
            after, lat_after = await _round(args.rows, args.concurrency, appender.submit)
            batches = appender.batches
            await appender.close()
            check = await audit.verify(engine)
        finally:
            await engine.dispose()
    print(f"rows={args.rows} concurrency={args.concurrency}")
    print(f"one transaction per row: {before:8.0f} rows/s  p50 {pct(lat_before, 50) * 1000:6.1f} ms  "
          f"p99 {pct(lat_before, 99) * 1000:6.1f} ms")
    print(f"group commit:            {after:8.0f} rows/s  p50 {pct(lat_after, 50) * 1000:6.1f} ms  "
          f"p99 {pct(lat_after, 99) * 1000:6.1f} ms  ({batches} transactions, "
          f"{args.rows / max(batches, 1):.0f} rows each)")
    print(f"ratio: {after / before:.1f}x   chain: {'verified' if check.ok else 'BROKEN'} ({check.rows} rows)")
    return 0 if check.ok else 1


if __name__ == "__main__":
    run(main)
