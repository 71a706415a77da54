"""GraphQL analyticsSummary: the same numbers as REST, on real executions."""

from __future__ import annotations

import uuid

from tests.api._util import wait_status
from tests.api.conftest import VALID_DEFINITION
from tests.graphql.test_graphql_api import URL

QUERY = """
query S($w: String, $wf: String) {
  analyticsSummary(window: $w, bucket: "PT1H", workflowId: $wf) {
    counts { running completed failed cancelled scheduled }
    successRate avgDurationSeconds
    overTime { start completed failed }
    recentCompleted { id status }
    recentFailed { id }
  }
}"""


async def test_analytics_summary_matches_rest(http, tenant_a, worker):
    r = await http.post("/api/v1/workflows", headers=tenant_a.h("developer"),
                        json={"name": f"g-{uuid.uuid4().hex[:6]}", "status": "active", "definition": VALID_DEFINITION})
    wid = r.json()["id"]
    ids = []
    for x in (1, 2):
        e = await http.post(f"/api/v1/workflows/{wid}/execute", headers=tenant_a.h("operator"), json={"input": {"x": x}})
        ids.append(e.json()["id"])
    for i in ids:
        assert (await wait_status(http, tenant_a, i))["status"] == "completed"
    r = await http.post(URL, json={"query": QUERY, "variables": {"w": "P1D", "wf": wid}}, headers=tenant_a.h("viewer"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert "errors" not in body, body
    s = body["data"]["analyticsSummary"]
    assert s["counts"] == {"running": 0, "completed": 2, "failed": 0, "cancelled": 0, "scheduled": 0}
    assert s["successRate"] == 1.0 and s["avgDurationSeconds"] > 0
    assert sorted(e["id"] for e in s["recentCompleted"]) == sorted(ids) and s["recentFailed"] == []
    assert sum(b["completed"] for b in s["overTime"]) == 2 and len(s["overTime"]) in (24, 25)
    rest = (await http.get("/api/v1/analytics/summary", params={"window": "P1D", "workflow_id": wid},
                           headers=tenant_a.h("viewer"))).json()
    assert rest["counts"] == s["counts"] and rest["success_rate"] == s["successRate"]
    bad = await http.post(URL, json={"query": QUERY, "variables": {"w": "P0D"}}, headers=tenant_a.h("viewer"))
    assert bad.json()["errors"][0]["message"].startswith("window")
    other = await http.post(URL, json={"query": QUERY, "variables": {"wf": str(uuid.uuid4())}},
                            headers=tenant_a.h("viewer"))
    assert "not found" in other.json()["errors"][0]["message"]
