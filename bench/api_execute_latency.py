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
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

DEFINITION = {
    "schema_version": 1,
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "double", "type": "transform", "config": {"expression": "{ 'value': input.x * 2 }"}},
        {"id": "end", "type": "end", "config": {"output": "{{ nodes.double }}"}},
    ],
    "edges": [{"source": "start", "target": "double"}, {"source": "double", "target": "end"}],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float | None:
    """user+system CPU time of a process (Linux /proc), to report CPU per request independent of load."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


async def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as c:
        while True:
            try:
                if (await c.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up")
            await asyncio.sleep(0.2)


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

    from temporalio.testing import WorkflowEnvironment

    from api import security
    from wfo.db import create_engine, create_sessionmaker, run_migrations
    from wfo.models import Role, Tenant, User
    from wfo.settings import Settings
    from wfo.temporal import SEARCH_ATTRIBUTES, temporal_cli_path
    from workflows.converter import data_converter

    admin_url = os.environ.get("WFO_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    db_name = f"wfo_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin_url)
    await conn.execute(f'CREATE DATABASE "{db_name}"')
    await conn.close()
    db_url = admin_url.rsplit("/", 1)[0] + f"/{db_name}"

    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli_path(),
        search_attributes=SEARCH_ATTRIBUTES,
        data_converter=data_converter,
        dev_server_extra_args=["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=off"],
    )
    api_proc = None
    worker_proc = None
    worker_cm = None
    try:
        await run_migrations(db_url)
        port = free_port()
        settings = Settings(
            environment="test",
            database_url=db_url,
            temporal_address=env.client.service_client.config.target_host,
            temporal_task_queue=f"bench-{uuid.uuid4().hex[:6]}",
        )
        # a tenant + admin
        engine = create_engine(settings, pool_size=1, max_overflow=0)
        async with create_sessionmaker(engine)() as s:
            tenant = Tenant(name="bench")
            s.add(tenant)
            await s.flush()
            s.add(User(tenant_id=tenant.id, email="bench@bench.test", role=Role.admin.value,
                       hashed_password=security.hash_password("bench-password")))
            await s.commit()
        await engine.dispose()

        child_env = {
            **os.environ,
            "ENVIRONMENT": "test",
            "DATABASE_URL": db_url,
            "TEMPORAL_ADDRESS": settings.temporal_address,
            "TEMPORAL_TASK_QUEUE": settings.temporal_task_queue,
            "HTTP_ALLOW_PRIVATE_NETWORKS": "true",
            "PYTHONPATH": str(ROOT),
        }
        api_proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "api.main:create_app", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning", "--no-access-log", *args.uvicorn_arg],
            env=child_env, cwd=str(ROOT),
        )
        base = f"http://127.0.0.1:{port}"
        await wait_http(base + "/health")

        if args.inline_worker:
            from worker.main import build_worker

            worker_cm = build_worker(env.client, settings)
            await worker_cm.__aenter__()
        elif not args.no_worker:
            worker_proc = subprocess.Popen([sys.executable, "-m", "wfo.cli", "worker"], env=child_env, cwd=str(ROOT))

        limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http:
            tok = (await http.post("/api/v1/auth/token", data={"username": "bench@bench.test",
                                                               "password": "bench-password"})).json()["access_token"]
            headers = {"Authorization": f"Bearer {tok}"}
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
            "worker": "none" if args.no_worker else ("inline" if args.inline_worker else "process"),
        }
        if args.json:
            print(json.dumps(result))
        else:
            for k, v in result.items():
                print(f"{k:>15}: {v}")
    finally:
        if worker_cm is not None:
            await worker_cm.__aexit__(None, None, None)
        for proc in (api_proc, worker_proc):
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        await env.shutdown()
        conn = await asyncpg.connect(admin_url)
        await conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
