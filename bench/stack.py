"""A local stack for benchmarks: Temporal dev server, a throw-away migrated database, an admin, the API
(in its own uvicorn process) and a worker (own process, inline, or none). Everything is stopped and
dropped on exit.

Postgres: ``WFO_BENCH_PG_ADMIN_URL`` (default postgresql://postgres@127.0.0.1:5432/postgres);
Redis: ``WFO_BENCH_REDIS_URL`` (default redis://127.0.0.1:6379/0).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
ADMIN_EMAIL = "bench@bench.test"
ADMIN_PASSWORD = "bench-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], p: float) -> float:
    """The p-th percentile, linearly interpolated."""
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def cpu_seconds(pid: int) -> float | None:
    """user+system CPU time of a process (Linux /proc), to report CPU per request independent of load."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


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


async def wait_polling(client: Any, task_queue: str, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    """Until `proc` (a `wfo worker`) polls `task_queue` for workflow tasks: its start-up (imports, the SDK's
    build id) is over, so a measurement after this is not of a worker still starting."""
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    deadline = time.monotonic() + timeout
    while True:
        resp = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
            namespace=client.namespace, task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW))
        if any(p.identity.startswith(f"{proc.pid}@") for p in resp.pollers):
            return
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the wfo worker did not start polling")
        await asyncio.sleep(0.2)


@asynccontextmanager
async def temp_database() -> AsyncIterator[str]:
    """A fresh database on the local Postgres, migrated to head, dropped afterwards."""
    from wfo.db import run_migrations

    admin_url = os.environ.get("WFO_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"wfo_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin_url)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        await run_migrations(url)
        yield url
    finally:
        conn = await asyncpg.connect(admin_url)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


async def start_temporal(extra_args: list[str] | None = None):
    """The bundled Temporal dev server with our search attributes and `wfo dev`'s settings (a SQLite file
    with WAL, eager workflow start and eager activities), its file in a temporary folder."""
    import tempfile

    from temporalio.testing import WorkflowEnvironment

    from cli.dev import DEV_SERVER_ARGS
    from wfo.temporal import SEARCH_ATTRIBUTES, temporal_cli_path
    from workflows.converter import data_converter

    db = Path(tempfile.mkdtemp(prefix="wfo-bench-temporal-")) / "temporal.db"
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli_path(), search_attributes=SEARCH_ATTRIBUTES,
        data_converter=data_converter,
        dev_server_extra_args=["--db-filename", str(db), *DEV_SERVER_ARGS, *(extra_args or [])],
    )


async def create_admin(settings) -> str:
    """The bench tenant's admin; returns an access token for it (minted, not a login: the shared Redis's
    per-address login throttle, counted for 127.0.0.1 by every test on this box, cannot lock a bench out)."""
    from api import security
    from wfo.db import create_engine, create_sessionmaker
    from wfo.models import Role, Tenant, User

    engine = create_engine(settings, pool_size=1, max_overflow=0)
    try:
        async with create_sessionmaker(engine)() as s:
            tenant = Tenant(name="bench")
            s.add(tenant)
            await s.flush()
            user = User(tenant_id=tenant.id, email=ADMIN_EMAIL, role=Role.admin.value,
                        hashed_password=security.hash_password(ADMIN_PASSWORD))
            s.add(user)
            await s.commit()
            return security.create_access_token(settings, user_id=user.id, tenant_id=tenant.id, role=user.role)
    finally:
        await engine.dispose()


@dataclass
class Stack:
    settings: Any
    client: Any
    """The Temporal client."""
    env: Any = None
    """The Temporal dev server's environment (its process is `env._server._process`)."""
    base_url: str = ""
    api_proc: subprocess.Popen | None = None
    worker_proc: subprocess.Popen | None = None
    procs: list[subprocess.Popen] = field(default_factory=list)
    admin_token: str = ""

    async def login(self, http: httpx.AsyncClient) -> dict[str, str]:
        """The admin's bearer header (`http` is unused: kept for the callers)."""
        return {"Authorization": f"Bearer {self.admin_token}"}


@asynccontextmanager
async def local_stack(*, worker: str = "process", api_process: bool = True,
                      uvicorn_args: list[str] | None = None, temporal_args: list[str] | None = None,
                      worker_args: list[str] | None = None, embedded_worker: bool = True,
                      sandboxed: bool | None = None, **settings_overrides: Any) -> AsyncIterator[Stack]:
    """`worker`: "process" (`wfo worker` with `worker_args`), "inline" (this event loop) or "none".
    The worker process is `stack.worker_proc`. The API process is `wfo api`'s app (`cli.serve`), with its
    embedded workflow worker unless `embedded_worker` is False (as `wfo dev` runs it). `sandboxed`: the
    workflow sandbox of both workers (WORKER_SANDBOXED; None: the environment's)."""
    from wfo.settings import Settings
    from worker.main import build_worker

    env = await start_temporal(temporal_args)
    worker_cm = None
    stack: Stack | None = None
    try:
        async with temp_database() as db_url:
            settings = Settings(
                environment="test", database_url=db_url,
                redis_url=os.environ.get("WFO_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
                temporal_address=env.client.service_client.config.target_host,
                temporal_task_queue=f"bench-{uuid.uuid4().hex[:6]}", **settings_overrides,
            )
            token = await create_admin(settings)
            stack = Stack(settings=settings, client=env.client, env=env, admin_token=token)
            child_env = {
                **os.environ, "ENVIRONMENT": "test", "DATABASE_URL": db_url, "REDIS_URL": settings.redis_url,
                "TEMPORAL_ADDRESS": settings.temporal_address, "TEMPORAL_TASK_QUEUE": settings.temporal_task_queue,
                "HTTP_ALLOW_PRIVATE_NETWORKS": str(settings.http_allow_private_networks).lower(),
                "PYTHONPATH": str(ROOT), "API_EMBEDDED_WORKER": str(embedded_worker).lower(),
            }
            if sandboxed is not None:
                child_env["WORKER_SANDBOXED"] = str(sandboxed).lower()
            if api_process:
                port = free_port()
                stack.api_proc = subprocess.Popen(
                    [sys.executable, "-m", "uvicorn", "--factory", "cli.serve:create_app", "--host", "127.0.0.1",
                     "--port", str(port), "--log-level", "warning", "--no-access-log", "--timeout-keep-alive", "120",
                     *(uvicorn_args or [])],
                    env=child_env, cwd=str(ROOT))
                stack.procs.append(stack.api_proc)
                stack.base_url = f"http://127.0.0.1:{port}"
                try:
                    await wait_http(stack.base_url + "/health", timeout=120)
                except BaseException:
                    stack.api_proc.kill()  # never leave an API behind on a database about to be dropped
                    raise
            if worker == "inline":
                worker_cm = build_worker(env.client, settings)
                await worker_cm.__aenter__()
            elif worker == "process":
                stack.worker_proc = subprocess.Popen([sys.executable, "-m", "cli.main", "worker", *(worker_args or [])],
                                                     env=child_env, cwd=str(ROOT))
                stack.procs.append(stack.worker_proc)
                await wait_polling(env.client, settings.temporal_task_queue, stack.worker_proc)
            try:
                yield stack
            finally:
                if worker_cm is not None:
                    await worker_cm.__aexit__(None, None, None)
                for proc in stack.procs:
                    proc.terminate()
                    try:
                        proc.wait(10)
                    except subprocess.TimeoutExpired:
                        proc.kill()
    finally:
        await env.shutdown()


def rss_kib(pid: int) -> tuple[int, int] | None:
    """(VmRSS, VmHWM) of a process in KiB (Linux /proc): resident now and its peak."""
    try:
        fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
        return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])
    except (OSError, KeyError, ValueError):
        return None


def pids_matching(*needles: str) -> list[int]:
    """Processes whose command line contains every needle (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if all(n in cmd for n in needles):
            found.append(int(entry.name))
    return found


def with_children(pid: int) -> list[int]:
    """`pid` and its descendants (uvicorn's worker processes under `--workers N`)."""
    import psutil

    try:
        return [pid, *(c.pid for c in psutil.Process(pid).children(recursive=True))]
    except psutil.Error:
        return [pid]


def cpu_of(pids: list[int]) -> float:
    return sum(c for c in (cpu_seconds(p) for p in pids) if c is not None)
