"""A worker SIGKILLed in the middle of an execution: a restarted worker completes it, and every
http.request node reached the outside world under one Idempotency-Key, however often it was sent."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

from tests.helpers import defn, node
from wfo.executions import start_execution


def spawn_worker(settings, temporal_env) -> subprocess.Popen:
    env = dict(os.environ)
    env.update({
        "TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
        "TEMPORAL_TASK_QUEUE": settings.temporal_task_queue,
        "DATABASE_URL": settings.database_url,
        "HTTP_ALLOW_PRIVATE_NETWORKS": "true",
        "ENVIRONMENT": "test",
    })
    return subprocess.Popen([sys.executable, "-m", "cli.main", "worker"], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def test_sigkill_worker_mid_execution(temporal_env, settings, http_sink):
    client = temporal_env.client
    steps = [f"n{i}" for i in range(1, 6)]
    nodes = [node("start", "start")]
    for i, name in enumerate(steps):
        delay = 2 if name == "n2" else 0.05
        nodes.append(node(name, "http.request", method="POST", url=f"{http_sink.url}/slow?s={delay}",
                          json={"step": name}, timeout="PT4S",
                          retry={"max_attempts": 10, "initial_interval": "PT0.5S", "backoff_coefficient": 1.0}))
    nodes.append(node("end", "end", output="{{ $keys(nodes) }}"))
    edges = ["start->n1"] + [f"{a}->{b}" for a, b in zip(steps, steps[1:])] + ["n5->end"]

    worker = spawn_worker(settings, temporal_env)
    try:
        handle = await start_execution(client, definition=defn(nodes, edges), input=None,
                                       task_queue=settings.temporal_task_queue)
        # wait until n2's request is in flight (the sink holds it for 2 s), then kill the worker
        deadline = time.monotonic() + 60
        while not any(r["body"] == {"step": "n2"} for r in http_sink.requests):
            assert time.monotonic() < deadline, "n2 never started"
            await asyncio.sleep(0.05)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        assert (await handle.describe()).status.name == "RUNNING"
        worker = spawn_worker(settings, temporal_env)
        result = await asyncio.wait_for(handle.result(), timeout=90)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=20)
    assert sorted(result) == sorted(["start", *steps])
    keys_by_step: dict[str, set[str]] = {}
    for r in http_sink.requests:
        keys_by_step.setdefault(r["body"]["step"], set()).add(r["key"])
    # one Idempotency-Key per node, however many times it was sent
    assert set(keys_by_step) == set(steps)
    assert all(len(keys) == 1 for keys in keys_by_step.values()), keys_by_step
    # n2 was in flight when the worker died: it was sent again, under the same key
    n2_key = next(iter(keys_by_step["n2"]))
    assert http_sink.received[n2_key] >= 2
    assert len(set().union(*keys_by_step.values())) == len(steps)
