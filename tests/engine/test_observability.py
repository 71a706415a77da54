"""The worker's Prometheus endpoint exports the SDK's metrics and our per-component counters."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys

import httpx

from tests.helpers import defn, node
from wfo.executions import start_execution


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_worker_metrics_endpoint(temporal_env, settings, http_sink):
    port = free_port()
    env = {**os.environ, "TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
           "TEMPORAL_TASK_QUEUE": settings.temporal_task_queue, "DATABASE_URL": settings.database_url,
           "HTTP_ALLOW_PRIVATE_NETWORKS": "true", "WORKER_METRICS_PORT": str(port), "ENVIRONMENT": "test"}
    worker = subprocess.Popen([sys.executable, "-m", "cli.main", "worker"], env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        d = defn([node("start", "start"), node("ok", "http.request", url=http_sink.url + "/m"),
                  node("bad", "http.request", url=http_sink.url + "/status/404"),
                  node("end", "end")], ["start->ok", "ok->bad", "bad:error->end", "bad->end"])
        h = await start_execution(temporal_env.client, definition=d, input=None,
                                  task_queue=settings.temporal_task_queue)
        await asyncio.wait_for(h.result(), 60)
        async with httpx.AsyncClient() as http:
            for _ in range(50):
                try:
                    text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
                    if "wfo_node_runs" in text:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
    lines = [ln for ln in text.splitlines() if ln.startswith("wfo_node_runs")]
    assert any('component="http.request"' in ln and 'outcome="completed"' in ln for ln in lines), lines
    assert any('component="http.request"' in ln and 'outcome="failed"' in ln for ln in lines), lines
    assert "temporal_activity_execution_latency" in text or "temporal_workflow_completed" in text
