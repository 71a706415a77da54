"""`wfo dev` as a newcomer runs it: everything starts, works, stops on Ctrl-C and keeps its data."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import sys
from pathlib import Path

import httpx

from tests.localpeers import HttpSink

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


async def start_dev(data_dir: Path, api: int, grpc: int, ui: int) -> tuple[asyncio.subprocess.Process, str]:
    env = {**os.environ, "TEMPORAL_ADDRESS": f"127.0.0.1:{grpc}", "TEMPORAL_UI_URL": f"http://127.0.0.1:{ui}",
           "ENVIRONMENT": "dev", "REDIS_URL": "redis://127.0.0.1:6379/0"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli.main", "dev", "--data-dir", str(data_dir), "--port", str(api),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env, cwd=ROOT)
    banner = []

    async def read_until_ready() -> None:
        while True:
            line = await proc.stdout.readline()
            assert line, "wfo dev exited early:\n" + "".join(banner)
            banner.append(line.decode())
            if "Ctrl-C stops everything" in banner[-1]:
                return

    await asyncio.wait_for(read_until_ready(), timeout=180)

    async def drain() -> None:
        while await proc.stdout.readline():
            pass

    asyncio.get_running_loop().create_task(drain())
    for _ in range(100):
        if port_open(api):
            break
        await asyncio.sleep(0.2)
    return proc, "".join(banner)


async def stop_dev(proc: asyncio.subprocess.Process) -> int:
    proc.send_signal(signal.SIGINT)
    return await asyncio.wait_for(proc.wait(), timeout=60)


async def test_dev_stack_starts_works_stops_and_keeps_data(tmp_path):
    api, grpc, ui = free_port(), free_port(), free_port()
    data = tmp_path / "data"
    proc, banner = await start_dev(data, api, grpc, ui)
    try:
        assert f"http://127.0.0.1:{api}" in banner and f"http://127.0.0.1:{ui}" in banner
        login = re.search(r"Admin login\s+(\S+) / (\S+)", banner)
        assert login, banner
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api}", timeout=30) as http:
            assert (await http.get("/health")).status_code == 200
            token = await http.post("/api/v1/auth/token",
                                    data={"username": login.group(1), "password": login.group(2)})
            assert token.status_code == 200, token.text
            ui_page = await http.get(f"http://127.0.0.1:{ui}/")
            assert ui_page.status_code == 200
        # the engine answers on the dev server (search attributes registered, worker polling)
        run = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cli.main", "run", str(ROOT / "docs/examples/order-total.json"),
            "--input", '{"items": [{"price": 2, "qty": 3}]}', stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env={**os.environ, "TEMPORAL_ADDRESS": f"127.0.0.1:{grpc}"})
        out, err = await asyncio.wait_for(run.communicate(), timeout=120)
        assert run.returncode == 0, err.decode()
        assert json.loads(out)["amount"] == 6
        execution_id = re.search(r"execution (\S+):", err.decode()).group(1)

        # with no DATABASE_URL / TEMPORAL_ADDRESS, `wfo run` finds the dev stack and says so; a node may
        # call a local service (loopback is admitted in dev) and a large output is stored in the stack's
        # own Postgres
        assert json.loads((data / "stack.json").read_text())["temporal_address"] == f"127.0.0.1:{grpc}"
        assert "loopback admitted" in banner
        local = {"nodes": [
            {"id": "start", "type": "start"},
            {"id": "call", "type": "http.request", "config": {"url": "{{ input.url }}"}},
            {"id": "big", "type": "transform", "config": {"expression": "$pad('', 300000, 'x')"}},
            {"id": "end", "type": "end", "config": {"output": {
                "status": "{{ nodes.call.status }}", "size": "{{ $length(nodes.big) }}"}}}],
            "edges": [{"source": "start", "target": "call"}, {"source": "call", "target": "big"},
                      {"source": "big", "target": "end"}]}
        (tmp_path / "local.json").write_text(json.dumps(local))
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TEMPORAL_ADDRESS")}
        with HttpSink() as sink:
            run = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "cli.main", "run", str(tmp_path / "local.json"),
                "--input", json.dumps({"url": sink.url + "/ping"}), stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, env={**env, "WFO_DATA_DIR": str(data)})
            out, err = await asyncio.wait_for(run.communicate(), timeout=120)
        assert run.returncode == 0, err.decode()
        assert "using the dev stack" in err.decode()
        assert json.loads(out) == {"status": 200, "size": 300000}
        assert len(sink.calls("GET", "/ping")) == 1
    finally:
        code = await stop_dev(proc)
    assert code == 0
    assert not port_open(api) and not port_open(grpc)
    assert not (data / "stack.json").exists()

    # restart on the same folder: no new admin, and the earlier execution is still there
    proc, banner = await start_dev(data, api, grpc, ui)
    try:
        assert "Admin login" not in banner
        from temporalio.client import Client

        client = await Client.connect(f"127.0.0.1:{grpc}")
        desc = await client.get_workflow_handle(execution_id).describe()
        assert desc.status.name == "COMPLETED"
    finally:
        assert await stop_dev(proc) == 0
