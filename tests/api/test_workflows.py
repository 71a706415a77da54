"""REST v1 workflows: CRUD, filters + pagination, immutable versions, ETag/If-Match, validation, tenancy."""

from __future__ import annotations

import uuid


async def _create(http, tenant, definition, **over):
    body = {"name": f"wf-{uuid.uuid4().hex[:6]}", "description": "d", "category": "etl", "tags": ["a"], "definition": definition}
    body.update(over)
    r = await http.post("/api/v1/workflows", headers=tenant.h("developer"), json=body)
    assert r.status_code == 201, r.text
    return r


async def test_create_get_update_versions(http, tenant_a, definition):
    r = await _create(http, tenant_a, definition, tags=["x", "x", " y "])
    wf = r.json()
    assert wf["current_version"] == 1 and wf["status"] == "draft" and wf["tags"] == ["x", "y"]
    assert wf["created_by"] == tenant_a.users["developer"].email
    assert r.headers["location"] == f"/api/v1/workflows/{wf['id']}"

    g = await http.get(f"/api/v1/workflows/{wf['id']}", headers=tenant_a.h("viewer"))
    assert g.status_code == 200 and g.json()["definition"] == definition
    etag1 = g.headers["etag"]
    nm = await http.get(f"/api/v1/workflows/{wf['id']}", headers={**tenant_a.h("viewer"), "If-None-Match": etag1})
    assert nm.status_code == 304 and nm.headers["etag"] == etag1

    # metadata-only PUT: same version, new ETag
    p = await http.put(f"/api/v1/workflows/{wf['id']}", headers={**tenant_a.h("developer"), "If-Match": etag1},
                       json={"status": "active", "description": "new"})
    assert p.status_code == 200, p.text
    assert p.json()["current_version"] == 1 and p.json()["status"] == "active"
    etag2 = p.headers["etag"]
    assert etag2 != etag1

    # definition PUT: new immutable version
    d2 = {**definition, "nodes": [*definition["nodes"][:1], {**definition["nodes"][1], "config": {"expression": "{ 'value': input.x * 3 }"}}, definition["nodes"][2]]}
    p = await http.put(f"/api/v1/workflows/{wf['id']}", headers={**tenant_a.h("developer"), "If-Match": etag2},
                       json={"definition": d2})
    assert p.status_code == 200 and p.json()["current_version"] == 2 and p.json()["definition"] == d2

    vs = await http.get(f"/api/v1/workflows/{wf['id']}/versions", headers=tenant_a.h("viewer"))
    assert [v["version"] for v in vs.json()] == [2, 1]
    v1 = await http.get(f"/api/v1/workflows/{wf['id']}/versions/1", headers=tenant_a.h("viewer"))
    assert v1.status_code == 200 and v1.json()["definition"] == definition
    assert (await http.get(f"/api/v1/workflows/{wf['id']}/versions/9", headers=tenant_a.h("viewer"))).status_code == 404


async def test_stale_if_match_is_412(http, tenant_a, definition):
    wf = (await _create(http, tenant_a, definition)).json()
    etag = (await http.get(f"/api/v1/workflows/{wf['id']}", headers=tenant_a.h())).headers["etag"]
    # designer 1 saves
    r1 = await http.put(f"/api/v1/workflows/{wf['id']}", headers={**tenant_a.h("developer"), "If-Match": etag},
                        json={"definition": definition})
    assert r1.status_code == 200
    # designer 2 edited the same version: refused
    r2 = await http.put(f"/api/v1/workflows/{wf['id']}", headers={**tenant_a.h("developer"), "If-Match": etag},
                        json={"definition": definition})
    assert r2.status_code == 412
    assert "modified" in r2.json()["detail"]
    latest = await http.get(f"/api/v1/workflows/{wf['id']}", headers=tenant_a.h())
    assert latest.json()["current_version"] == 2
    # wildcard / no If-Match: allowed
    r3 = await http.put(f"/api/v1/workflows/{wf['id']}", headers={**tenant_a.h("developer"), "If-Match": "*"}, json={"name": "n"})
    assert r3.status_code == 200


async def test_concurrent_puts_with_same_etag_one_wins(http, tenant_a, definition):
    import asyncio

    wf = (await _create(http, tenant_a, definition)).json()
    etag = (await http.get(f"/api/v1/workflows/{wf['id']}", headers=tenant_a.h())).headers["etag"]
    results = await asyncio.gather(*(
        http.put(f"/api/v1/workflows/{wf['id']}", headers={**tenant_a.h("developer"), "If-Match": etag},
                 json={"definition": definition}) for _ in range(5)))
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 412, 412, 412, 412]


async def test_invalid_definition_lists_every_problem(http, tenant_a):
    bad = {
        "schema_version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "t", "type": "transform", "config": {"expression": "{ 'a': "}},
            {"id": "u", "type": "no.such.component"},
            {"id": "end", "type": "end"},
        ],
        "edges": [{"source": "start", "target": "t"}, {"source": "t", "target": "end"}, {"source": "ghost", "target": "end"}],
    }
    r = await http.post("/api/v1/workflows", headers=tenant_a.h("developer"), json={"name": "bad", "definition": bad})
    assert r.status_code == 422
    problems = r.json()["detail"]["problems"]
    assert len(problems) >= 3
    assert {"code", "message", "node_id", "edge_index", "field"} <= set(problems[0])
    located = {(p["node_id"], p["edge_index"]) for p in problems}
    assert any(n == "t" for n, _ in located)
    assert any(n == "u" for n, _ in located)
    assert any(e == 2 for _, e in located)
    # same list from the validate endpoint; PUT refuses too
    v = await http.post("/api/v1/workflows/validate", headers=tenant_a.h("viewer"), json={"definition": bad})
    assert v.json()["valid"] is False and v.json()["problems"] == problems
    assert r.json()["detail"]["message"].startswith("invalid workflow definition")


async def test_list_filters_and_pagination(http, tenant_a, definition):
    cat = f"cat-{uuid.uuid4().hex[:6]}"
    ids = []
    for i in range(5):
        ids.append((await _create(http, tenant_a, definition, category=cat, tags=[f"t{i % 2}"])).json()["id"])
    r = await http.get("/api/v1/workflows", params={"category": cat, "limit": 2}, headers=tenant_a.h("viewer"))
    page = r.json()
    assert page["total"] == 5 and len(page["items"]) == 2 and page["limit"] == 2
    seen = {w["id"] for w in page["items"]}
    for offset in (2, 4):
        r = await http.get("/api/v1/workflows", params={"category": cat, "limit": 2, "offset": offset}, headers=tenant_a.h())
        seen |= {w["id"] for w in r.json()["items"]}
    assert seen == set(ids)
    r = await http.get("/api/v1/workflows", params={"category": cat, "tag": "t1"}, headers=tenant_a.h())
    assert r.json()["total"] == 2
    await http.put(f"/api/v1/workflows/{ids[0]}", headers=tenant_a.h("developer"), json={"status": "active"})
    r = await http.get("/api/v1/workflows", params={"category": cat, "status": "active"}, headers=tenant_a.h())
    assert [w["id"] for w in r.json()["items"]] == [ids[0]]
    r = await http.get("/api/v1/workflows", params={"status": "bogus"}, headers=tenant_a.h())
    assert r.status_code == 422


async def test_delete_archives(http, tenant_a, definition):
    cat = f"arch-{uuid.uuid4().hex[:6]}"
    wf = (await _create(http, tenant_a, definition, category=cat)).json()
    assert (await http.delete(f"/api/v1/workflows/{wf['id']}", headers=tenant_a.h("developer"))).status_code == 403
    d = await http.delete(f"/api/v1/workflows/{wf['id']}", headers=tenant_a.h("admin"))
    assert d.status_code == 200 and d.json()["status"] == "archived" and d.json()["archived_at"]
    assert (await http.get("/api/v1/workflows", params={"category": cat}, headers=tenant_a.h())).json()["total"] == 0
    r = await http.get("/api/v1/workflows", params={"category": cat, "status": "archived"}, headers=tenant_a.h())
    assert r.json()["total"] == 1
    g = await http.get(f"/api/v1/workflows/{wf['id']}", headers=tenant_a.h())
    assert g.status_code == 200 and g.json()["status"] == "archived"
    p = await http.put(f"/api/v1/workflows/{wf['id']}", headers=tenant_a.h("developer"), json={"name": "x"})
    assert p.status_code == 409


async def test_other_tenant_gets_404(http, tenant_a, tenant_b, definition):
    wf = (await _create(http, tenant_a, definition)).json()
    wid = wf["id"]
    for method, path, body in [
        ("GET", f"/api/v1/workflows/{wid}", None),
        ("PUT", f"/api/v1/workflows/{wid}", {"name": "stolen"}),
        ("DELETE", f"/api/v1/workflows/{wid}", None),
        ("GET", f"/api/v1/workflows/{wid}/versions", None),
        ("GET", f"/api/v1/workflows/{wid}/versions/1", None),
        ("POST", f"/api/v1/workflows/{wid}/execute", {"input": {}}),
    ]:
        r = await http.request(method, path, headers=tenant_b.h("admin"), json=body)
        assert r.status_code == 404, (method, path, r.status_code)
    listed = await http.get("/api/v1/workflows", params={"limit": 500}, headers=tenant_b.h())
    assert wid not in {w["id"] for w in listed.json()["items"]}
    assert (await http.get(f"/api/v1/workflows/{wid}", headers=tenant_a.h())).json()["name"] == wf["name"]
