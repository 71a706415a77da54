"""Two worker processes on one task queue both take work; SIGKILLing one loses no execution."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

from tests.helpers import defn, node
from tests.localpeers import HttpSink
from wfo.executions import start_execution
from wfo.taskqueue import describe_task_queue

N = 24


async def test_two_workers_share_the_queue_and_one_can_die(temporal_env, settings):
    client, tq = temporal_env.client, settings.temporal_task_queue
    env = {**os.environ, "TEMPORAL_ADDRESS": client.service_client.config.target_host, "TEMPORAL_TASK_QUEUE": tq,
           "DATABASE_URL": settings.database_url, "HTTP_ALLOW_PRIVATE_NETWORKS": "true", "ENVIRONMENT": "test",
           "WORKER_SHUTDOWN_GRACE_SECONDS": "1", "ALERTS_INTERVAL_SECONDS": "0"}
    workers = [subprocess.Popen([sys.executable, "-m", "cli.main", "worker"], env=env, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]

    def slow(req):
        time.sleep(0.3)  # keep calls in flight when a worker dies
        return 200, {"ok": True}

    try:
        pids = {str(w.pid) for w in workers}
        for _ in range(300):  # both workers polling before any work exists, so both get some
            state = await describe_task_queue(client, tq)
            polling = {i.split("@")[0] for i in state.workflow_pollers} & {i.split("@")[0] for i in state.activity_pollers}
            if pids <= polling:
                break
            await asyncio.sleep(0.1)
        assert pids <= polling, polling
        with HttpSink() as sink:
            sink.routes[("POST", "/work")] = slow
            d = defn([node("start", "start"),
                      node("call", "http.request", method="POST", url=sink.url + "/work", json="{{ input }}",
                           timeout="PT3S", retry={"max_attempts": 10, "initial_interval": "PT0.2S"}),
                      node("end", "end", output="{{ input.n }}")], ["start->call", "call->end"])
            handles = [await start_execution(client, definition=d, input={"n": i}, task_queue=tq) for i in range(N)]
            for _ in range(200):  # kill one worker once a third of the calls have arrived
                if len(sink.requests) >= N // 3:
                    break
                await asyncio.sleep(0.05)
            os.killpg(workers[0].pid, signal.SIGKILL)
            results = await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), 120)
            keys = {r.headers.get("idempotency-key") for r in sink.calls("POST", "/work")}
        assert results == list(range(N))  # every execution completed, with its own output
        assert len(keys) == N  # each node activation reached the peer (retries reuse their key)
        identities = set()
        for h in handles:
            async for event in h.fetch_history_events():
                for attrs in ("workflow_task_started_event_attributes", "activity_task_started_event_attributes"):
                    if event.HasField(attrs):
                        identities.add(getattr(event, attrs).identity.split("@")[0])
        assert {str(workers[0].pid), str(workers[1].pid)} <= identities, identities  # both took work
    finally:
        for w in workers:
            if w.poll() is None:
                os.killpg(w.pid, signal.SIGTERM)
                w.wait(timeout=30)
