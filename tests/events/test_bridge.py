"""Outbound events for workflow and execution changes, found by the event bridge with no code in the routes."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime, timedelta

from api.events.bridge import EventBridge
from tests.events.receiver import Receiver


async def wait_types(receiver: Receiver, wanted: set[str], timeout: float = 30) -> Counter:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        seen = Counter(json.loads(r.body)["type"] for r in receiver.requests)
        if wanted <= set(seen) or asyncio.get_running_loop().time() > deadline:
            return seen
        await asyncio.sleep(0.2)


async def test_bridge_emits_workflow_and_execution_events_once(api, worker, client, receiver: Receiver):
    t0 = datetime.now(UTC) - timedelta(seconds=1)
    r = await api.http.post("/api/v1/webhooks", headers=api.h, json={"endpoint_url": receiver.url, "events": ["*"]})
    assert r.status_code == 201
    wf = await api.workflow()
    r = await api.http.post(f"/api/v1/workflows/{wf}/execute", headers=api.h, json={"input": {"x": 1}})
    assert r.status_code == 202, r.text
    execution_id = r.json()["id"]
    await client.get_workflow_handle(execution_id).result()
    await api.http.get(f"/api/v1/executions/{execution_id}", headers=api.h)  # index converges on read

    # two replicas scanning the same changes (twice each) deliver every event once
    a = EventBridge(api.app.state.sessionmaker, client, api.settings.temporal_task_queue, since=t0)
    b = EventBridge(api.app.state.sessionmaker, client, api.settings.temporal_task_queue, since=t0)
    for bridge in (a, b, a, b):
        await bridge.scan_once()
    wanted = {"workflow.created", "execution.started", "workflow.started", "execution.completed", "workflow.completed"}
    seen = await wait_types(receiver, wanted)
    assert wanted <= set(seen) and all(seen[t] == 1 for t in wanted), seen
    done = next(json.loads(r.body) for r in receiver.requests if json.loads(r.body)["type"] == "execution.completed")
    assert done["data"]["execution_id"] == execution_id and done["data"]["status"] == "completed"
    assert done["id"] == f"execution.completed:{execution_id}"


async def test_bridge_runs_with_the_app_lifespan(api, worker, client, receiver: Receiver):
    await api.http.post("/api/v1/webhooks", headers=api.h,
                        json={"endpoint_url": receiver.url, "events": ["workflow.updated", "workflow.deleted"]})
    async with api.app.router.lifespan_context(api.app):
        wf = await api.workflow(status="draft")
        await asyncio.sleep(1.0)
        got = await api.http.get(f"/api/v1/workflows/{wf}", headers=api.h)
        r = await api.http.put(f"/api/v1/workflows/{wf}", headers={**api.h, "If-Match": got.headers["etag"]},
                               json={"status": "active"})
        assert r.status_code == 200, r.text
        await wait_types(receiver, {"workflow.updated"})  # (changes within one scan are coalesced)
        assert (await api.http.delete(f"/api/v1/workflows/{wf}", headers=api.h)).status_code == 200
        seen = await wait_types(receiver, {"workflow.updated", "workflow.deleted"})
    assert seen["workflow.deleted"] == 1 and seen["workflow.updated"] >= 1, seen
    assert "workflow.created" not in seen  # not subscribed
