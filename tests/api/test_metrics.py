"""The API's Prometheus endpoint counts requests by route template (never by concrete ids)."""

from tests.helpers import prom_sample


async def test_metrics_by_route_template(http, tenant_a):
    await http.get("/api/v1/workflows", headers=tenant_a.h("viewer"))
    await http.get("/api/v1/workflows/00000000-0000-0000-0000-000000000000", headers=tenant_a.h("viewer"))
    r = await http.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert 'wfo_api_requests_total{method="GET",route="/api/v1/workflows",status="200"}' in text
    assert 'route="/api/v1/workflows/{workflow_id}",status="404"' in text
    assert "00000000-0000-0000-0000-000000000000" not in text
    assert "wfo_api_request_duration_seconds_bucket" in text


async def test_documented_api_metrics_move(app, http, worker, tenant_a, api_settings):
    """`api_requests_total{method, endpoint}`, `api_request_duration_seconds`, `workflow_active_count`,
    `workflow_queue_depth` and the system gauges, checked before and after real requests and executions."""
    import asyncio

    before = (await http.get("/metrics")).text
    wf = await http.post("/api/v1/workflows", headers=tenant_a.h("developer"), json={
        "name": "metrics-wait", "status": "active", "definition": {"nodes": [
            {"id": "start", "type": "start"}, {"id": "w", "type": "wait", "config": {"duration": "PT1H"}},
            {"id": "end", "type": "end"}], "edges": [{"source": "start", "target": "w"},
                                                     {"source": "w", "target": "end"}]}})
    assert wf.status_code == 201, wf.text
    started = [await http.post(f"/api/v1/workflows/{wf.json()['id']}/execute", headers=tenant_a.h("developer"),
                               json={"input": {}}) for _ in range(2)]
    assert all(r.status_code == 202 for r in started), started[0].text
    for _ in range(3):
        await http.get("/api/v1/workflows", headers=tenant_a.h("viewer"))
    try:
        for _ in range(40):  # visibility is eventually consistent
            app.state.gauges_refreshed = -1e9  # skip the scrape cache for the test
            after = (await http.get("/metrics")).text
            if prom_sample(after, "workflow_active_count") >= 2:
                break
            await asyncio.sleep(0.25)
        ep = '{endpoint="/api/v1/workflows",method="GET"}'
        assert prom_sample(after, "api_requests_total", ep) - prom_sample(before, "api_requests_total", ep) == 3
        assert prom_sample(after, "api_request_duration_seconds_count", ep) >= 3
        ex = '{endpoint="/api/v1/workflows/{workflow_id}/execute",method="POST"}'
        assert prom_sample(after, "api_requests_total", ex) - prom_sample(before, "api_requests_total", ex) == 2
        assert prom_sample(after, "workflow_active_count") >= 2
        assert f'workflow_queue_depth{{task_queue="{api_settings.temporal_task_queue}"}}' in after
        assert 0 <= prom_sample(after, "system_cpu_percent") <= 100 and prom_sample(after, "system_memory_percent") > 0
    finally:
        for r in started:
            await http.post(f"/api/v1/executions/{r.json()['id']}/cancel", headers=tenant_a.h("developer"))
