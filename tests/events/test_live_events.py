"""Live progress over SSE, fanned out through Redis to several API replicas (real uvicorn servers)."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx

from api.main import close_app, create_app
from tests.events.conftest import api_context, make_user, serve

STEPS = {
    "schema_version": 1,
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "first", "type": "wait", "config": {"duration": "PT1S"}},
        {"id": "shape", "type": "transform", "config": {"expression": "{ 'ok': true }"}},
        {"id": "second", "type": "wait", "config": {"duration": "PT1S"}},
        {"id": "end", "type": "end", "config": {"output": "{{ nodes.shape }}"}},
    ],
    "edges": [
        {"source": "start", "target": "first"},
        {"source": "first", "target": "shape"},
        {"source": "shape", "target": "second"},
        {"source": "second", "target": "end"},
    ],
}


async def read_sse(base_url: str, path: str, headers: dict, timeout: float = 30) -> list[dict]:
    events: list[dict] = []
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout) as http:
        async with http.stream("GET", path, headers=headers) as r:
            assert r.status_code == 200, await r.aread()
            assert r.headers["content-type"].startswith("text/event-stream")
            current: dict = {}
            async for line in r.aiter_lines():
                if line.startswith("id: "):
                    current["id"] = int(line[4:])
                elif line.startswith("event: "):
                    current["event"] = line[7:]
                elif line.startswith("data: "):
                    current["data"] = json.loads(line[6:])
                elif line == "" and current:
                    events.append(current)
                    current = {}
    return events


async def start_run(api) -> str:
    wf = await api.workflow(STEPS)
    trig = await api.trigger(wf)
    r = await api.http.post(f"/api/v1/hooks/{trig['id']}", json={})
    assert r.status_code == 202
    return r.json()["execution_id"]


async def test_sse_streams_node_events_to_two_replicas_via_redis(api, worker, client, ev_settings):
    execution_id = await start_run(api)
    replica_a = create_app(ev_settings, temporal_client=client, reconcile_interval=None)
    replica_b = create_app(ev_settings, temporal_client=client, reconcile_interval=None)
    try:
        async with serve(replica_a) as url_a, serve(replica_b) as url_b:
            path = f"/api/v1/executions/{execution_id}/events"
            a, b = await asyncio.gather(read_sse(url_a, path, api.h), read_sse(url_b, path, api.h))
    finally:
        await close_app(replica_a)
        await close_app(replica_b)
    for events in (a, b):
        kinds = [(e["data"].get("node_id"), e["event"]) for e in events]
        assert ("first", "node.started") in kinds and ("first", "node.completed") in kinds
        assert ("second", "node.completed") in kinds and ("shape", "node.completed") in kinds
        assert events[-1]["event"] == "execution.completed"
        ids = [e["id"] for e in events if "id" in e]
        assert ids == sorted(ids) and len(ids) == len(set(ids))
    assert [e["id"] for e in a if "id" in e] == [e["id"] for e in b if "id" in e]
    # one elected poller published through Redis (its cursor and final event are there)
    import redis.asyncio as aioredis

    r = aioredis.from_url(ev_settings.redis_url, decode_responses=True)
    try:
        assert json.loads(await r.get(f"wfo:exec:{execution_id}:terminal"))["status"] == "completed"
        state = json.loads(await r.get(f"wfo:exec:{execution_id}:poll_state"))
        assert state["cursor"] == max(e["id"] for e in a if "id" in e)
    finally:
        await r.aclose()

    # Reconnecting with Last-Event-ID replays only what came after it.
    async with serve(create_app(ev_settings, temporal_client=client, reconcile_interval=None)) as url:
        ids = [e["id"] for e in a if "id" in e]
        rest = await read_sse(url, path, {**api.h, "Last-Event-ID": str(ids[2])})
    assert [e["id"] for e in rest if "id" in e] == ids[3:]
    assert rest[-1]["event"] == "execution.completed"


async def test_sse_without_redis_polls_directly(ev_settings, client, sessionmaker, tenant_id, worker):
    settings = ev_settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    async with api_context(settings, client, sessionmaker, tenant_id) as api:
        execution_id = await start_run(api)
        async with serve(api.app) as url:
            events = await read_sse(url, f"/api/v1/executions/{execution_id}/events", api.h)
    assert ("second", "node.completed") in [(e["data"].get("node_id"), e["event"]) for e in events]
    assert events[-1]["event"] == "execution.completed"


async def test_sse_is_tenant_scoped(api, ev_settings, client, sessionmaker):
    execution_id = await start_run(api)
    other = uuid.uuid4()
    from wfo.db import sql

    async with sessionmaker() as s:
        await sql(s, "INSERT INTO tenants (id, name) VALUES (:id, :n)", {"id": other, "n": other.hex})
        await s.commit()
    token = await make_user(sessionmaker, ev_settings, other)
    r = await api.http.get(f"/api/v1/executions/{execution_id}/events", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 404
    assert (await api.http.get(f"/api/v1/executions/{execution_id}/events")).status_code == 401


async def test_sse_streams_task_events_from_the_inbox(api, worker, client, ev_settings, sessionmaker):
    """Approval tasks (rows the approval activities write) show up as task.* events while it runs."""
    from wfo.db import sql

    long_wait = {**STEPS, "nodes": [dict(n) for n in STEPS["nodes"]]}
    long_wait["nodes"][1] = {"id": "first", "type": "wait", "config": {"duration": "PT4S"}}
    wf = await api.workflow(long_wait)
    trig = await api.trigger(wf)
    execution_id = (await api.http.post(f"/api/v1/hooks/{trig['id']}", json={})).json()["execution_id"]
    task_id = f"task-{uuid.uuid4().hex[:8]}"

    async def inbox() -> None:
        await asyncio.sleep(1.0)
        async with sessionmaker() as s:
            await sql(s, "INSERT INTO tasks (id, tenant_id, execution_id, workflow_id, node_id, title, status) "
                         "VALUES (:id, :t, :e, :w, 'approve', 'Approve it', 'pending')",
                      {"id": task_id, "t": api.tenant_id, "e": execution_id, "w": wf})
            await s.commit()
        await asyncio.sleep(1.0)
        async with sessionmaker() as s:
            await sql(s, "UPDATE tasks SET status = 'completed', decision = 'approved', completed_at = now(), "
                         "updated_at = now() WHERE id = :id", {"id": task_id})
            await s.commit()

    async with serve(api.app) as url:
        events, _ = await asyncio.gather(read_sse(url, f"/api/v1/executions/{execution_id}/events", api.h), inbox())
    tasks = [(e["event"], e["data"].get("decision")) for e in events if e["event"].startswith("task.")]
    assert tasks == [("task.created", None), ("task.completed", "approved")]
    assert events[-1]["event"] == "execution.completed"
