"""Approval tasks reach outbound webhook subscribers: task.created when a task opens, task.completed on decision."""

from __future__ import annotations

import asyncio
import json

from tests.events.receiver import Receiver


async def test_task_created_and_completed_are_delivered(api, worker, receiver: Receiver):
    r = await api.http.post("/api/v1/webhooks", headers=api.h,
                            json={"endpoint_url": receiver.url, "events": ["task.created", "task.completed"]})
    assert r.status_code == 201, r.text
    definition = {
        "schema_version": 1,
        "nodes": [{"id": "start", "type": "start"},
                  {"id": "ask", "type": "approval",
                   "config": {"title": "Ship it?", "assignees": {"roles": ["admin"]}, "allow_self_approval": True}},
                  {"id": "end", "type": "end", "config": {"output": "{{ nodes.ask.decision }}"}}],
        "edges": [{"source": "start", "target": "ask"}, {"source": "ask", "source_port": "approved", "target": "end"}],
    }
    wf = await api.workflow(definition)
    r = await api.http.post(f"/api/v1/workflows/{wf}/execute", json={"input": {}}, headers=api.h)
    execution_id = r.json()["id"]
    for _ in range(200):
        items = (await api.http.get("/api/v1/tasks", params={"execution_id": execution_id}, headers=api.h)).json()
        if items["items"]:
            break
        await asyncio.sleep(0.1)
    task_id = items["items"][0]["id"]
    r = await api.http.post(f"/api/v1/tasks/{task_id}/complete", json={"decision": "approved"}, headers=api.h)
    assert r.status_code == 200, r.text

    received = await receiver.wait_for(2, timeout=60)
    events = {}
    for item in received:
        body = json.loads(item.body)
        events[body["type"]] = body
        assert any(k.lower().startswith("x-wfo-signature") or "signature" in k.lower() for k in item.headers)
    assert set(events) == {"task.created", "task.completed"}
    assert events["task.created"]["data"]["task_id"] == task_id
    assert events["task.completed"]["data"]["decision"] == "approved"
    assert events["task.completed"]["data"]["execution_id"] == execution_id
