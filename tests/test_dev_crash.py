"""Issue 10 item 7 and 8 end to end: `wfo dev` killed with SIGKILL starts again on the same folder (its Temporal
dev server died with it, or is reclaimed); the folder holds its own SECRET_KEY and codec key."""

from __future__ import annotations

import asyncio
import json
import signal

import httpx

from tests.test_dev_stack import free_port, port_open, start_dev, stop_dev


async def test_dev_restarts_after_sigkill_with_its_own_keys(tmp_path):
    api, grpc, ui = free_port(), free_port(), free_port()
    data = tmp_path / "data"
    proc, banner = await start_dev(data, api, grpc, ui)
    try:
        assert port_open(grpc)
        for name in ("secret_key", "codec_keys"):
            assert (data / name).stat().st_mode & 0o777 == 0o600
        assert "dev-insecure-secret-change-me" not in (data / "secret_key").read_text()
        children = json.loads((data / "children.json").read_text())
        assert children["temporal"]["pid"] > 0
        cmd = children["temporal"]["cmd"]  # the UI decodes payloads through the API's codec endpoint
        assert cmd[cmd.index("--ui-codec-endpoint") + 1] == f"http://127.0.0.1:{api}/api/v1/codec"
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    for _ in range(100):  # the Temporal dev server goes with it (PR_SET_PDEATHSIG)
        if not port_open(grpc):
            break
        await asyncio.sleep(0.1)
    assert not port_open(grpc), "the Temporal dev server outlived a SIGKILLed wfo dev"

    proc, banner = await start_dev(data, api, grpc, ui)  # no "port 7233 is already in use"
    try:
        assert "already in use" not in banner
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api}", timeout=30) as http:
            assert (await http.get("/health")).status_code == 200
            r = await http.post(f"http://127.0.0.1:{api}/api/v1/codec/decode", json={"payloads": []})
            assert r.status_code == 401  # the codec endpoint is mounted and authenticated
    finally:
        assert await stop_dev(proc) == 0
    assert not (data / "children.json").exists() or "temporal" not in json.loads((data / "children.json").read_text())
