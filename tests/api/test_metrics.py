"""The API's Prometheus endpoint counts requests by route template (never by concrete ids)."""


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
