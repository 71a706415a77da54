"""REST v2: bulk operations and batch execution report per-item results."""

from __future__ import annotations

import uuid

from tests.api._util import wait_status as _wait_status


async def test_bulk_mixed_items(http, tenant_a, tenant_b, definition):
    cat = f"bulk-{uuid.uuid4().hex[:6]}"
    existing = (await http.post("/api/v1/workflows", headers=tenant_a.h("developer"),
                                json={"name": "e", "category": cat, "definition": definition})).json()
    foreign = (await http.post("/api/v1/workflows", headers=tenant_b.h("developer"),
                               json={"name": "f", "definition": definition})).json()
    ops = [
        {"op": "create", "data": {"name": "b1", "category": cat, "definition": definition}},
        {"op": "create", "data": {"name": "bad", "definition": {"nodes": "nope"}}},
        {"op": "create", "data": {"definition": definition}},  # missing name
        {"op": "activate", "id": existing["id"]},
        {"op": "update", "id": existing["id"], "data": {"description": "bulk"}},
        {"op": "update", "id": existing["id"], "data": {"name": "x"}, "if_match": '"stale"'},
        {"op": "delete", "id": foreign["id"]},
        {"op": "deactivate", "id": str(uuid.uuid4())},
        {"op": "delete"},
    ]
    r = await http.post("/api/v2/workflows/bulk", headers=tenant_a.h("admin"), json={"operations": ops})
    assert r.status_code == 200, r.text
    res = r.json()["results"]
    assert [x["status"] for x in res] == [201, 422, 422, 200, 200, 412, 404, 404, 422]
    assert res[1]["error"]["problems"]
    assert r.json()["succeeded"] == 3 and r.json()["failed"] == 6
    g = (await http.get(f"/api/v1/workflows/{existing['id']}", headers=tenant_a.h())).json()
    assert g["status"] == "active" and g["description"] == "bulk"
    lst = await http.get("/api/v1/workflows", params={"category": cat}, headers=tenant_a.h())
    assert lst.json()["total"] == 2
    # the foreign workflow is untouched
    assert (await http.get(f"/api/v1/workflows/{foreign['id']}", headers=tenant_b.h())).json()["status"] == "draft"


async def test_bulk_items_checked_per_permission(http, tenant_a, definition):
    wf = (await http.post("/api/v1/workflows", headers=tenant_a.h("developer"),
                          json={"name": "p", "definition": definition})).json()
    ops = [{"op": "delete", "id": wf["id"]}, {"op": "activate", "id": wf["id"]}]
    r = await http.post("/api/v2/workflows/bulk", headers=tenant_a.h("developer"), json={"operations": ops})
    assert [x["status"] for x in r.json()["results"]] == [403, 200]
    r = await http.post("/api/v2/workflows/bulk", headers=tenant_a.h("operator"), json={"operations": ops})
    assert r.status_code == 403
    r = await http.post("/api/v2/workflows/bulk", headers=tenant_a.h("admin"), json={"operations": []})
    assert r.status_code == 422


async def test_execute_batch(http, tenant_a, tenant_b, definition, worker):
    wid = (await http.post("/api/v1/workflows", headers=tenant_a.h("developer"),
                           json={"name": "b", "definition": definition, "status": "active"})).json()["id"]
    foreign = (await http.post("/api/v1/workflows", headers=tenant_b.h("developer"),
                               json={"name": "f", "definition": definition})).json()["id"]
    items = [{"workflow_id": wid, "input": {"x": i}} for i in range(3)]
    items += [{"workflow_id": foreign, "input": {}}, {"workflow_id": wid, "version": 9}]
    r = await http.post("/api/v2/workflows/execute-batch", headers=tenant_a.h("operator"), json={"items": items})
    assert r.status_code == 200, r.text
    res = r.json()["results"]
    assert [x["status"] for x in res] == [202, 202, 202, 404, 404]
    for i, item in enumerate(res[:3]):
        d = await _wait_status(http, tenant_a, item["id"])
        assert d["output"] == {"value": 2 * i} and d["trigger"] == "batch"
