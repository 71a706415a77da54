"""An execution input over the payload threshold goes to Postgres, not into Temporal history; a large result
comes back resolved from the API."""

from __future__ import annotations

import asyncio

import httpx

from api.main import create_app


async def test_large_input_and_output_by_reference(temporal_env, api_settings, worker, tenant_a):
    settings = api_settings.model_copy(update={"payload_threshold_bytes": 10_000})
    app = create_app(settings, temporal_client=temporal_env.client, reconcile_interval=None)
    definition = {
        "schema_version": 1,
        "nodes": [{"id": "start", "type": "start"},
                  {"id": "n", "type": "transform", "config": {"expression": "$count(input.rows)"}},
                  {"id": "end", "type": "end", "config": {"output": {"n": "{{ nodes.n }}", "rows": "{{ input.rows }}"}}}],
        "edges": [{"source": "start", "target": "n"}, {"source": "n", "target": "end"}],
    }
    rows = [{"i": i, "pad": "p" * 80} for i in range(400)]  # ~38 KB
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        r = await http.post("/api/v1/workflows", json={"name": "big", "definition": definition, "status": "active"},
                            headers=tenant_a.h("developer"))
        wf = r.json()["id"]
        r = await http.post(f"/api/v1/workflows/{wf}/execute", json={"input": {"rows": rows}},
                            headers=tenant_a.h("operator"))
        assert r.status_code == 202, r.text
        ex = r.json()["id"]
        for _ in range(200):
            detail = (await http.get(f"/api/v1/executions/{ex}", headers=tenant_a.h("viewer"))).json()
            if detail["status"] != "running":
                break
            await asyncio.sleep(0.1)
    assert detail["status"] == "completed", detail
    assert detail["output"]["n"] == 400 and detail["output"]["rows"] == rows
    history = await temporal_env.client.get_workflow_handle(ex).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes.input.payloads[0].data
    assert b"$ref" in started and b"pppppppp" not in started
    assert sum(len(e.SerializeToString()) for e in history.events) < 30_000
