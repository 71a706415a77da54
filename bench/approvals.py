"""Latency from an approval decision to the next node starting, p50/p99, at N concurrent deciders.

Starts the stack as `make dev` runs it (``bench.stack.local_stack``): a Temporal dev server with `wfo dev`'s
settings, a fresh database on the local Postgres (``WFO_BENCH_PG_ADMIN_URL``) migrated to head, the API in its
own uvicorn process with its embedded workflow worker (``--no-embedded-worker``: without), a `wfo worker`
process, and a tiny HTTP sink on 127.0.0.1. The workflow is
``start -> approval -> http.request (POST to the sink) -> end``.

It starts ``--approvals`` executions, waits until every task is in the inbox, then ``--deciders`` concurrent
deciders approve them through ``POST /api/v1/tasks/{id}/complete`` (each as its own operator). Reported:

- ``engine gap``: from the execution's progress events (``GET /api/v1/executions/{id}`` -> progress.events),
  the next node's ``started`` ``at`` minus the approval node's ``completed`` ``at`` (workflow clock). Both are
  stamped with ``workflow.now()``, which stands still within one workflow task, and the next node is scheduled
  in the same task the approval completes in: this reads 0 by construction;
- ``vote -> next started``: the next node's ``started`` ``at`` minus the vote's ``at`` (the Update handler's
  workflow time; includes closing the inbox row, an activity);
- ``decide -> sink``: wall clock from sending the request until the next node's POST reaches the sink;
- ``POST complete``: the request itself (the Update round trip) and ``POST returned -> sink``.

Everything it started is stopped and dropped at the end.

    .venv/bin/python bench/approvals.py --approvals 30 --deciders 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlmodel import select

from bench.runner import run
from bench.stack import ADMIN_EMAIL, cpu_of, local_stack, pct, pids_matching, with_children


def definition(sink_url: str) -> dict:
    return {
        "schema_version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "ask", "type": "approval", "config": {"title": "Bench {{ input.key }}",
                                                         "assignees": {"roles": ["operator"]}}},
            {"id": "notify", "type": "http.request", "config": {"method": "POST", "url": sink_url,
                                                                "json": {"key": "{{ input.key }}"}}},
            {"id": "end", "type": "end", "config": {"output": {"sent": True}}},
            {"id": "no", "type": "end", "config": {"output": {"sent": False}}},
        ],
        "edges": [{"source": "start", "target": "ask"},
                  {"source": "ask", "source_port": "approved", "target": "notify"},
                  {"source": "ask", "source_port": "rejected", "target": "no"},
                  {"source": "notify", "target": "end"}],
    }


class Sink:
    """A minimal HTTP/1.1 server: records when each POST's JSON `key` arrives, answers 200."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.waiters: dict[str, asyncio.Future] = {}
        self.server: asyncio.base_events.Server | None = None
        self.port = 0
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._conn, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    def wait(self, key: str) -> asyncio.Future:
        fut = self.waiters.get(key)
        if fut is None:
            fut = self.waiters[key] = asyncio.get_running_loop().create_future()
            if key in self.arrived:
                fut.set_result(self.arrived[key])
        return fut

    async def _conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                now = time.perf_counter()
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                body = await reader.readexactly(length) if length else b""
                try:
                    key = json.loads(body)["key"]
                except (ValueError, KeyError, TypeError):
                    key = None
                if key is not None and key not in self.arrived:
                    self.arrived[key] = now
                    fut = self.waiters.get(key)
                    if fut is not None and not fut.done():
                        fut.set_result(now)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.writers.discard(writer)
            writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            for w in list(self.writers):  # keep-alive connections of the worker's HTTP client
                w.close()
            await self.server.wait_closed()


def _at(events: list[dict], node: str, kind: str) -> datetime | None:
    for ev in events:
        if ev.get("node_id") == node and ev.get("event") == kind:
            return datetime.fromisoformat(ev["at"])
    return None


async def history_marks(client, execution_id: str) -> tuple[float, float, float] | None:
    """(started, completed) of the workflow task that accepted the decision and the `notify` activity's start,
    as epoch seconds, from the execution's history."""
    from temporalio.api.enums.v1 import EventType

    wft_started = wft_done = act_started = None
    notify_sched = None
    last_started = last_done = None
    async for ev in client.get_workflow_handle(execution_id).fetch_history_events():
        at = ev.event_time.ToDatetime().timestamp()
        if ev.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            last_started = at
        elif ev.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            last_done = at
        elif ev.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            wft_started, wft_done = last_started, last_done
        elif (ev.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
              and ev.activity_task_scheduled_event_attributes.activity_id.startswith("notify")):
            notify_sched = ev.event_id
        elif (ev.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED and notify_sched is not None
              and ev.activity_task_started_event_attributes.scheduled_event_id == notify_sched):
            act_started = at
    if wft_started is None or wft_done is None or act_started is None:
        return None
    return wft_started, wft_done, act_started


def summary(name: str, values: list[float]) -> dict:
    return {"metric": name, "n": len(values), "p50_ms": round(pct(values, 50), 1), "p99_ms": round(pct(values, 99), 1),
            "mean_ms": round(statistics.fmean(values), 1), "min_ms": round(min(values), 1),
            "max_ms": round(max(values), 1)}


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--approvals", type=int, default=30, help="measured approvals")
    ap.add_argument("--deciders", type=int, default=5, help="concurrent deciders")
    ap.add_argument("--warmup", type=int, default=3, help="approvals decided (one at a time) before measuring")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    ap.add_argument("--unsandboxed", action="store_true", help="the workers without the workflow sandbox")
    ap.add_argument("--no-embedded-worker", action="store_true", help="the API without its embedded workflow worker")
    ap.add_argument("--profile-marker", help="a file holding this pid while the decide phase runs (for py-spy)")
    args = ap.parse_args()

    from api import security
    from wfo.db import create_engine, create_sessionmaker
    from wfo.models import Role, User

    sink = Sink()
    await sink.start()
    try:
        async with local_stack(worker="process", sandboxed=not args.unsandboxed,
                               embedded_worker=not args.no_embedded_worker,
                               http_allow_private_networks=True) as stack:
            settings, env = stack.settings, stack
            engine = create_engine(settings, pool_size=1, max_overflow=0)
            async with create_sessionmaker(engine)() as s:
                tenant_id = (await s.exec(select(User.tenant_id).where(User.email == ADMIN_EMAIL))).one()
                users = [User(tenant_id=tenant_id, email=f"op{i}@bench.test", role=Role.operator.value,
                              hashed_password="!") for i in range(args.deciders)]
                s.add_all(users)
                await s.commit()
                tokens = [security.create_access_token(settings, user_id=u.id, tenant_id=tenant_id, role=u.role)
                          for u in users]
            await engine.dispose()
            admin = {"Authorization": f"Bearer {stack.admin_token}"}
            deciders = [{"Authorization": f"Bearer {t}"} for t in tokens]
            api_pids = with_children(stack.api_proc.pid)
            worker_pids = [stack.worker_proc.pid]
            temporal_pids = pids_matching("start-dev", f"--port {settings.temporal_address.rsplit(':', 1)[1]}")

            async with httpx.AsyncClient(base_url=stack.base_url, timeout=60) as http:
                r = await http.post("/api/v1/workflows", headers=admin, json={
                    "name": "bench-approval", "definition": definition(f"http://127.0.0.1:{sink.port}/hook"),
                    "status": "active"})
                assert r.status_code == 201, r.text
                wf = r.json()["id"]

                async def start_all(n: int) -> dict[str, str]:
                    """execution id -> its sink key; returns once every task is in the inbox."""
                    keys = {}
                    for _ in range(n):
                        key = uuid.uuid4().hex
                        r = await http.post(f"/api/v1/workflows/{wf}/execute", headers=admin, json={"input": {"key": key}})
                        assert r.status_code == 202, r.text
                        keys[r.json()["id"]] = key
                    tasks: dict[str, str] = {}
                    deadline = time.monotonic() + 120
                    while len(tasks) < n:
                        assert time.monotonic() < deadline, f"only {len(tasks)}/{n} tasks appeared"
                        r = await http.get("/api/v1/tasks", headers=deciders[0],
                                           params={"workflow_id": wf, "limit": 500})
                        tasks = {t["execution_id"]: t["id"] for t in r.json()["items"] if t["execution_id"] in keys}
                        await asyncio.sleep(0.1)
                    return {ex: (keys[ex], tasks[ex]) for ex in keys}

                async def decide(todo: list[tuple[str, str, str]], concurrency: int) -> dict[str, dict]:
                    out: dict[str, dict] = {}
                    it = iter(todo)

                    async def decider(headers: dict) -> None:
                        for ex, key, tid in it:
                            arrived = sink.wait(key)
                            t0, w0 = time.perf_counter(), time.time()
                            r = await http.post(f"/api/v1/tasks/{tid}/complete", headers=headers,
                                                json={"decision": "approved"})
                            t1 = time.perf_counter()
                            assert r.status_code == 200 and r.json()["status"] == "approved", r.text
                            out[ex] = {"sent": t0, "sent_wall": w0, "returned": t1, "vote_at": r.json()["vote"]["at"], "arrived": arrived}

                    await asyncio.gather(*(decider(deciders[i % len(deciders)]) for i in range(concurrency)))
                    for rec in out.values():
                        rec["arrived"] = await asyncio.wait_for(rec["arrived"], 60)
                    return out

                if args.warmup:
                    warm = await start_all(args.warmup)
                    await decide([(ex, k, t) for ex, (k, t) in warm.items()], 1)

                started = await start_all(args.approvals)
                cpu0 = (cpu_of(api_pids), cpu_of(worker_pids), cpu_of(temporal_pids))
                if args.profile_marker:
                    Path(args.profile_marker).write_text(str(os.getpid()))
                t_all = time.perf_counter()
                decided = await decide([(ex, k, t) for ex, (k, t) in started.items()], args.deciders)
                wall_all = time.perf_counter() - t_all
                if args.profile_marker:
                    Path(args.profile_marker).unlink(missing_ok=True)
                n_decided = max(1, len(decided))
                cpu_api, cpu_worker, cpu_server = ((cpu_of(p) - c) * 1000 / n_decided for p, c in
                                                   zip((api_pids, worker_pids, temporal_pids), cpu0, strict=True))

                gaps, vote_gaps, vote_done, sink_wall, post_ms, post_to_sink = [], [], [], [], [], []
                to_wft, in_wft, to_act, act_to_sink = [], [], [], []
                for ex, rec in decided.items():
                    deadline = time.monotonic() + 60
                    while True:
                        detail = (await http.get(f"/api/v1/executions/{ex}", headers=admin)).json()
                        events = (detail.get("progress") or {}).get("events") or []
                        if detail["status"] != "running" and _at(events, "notify", "started") is not None:
                            break
                        assert time.monotonic() < deadline, detail["status"]
                        await asyncio.sleep(0.1)
                    assert detail["status"] == "completed", detail
                    done, nxt = _at(events, "ask", "completed"), _at(events, "notify", "started")
                    gaps.append((nxt - done).total_seconds() * 1000)
                    vote_at = datetime.fromisoformat(rec["vote_at"])
                    vote_gaps.append((nxt - vote_at).total_seconds() * 1000)
                    vote_done.append((done - vote_at).total_seconds() * 1000)
                    sink_wall.append((rec["arrived"] - rec["sent"]) * 1000)
                    post_ms.append((rec["returned"] - rec["sent"]) * 1000)
                    post_to_sink.append((rec["arrived"] - rec["returned"]) * 1000)
                    # where the time goes, from the history's timestamps (the server's clock is this box's)
                    marks = await history_marks(env.client, ex)
                    if marks is not None:
                        wft_started, wft_done, act_started = marks
                        to_wft.append((wft_started - rec["sent_wall"]) * 1000)
                        in_wft.append((wft_done - wft_started) * 1000)
                        to_act.append((act_started - wft_done) * 1000)
                        act_to_sink.append((rec["arrived"] - rec["sent"] - (act_started - rec["sent_wall"])) * 1000)

            result = {
                "approvals": len(decided), "deciders": args.deciders, "warmup": args.warmup,
                "sandboxed": not args.unsandboxed,
                "decide_phase_s": round(wall_all, 2), "cpus": os.cpu_count(),
                "loadavg_1m_after": round(os.getloadavg()[0], 2),
                "embedded_worker": not args.no_embedded_worker,
                "cpu_ms_per_approval": {"api": round(cpu_api, 1), "worker": round(cpu_worker, 1),
                                        "temporal": round(cpu_server, 1)},
                "metrics": [
                    summary("engine gap: approval completed -> next node started (progress events)", gaps),
                    summary("vote recorded -> next node started (workflow clock)", vote_gaps),
                    summary("  of which vote recorded -> approval completed (inbox row closed)", vote_done),
                    summary("decide request sent -> next node's POST at the sink (wall clock)", sink_wall),
                    summary("POST /tasks/{id}/complete round trip", post_ms),
                    summary("POST returned -> sink", post_to_sink),
                ] + ([
                    summary("  breakdown: request sent -> the update's workflow task started (API + Temporal)", to_wft),
                    summary("  breakdown: that workflow task (worker: update + schedule the next node)", in_wft),
                    summary("  breakdown: workflow task completed -> next node's activity started", to_act),
                    summary("  breakdown: activity started -> its POST at the sink", act_to_sink),
                ] if to_wft else []),
            }
            if args.json:
                print(json.dumps(result))
            else:
                print(f"{result['approvals']} approvals, {result['deciders']} concurrent deciders, "
                      f"{'sandboxed' if result['sandboxed'] else 'unsandboxed'} worker, "
                      f"{result['warmup']} warm-up; decide phase {result['decide_phase_s']} s; "
                      f"{result['cpus']} cpus, load {result['loadavg_1m_after']}; CPU ms per approval (decide "
                      f"phase): {result['cpu_ms_per_approval']}")
                for m in result["metrics"]:
                    print(f"  {m['metric']:<72} p50 {m['p50_ms']:>7.1f} ms   p99 {m['p99_ms']:>7.1f} ms   "
                          f"(min {m['min_ms']:.1f}, max {m['max_ms']:.1f}, n={m['n']})")
    finally:
        await sink.stop()


if __name__ == "__main__":
    run(main)
