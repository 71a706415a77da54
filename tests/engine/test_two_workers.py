"""Two worker processes on one task queue both take work; SIGKILLing one loses no execution."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from temporalio.client import WorkflowHandle

from tests.helpers import defn, history_identities, node
from tests.localpeers import HttpSink
from wfo.executions import start_execution
from wfo.taskqueue import describe_task_queue

N = 24
WFT_STARTED = "workflow_task_started_event_attributes"
ACTIVITY_STARTED = "activity_task_started_event_attributes"


async def identities(handles: list[WorkflowHandle], attrs: tuple[str, ...] = (WFT_STARTED, ACTIVITY_STARTED)) -> set[str]:
    """The pids of the workers named in the handles' histories (a worker's identity is `pid@host`)."""
    return {identity.split("@")[0] for h in handles for identity in await history_identities(h, *attrs)}


def tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:] if path.exists() else ""


async def test_two_workers_share_the_queue_and_one_can_die(temporal_env, settings, tmp_path):
    client, tq = temporal_env.client, settings.temporal_task_queue
    env = {**os.environ, "TEMPORAL_ADDRESS": client.service_client.config.target_host, "TEMPORAL_TASK_QUEUE": tq,
           "DATABASE_URL": settings.database_url, "HTTP_ALLOW_PRIVATE_NETWORKS": "true", "ENVIRONMENT": "test",
           "WORKER_SHUTDOWN_GRACE_SECONDS": "1", "ALERTS_INTERVAL_SECONDS": "0"}
    logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    workers = [subprocess.Popen([sys.executable, "-m", "cli.main", "worker"], env=env, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=open(log, "wb")) for log in logs]
    pid_of = {str(w.pid): w for w in workers}

    def alive() -> None:
        for w, log in zip(workers, logs):
            assert w.poll() is None, f"worker {w.pid} exited with {w.returncode}:\n{tail(log)}"

    released = threading.Event()

    def slow(req):
        released.wait(2.0)  # calls stay in flight until a worker has died (at most 2 s: under the 3 s timeout)
        return 200, {"ok": True}

    try:
        for _ in range(300):  # both workers polling before any work exists, so both get some
            state = await describe_task_queue(client, tq)
            polling = {i.split("@")[0] for i in state.workflow_pollers} & {i.split("@")[0] for i in state.activity_pollers}
            if set(pid_of) <= polling:
                break
            await asyncio.sleep(0.1)
        assert set(pid_of) <= polling, (state.workflow_pollers, state.activity_pollers, [tail(log) for log in logs])
        with HttpSink() as sink:
            sink.routes[("POST", "/work")] = slow
            d = defn([node("start", "start"),
                      node("call", "http.request", method="POST", url=sink.url + "/work", json="{{ input }}",
                           timeout="PT3S", retry={"max_attempts": 10, "initial_interval": "PT0.2S"}),
                      node("end", "end", output="{{ input.n }}")], ["start->call", "call->end"])
            handles = [await start_execution(client, definition=d, input={"n": i}, task_queue=tq) for i in range(N)]
            for _ in range(200):  # once a third of the calls have arrived ...
                if len(sink.requests) >= N // 3:
                    break
                await asyncio.sleep(0.05)
            alive()
            # ... kill a worker that took executions still running (which one the server gave work to first is
            # its choice: on a loaded machine one worker can take the whole first burst)
            running = [h for h in handles if (await h.describe()).status.name == "RUNNING"]
            holders = await identities(running, (WFT_STARTED,)) & set(pid_of)
            assert holders and running, (holders, len(running))
            victim = pid_of[sorted(holders)[0]]
            survivor = next(w for w in workers if w is not victim)
            os.killpg(victim.pid, signal.SIGKILL)
            released.set()
            results = await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), 120)
            keys = {r.headers.get("idempotency-key") for r in sink.calls("POST", "/work")}
        assert survivor.poll() is None, tail(logs[workers.index(survivor)])
        assert results == list(range(N))  # every execution completed, with its own output
        assert len(keys) == N  # each node activation reached the peer (retries reuse their key)
        # both took work: the victim the executions it held when killed, the survivor those it finished
        assert set(pid_of) <= await identities(handles), await identities(handles)
    finally:
        for w in workers:
            if w.poll() is None:
                os.killpg(w.pid, signal.SIGTERM)
                w.wait(timeout=30)
