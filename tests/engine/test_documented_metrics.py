"""The worker exports the product docs' metrics: executions by status, their duration, system gauges."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import httpx
import pytest
from temporalio.client import WorkflowFailureError

from tests.helpers import defn, node, prom_sample
from tests.localpeers import free_port
from wfo.executions import start_execution

WORKER_CMD = [sys.executable, "-m", "cli.main", "worker"]


async def test_worker_exports_execution_metrics(temporal_env, settings):
    port = free_port()
    env = {**os.environ, "TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
           "TEMPORAL_TASK_QUEUE": settings.temporal_task_queue, "DATABASE_URL": settings.database_url,
           "WORKER_METRICS_PORT": str(port), "ENVIRONMENT": "test"}
    worker = subprocess.Popen(WORKER_CMD, env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client, tq = temporal_env.client, settings.temporal_task_queue
    try:
        ok = defn([node("start", "start"), node("t", "transform", expression="input.n * 2"),
                   node("end", "end", output="{{ nodes.t }}")], ["start->t", "t->end"])
        bad = defn([node("start", "start"), node("stop", "terminate", message="no")], ["start->stop"])
        slow = defn([node("start", "start"), node("w", "wait", duration="PT1H"), node("end", "end")],
                    ["start->w", "w->end"])
        for n in (1, 2):
            assert await asyncio.wait_for((await start_execution(client, definition=ok, input={"n": n},
                                                                 task_queue=tq)).result(), 60) == n * 2
        with pytest.raises(WorkflowFailureError):
            await asyncio.wait_for((await start_execution(client, definition=bad, input=None,
                                                          task_queue=tq)).result(), 60)
        h = await start_execution(client, definition=slow, input=None, task_queue=tq)
        await asyncio.sleep(1.0)
        await h.cancel()
        with pytest.raises(WorkflowFailureError):
            await asyncio.wait_for(h.result(), 60)

        text = ""
        async with httpx.AsyncClient() as http:
            for _ in range(100):  # the SDK's exporter publishes on its own schedule
                try:
                    text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
                    if (prom_sample(text, "workflow_executions_total", '{status="cancelled"}') >= 1
                            and "system_cpu_percent" in text):
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
    assert prom_sample(text, "workflow_executions_total", '{status="completed"}') == 2, text[:2000]
    assert prom_sample(text, "workflow_executions_total", '{status="failed"}') == 1
    assert prom_sample(text, "workflow_executions_total", '{status="cancelled"}') == 1
    assert prom_sample(text, "workflow_execution_duration_seconds_count") == 4
    assert prom_sample(text, "workflow_execution_duration_seconds_sum") >= 1.0  # the cancelled one waited ~1 s
    assert 0 <= prom_sample(text, "system_cpu_percent") <= 100
    assert 0 < prom_sample(text, "system_memory_percent") <= 100
