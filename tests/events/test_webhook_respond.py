"""`webhook.respond` end to end: a sync webhook call gets the node's answer while the workflow goes on."""

from __future__ import annotations

import time

RESPOND_THEN_WAIT = {
    "schema_version": 1,
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "answer", "type": "webhook.respond", "config": {
            "status": 201, "headers": {"X-Order": "{{ $string(input.body.order) }}"},
            "body": {"accepted": True, "order": "{{ input.body.order }}"}}},
        {"id": "again", "type": "webhook.respond", "config": {"status": 500, "body": "too late"}},
        {"id": "nap", "type": "wait", "config": {"duration": "PT3S"}},
        {"id": "end", "type": "end", "config": {"output": "{{ {'first': nodes.answer, 'second': nodes.again} }}"}},
    ],
    "edges": [{"source": "start", "target": "answer"}, {"source": "answer", "target": "again"},
              {"source": "again", "target": "nap"}, {"source": "nap", "target": "end"}],
}


async def test_sync_webhook_answered_by_the_node_before_the_end(api, worker, client):
    wf = await api.workflow(RESPOND_THEN_WAIT)
    trig = await api.trigger(wf, response_mode="sync", sync_timeout_seconds=20)
    t0 = time.monotonic()
    r = await api.http.post(f"/api/v1/hooks/{trig['id']}", json={"order": 42})
    assert time.monotonic() - t0 < 3, "answered by webhook.respond, not at the end of the 3 s wait"
    assert r.status_code == 201, r.text
    assert r.json() == {"accepted": True, "order": 42}
    assert r.headers["x-order"] == "42" and r.headers["content-type"].startswith("application/json")
    execution_id = r.headers["x-wfo-execution-id"]
    handle = client.get_workflow_handle(execution_id)
    out = await handle.result()
    assert out == {"first": {"responded": True, "status": 201}, "second": {"responded": False, "status": 500}}


async def test_text_body_and_async_trigger_unaffected(api, worker, client):
    definition = {**RESPOND_THEN_WAIT, "nodes": [
        {"id": "start", "type": "start"},
        {"id": "answer", "type": "webhook.respond", "config": {"body": "pong", "content_type": "text/plain"}},
        {"id": "end", "type": "end", "config": {"output": "{{ nodes.answer }}"}}],
        "edges": [{"source": "start", "target": "answer"}, {"source": "answer", "target": "end"}]}
    wf = await api.workflow(definition)
    sync = await api.trigger(wf, response_mode="sync", sync_timeout_seconds=20)
    r = await api.http.post(f"/api/v1/hooks/{sync['id']}", json={})
    assert r.status_code == 200 and r.text == "pong" and r.headers["content-type"].startswith("text/plain")
    plain = await api.trigger(wf)
    r = await api.http.post(f"/api/v1/hooks/{plain['id']}", json={})
    assert r.status_code == 202 and r.json()["status"] == "running"
    assert (await client.get_workflow_handle(r.json()["execution_id"]).result())["responded"] is True
