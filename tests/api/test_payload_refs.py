"""Issue 10 item 4: stored-payload references never cross tenants or executions.

Before: `{"$ref": "payload:<id of another tenant's payload>"}` in execute input, a definition, or a value that
came back from an HTTP call returned that tenant's data.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from tests.api._util import wait_status
from tests.localpeers import HttpSink
from wfo.stores.payloads import SqlPayloadStore, may_read, resolve

SECRET_DATA = {"owner": "tenant A", "card": "4111-1111-1111-1111"}


@pytest.fixture
async def victim_payload(app, tenant_a) -> str:
    """A large output of one of tenant A's executions, as the engine stores it."""
    store = SqlPayloadStore(app.state.engine)
    return await store.put(json.dumps(SECRET_DATA).encode(), str(tenant_a.id), f"exec-{uuid.uuid4()}")


async def _workflow(http, tenant, definition) -> str:
    r = await http.post("/api/v1/workflows", headers=tenant.h("developer"),
                        json={"name": f"wf-{uuid.uuid4().hex[:6]}", "status": "active", "definition": definition})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _echo() -> dict:
    return {"schema_version": 1, "nodes": [{"id": "start", "type": "start"},
                                           {"id": "end", "type": "end", "config": {"output": "{{ input }}"}}],
            "edges": [{"source": "start", "target": "end"}]}


async def test_execute_input_with_a_payload_ref_is_refused(http, tenant_b, victim_payload):
    wf = await _workflow(http, tenant_b, _echo())
    r = await http.post(f"/api/v1/workflows/{wf}/execute", headers=tenant_b.h("developer"),
                        json={"input": {"order": {"lines": [{"$ref": f"payload:{victim_payload}"}]}}})
    assert r.status_code == 422, r.text
    assert "input.order.lines[0]" in r.text and "$ref" in r.text
    r = await http.post(f"/api/v1/workflows/{wf}/execute", headers=tenant_b.h("developer"),
                        json={"input": {"$ref": f"payload:{victim_payload}"}})
    assert r.status_code == 422 and "input" in r.text
    # an ordinary JSON-Schema-style "$ref" is still just data
    r = await http.post(f"/api/v1/workflows/{wf}/execute", headers=tenant_b.h("developer"),
                        json={"input": {"schema": {"$ref": "#/definitions/order"}}})
    assert r.status_code == 202, r.text


async def test_definition_with_a_payload_ref_is_refused(http, tenant_b, victim_payload):
    d = _echo()
    d["nodes"].insert(1, {"id": "steal", "type": "util.noop",
                          "config": {"value": {"x": {"$ref": f"payload:{victim_payload}"}}}})
    d["edges"] = [{"source": "start", "target": "steal"}, {"source": "steal", "target": "end"}]
    r = await http.post("/api/v1/workflows", headers=tenant_b.h("developer"),
                        json={"name": "steal", "status": "active", "definition": d})
    assert r.status_code == 422, r.text
    assert "steal" in r.text and "config.value.x" in r.text


async def test_webhook_body_with_a_payload_ref_is_refused(http, tenant_b, victim_payload):
    wf = await _workflow(http, tenant_b, _echo())
    r = await http.post(f"/api/v1/workflows/{wf}/triggers", headers=tenant_b.h("developer"), json={"kind": "webhook"})
    assert r.status_code == 201, r.text
    hook = r.json()["id"]
    r = await http.post(f"/api/v1/hooks/{hook}", json={"data": {"$ref": f"payload:{victim_payload}"}})
    assert r.status_code == 422, r.text
    assert "body.data" in r.text


async def test_a_ref_smuggled_through_an_http_response_reads_nothing(http, worker, tenant_b, victim_payload):
    """A value from outside (here: an HTTP body) that looks like a reference is lifted into a node output;
    the activity that loads it refuses another tenant's payload."""
    with HttpSink(routes={("GET", "/ref"): (200, {"$ref": f"payload:{victim_payload}"})}) as peer:
        d = {"schema_version": 1, "nodes": [
            {"id": "start", "type": "start"},
            {"id": "fetch", "type": "http.request", "config": {"url": peer.url + "/ref"}},
            {"id": "lift", "type": "transform", "config": {"expression": "nodes.fetch.body"}},
            {"id": "end", "type": "end", "config": {"output": "{{ nodes.lift }}"}}],
            "edges": [{"source": "start", "target": "fetch"}, {"source": "fetch", "target": "lift"},
                      {"source": "lift", "target": "end"}]}
        wf = await _workflow(http, tenant_b, d)
        r = await http.post(f"/api/v1/workflows/{wf}/execute", headers=tenant_b.h("developer"), json={"input": {}})
        assert r.status_code == 202, r.text
        done = await wait_status(http, tenant_b, r.json()["id"], timeout=40)
    text = json.dumps(done)
    assert "4111-1111" not in text and "tenant A" not in text
    assert done["status"] == "failed", text
    assert "not found" in text


async def test_store_checks_tenant_and_execution_tree(app):
    store = SqlPayloadStore(app.state.engine)
    key = await store.put(b'{"v": 1}', "tenant-a", "exec-1")
    ref = {"$ref": f"payload:{key}"}
    assert await resolve(ref, store, "tenant-a", "exec-1") == {"v": 1}
    assert await resolve(ref, store, "tenant-a", "exec-1/map/3/0") == {"v": 1}  # a child of the execution
    for tenant, execution in [("tenant-b", "exec-1"), ("tenant-a", "exec-2"), (None, "exec-1"), ("tenant-a", None)]:
        with pytest.raises(KeyError):
            await resolve(ref, store, tenant, execution)
    assert may_read("t", None, "t", "any") and not may_read("t", None, "u", "any")
    await asyncio.sleep(0)
