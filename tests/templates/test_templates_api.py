"""REST: /api/v1/templates — listing, detail, create-workflow, permissions and tenancy."""

from __future__ import annotations

import pytest

from api import templates as catalog

pytestmark = pytest.mark.asyncio


async def test_list_and_filter(http, tenant_a):
    r = await http.get("/api/v1/templates", headers=tenant_a.h("viewer"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == len(catalog.list_templates()) >= 15
    assert "finance" in body["categories"]
    first = body["items"][0]
    assert set(first) >= {"id", "name", "category", "description", "tags", "parameters"} and "definition" not in first
    r = await http.get("/api/v1/templates", params={"category": "finance"}, headers=tenant_a.h("viewer"))
    assert {t["id"] for t in r.json()["items"]} == {"invoice-approval", "expense-approval"}


async def test_detail_and_404(http, tenant_a):
    r = await http.get("/api/v1/templates/order-processing", headers=tenant_a.h("viewer"))
    assert r.status_code == 200
    body = r.json()
    assert body["parameters"]["required"] == ["inventory_url", "payment_url", "shipping_url", "ops_email"]
    assert body["example_parameters"]["ops_email"] == "ops@example.com"
    assert "%{inventory_url}/reservations" in str(body["definition"])
    r = await http.get("/api/v1/templates/no-such-template", headers=tenant_a.h("viewer"))
    assert r.status_code == 404


async def test_requires_authentication(http):
    assert (await http.get("/api/v1/templates")).status_code == 401
    assert (await http.post("/api/v1/templates/api-sync/create-workflow", json={"name": "x"})).status_code == 401


async def test_create_workflow_from_template(http, tenant_a, tenant_b):
    tpl = catalog.get_template("lead-routing")
    r = await http.post("/api/v1/templates/lead-routing/create-workflow", headers=tenant_a.h("developer"),
                        json={"name": "Inbound leads", "parameters": tpl.example_parameters})
    assert r.status_code == 201, r.text
    wf = r.json()
    assert wf["template_id"] == "lead-routing" and wf["name"] == "Inbound leads"
    assert wf["category"] == "sales" and "template:lead-routing" in wf["tags"] and wf["status"] == "draft"
    assert wf["current_version"] == 1
    assert r.headers["Location"] == f"/api/v1/workflows/{wf['id']}"
    assert wf["definition"] == catalog.instantiate("lead-routing", tpl.example_parameters)

    # it is an ordinary stored workflow of the caller's tenant
    r = await http.get(f"/api/v1/workflows/{wf['id']}", headers=tenant_a.h("viewer"))
    assert r.status_code == 200 and r.json()["definition"] == wf["definition"]
    assert (await http.get(f"/api/v1/workflows/{wf['id']}", headers=tenant_b.h("admin"))).status_code == 404


async def test_create_workflow_overrides(http, tenant_a):
    r = await http.post("/api/v1/templates/api-sync/create-workflow", headers=tenant_a.h("admin"), json={
        "name": "CRM to mailing list", "description": "nightly", "category": "marketing", "tags": ["crm"],
        "status": "active", "parameters": {"source_url": "https://crm.example.com/c", "target_url": "https://m.example.com/s",
                                           "concurrency": 2}})
    assert r.status_code == 201, r.text
    wf = r.json()
    assert (wf["description"], wf["category"], wf["tags"], wf["status"]) == ("nightly", "marketing", ["crm"], "active")
    push = next(n for n in wf["definition"]["nodes"] if n["id"] == "push")
    assert push["config"]["concurrency"] == 2


async def test_bad_parameters_listed(http, tenant_a):
    r = await http.post("/api/v1/templates/order-processing/create-workflow", headers=tenant_a.h("developer"),
                        json={"name": "x", "parameters": {"inventory_url": "ftp://x", "currency": "usd", "extra": 1}})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert {e["parameter"] for e in detail["errors"]} == {
        "inventory_url", "payment_url", "shipping_url", "ops_email", "currency", "extra"}
    r = await http.post("/api/v1/templates/nope/create-workflow", headers=tenant_a.h("developer"),
                        json={"name": "x", "parameters": {}})
    assert r.status_code == 404
    r = await http.post("/api/v1/templates/api-sync/create-workflow", headers=tenant_a.h("developer"),
                        json={"parameters": {}})
    assert r.status_code == 422  # name missing


@pytest.mark.parametrize("role,expected", [("viewer", 403), ("operator", 403), ("developer", 201), ("admin", 201)])
async def test_create_needs_workflow_create(http, tenant_a, role, expected):
    tpl = catalog.get_template("scheduled-report")
    r = await http.post("/api/v1/templates/scheduled-report/create-workflow", headers=tenant_a.h(role),
                        json={"name": f"report by {role}", "parameters": tpl.example_parameters})
    assert r.status_code == expected, r.text


async def test_template_to_execution_through_the_api(http, tenant_a, worker):
    """Create a workflow from a template over REST, execute it over REST, read its output back."""
    import asyncio

    from tests.localpeers import HttpSink

    with HttpSink() as web:
        web.routes[("GET", "/src")] = (200, {"records": [{"key": 7, "title": "a"}, {"key": 8, "title": "b"}]})
        r = await http.post("/api/v1/templates/api-sync/create-workflow", headers=tenant_a.h("developer"), json={
            "name": "sync via api", "parameters": {
                "source_url": f"{web.url}/src", "items_field": "records", "target_url": f"{web.url}/dst",
                "item_mapping": "{ 'id': $string(key), 'title': $uppercase(title) }"}})
        assert r.status_code == 201, r.text
        wf_id = r.json()["id"]
        r = await http.post(f"/api/v1/workflows/{wf_id}/execute", json={"input": None}, headers=tenant_a.h("operator"))
        assert r.status_code == 202, r.text
        exec_id = r.json()["id"]
        for _ in range(150):
            r = await http.get(f"/api/v1/executions/{exec_id}", headers=tenant_a.h("viewer"))
            if r.json()["status"] != "running":
                break
            await asyncio.sleep(0.2)
        body = r.json()
        assert body["status"] == "completed", body
        assert body["output"] == {"fetched": 2, "synced": 2, "failed": []}
        assert sorted(req.body["title"] for req in web.requests if req.method == "PUT") == ["A", "B"]


CUSTOM = {
    "name": "Ping a URL", "category": "utilities", "description": "Calls a URL and returns the status.",
    "tags": ["http"],
    "parameters": {"type": "object", "required": ["url"], "properties": {
        "url": {"type": "string", "pattern": "^https?://"}, "method": {"enum": ["GET", "HEAD"], "default": "GET"}}},
    "example_parameters": {"url": "https://example.com/health"},
    "definition": {"schema_version": 1, "nodes": [
        {"id": "start", "type": "start"},
        {"id": "call", "type": "http.request", "config": {"method": "%{method}", "url": "%{url}"}},
        {"id": "end", "type": "end", "config": {"output": "{{ nodes.call.status }}"}}],
        "edges": [{"source": "start", "target": "call"}, {"source": "call", "target": "end"}]},
}


async def test_tenant_templates(http, tenant_a, tenant_b):
    import copy
    import uuid

    body = copy.deepcopy(CUSTOM)
    body["id"] = f"ping-{uuid.uuid4().hex[:6]}"
    r = await http.post("/api/v1/templates", json=body, headers=tenant_a.h("developer"))
    assert r.status_code == 201, r.text
    tid = r.json()["id"]
    assert r.json()["builtin"] is False and r.headers["Location"] == f"/api/v1/templates/{tid}"

    r = await http.get("/api/v1/templates", params={"category": "utilities"}, headers=tenant_a.h("viewer"))
    assert [t["id"] for t in r.json()["items"]] == [tid]
    assert "utilities" in (await http.get("/api/v1/templates", headers=tenant_a.h("viewer"))).json()["categories"]
    # invisible to another tenant: 404, not 403
    r = await http.get("/api/v1/templates", params={"category": "utilities"}, headers=tenant_b.h("admin"))
    assert r.json()["items"] == []
    assert (await http.get(f"/api/v1/templates/{tid}", headers=tenant_b.h("admin"))).status_code == 404
    r = await http.post(f"/api/v1/templates/{tid}/create-workflow", json={"name": "x"}, headers=tenant_b.h("admin"))
    assert r.status_code == 404
    assert (await http.delete(f"/api/v1/templates/{tid}", headers=tenant_b.h("admin"))).status_code == 404

    r = await http.post(f"/api/v1/templates/{tid}/create-workflow", headers=tenant_a.h("developer"),
                        json={"name": "ping", "parameters": {"url": "https://example.org/x", "method": "HEAD"}})
    assert r.status_code == 201, r.text
    call = next(n for n in r.json()["definition"]["nodes"] if n["id"] == "call")
    assert call["config"] == {"method": "HEAD", "url": "https://example.org/x"}
    assert r.json()["category"] == "utilities"

    assert (await http.post("/api/v1/templates", json=body, headers=tenant_a.h("developer"))).status_code == 409
    r = await http.post("/api/v1/templates", json={**body, "id": "api-sync"}, headers=tenant_a.h("developer"))
    assert r.status_code == 409  # a built-in id
    assert (await http.delete(f"/api/v1/templates/{tid}", headers=tenant_a.h("viewer"))).status_code == 403
    assert (await http.delete("/api/v1/templates/api-sync", headers=tenant_a.h("admin"))).status_code == 409
    assert (await http.delete(f"/api/v1/templates/{tid}", headers=tenant_a.h("developer"))).status_code == 204
    assert (await http.get(f"/api/v1/templates/{tid}", headers=tenant_a.h("viewer"))).status_code == 404


async def test_tenant_template_id_from_name(http, tenant_a):
    import uuid

    name = f"My Ping {uuid.uuid4().hex[:6]}"
    r = await http.post("/api/v1/templates", json={**CUSTOM, "name": name}, headers=tenant_a.h("admin"))
    assert r.status_code == 201, r.text
    assert r.json()["id"] == name.lower().replace(" ", "-")


@pytest.mark.parametrize("change,fragment", [
    ({"parameters": {"type": "array"}}, "type"),
    ({"parameters": {"type": "object", "properties": {"url": {"type": "nonsense"}}}}, "not a valid JSON Schema"),
    ({"example_parameters": {"url": "ftp://x"}}, "example_parameters are invalid"),
    ({"definition": {**CUSTOM["definition"], "nodes": [*CUSTOM["definition"]["nodes"],
                                                       {"id": "x", "type": "util.noop", "config": {"value": "%{nope}"}}]}},
     "undeclared parameters: nope"),
])
async def test_invalid_tenant_templates(http, tenant_a, change, fragment):
    r = await http.post("/api/v1/templates", json={**CUSTOM, "id": "bad-one", **change}, headers=tenant_a.h("developer"))
    assert r.status_code == 422, r.text
    assert fragment in r.json()["detail"]["message"]


async def test_tenant_template_with_invalid_definition_lists_problems(http, tenant_a):
    broken = {**CUSTOM["definition"], "nodes": [*CUSTOM["definition"]["nodes"], {"id": "lost", "type": "util.noop"}]}
    r = await http.post("/api/v1/templates", json={**CUSTOM, "id": "broken-one", "definition": broken},
                        headers=tenant_a.h("developer"))
    assert r.status_code == 422
    assert [(p["code"], p["node_id"]) for p in r.json()["detail"]["problems"]] == [("unreachable", "lost")]


@pytest.mark.parametrize("role,expected", [("viewer", 403), ("operator", 403), ("developer", 201), ("admin", 201)])
async def test_creating_templates_needs_template_create(http, tenant_a, role, expected):
    import uuid

    r = await http.post("/api/v1/templates", json={**CUSTOM, "id": f"perm-{role}-{uuid.uuid4().hex[:4]}"},
                        headers=tenant_a.h(role))
    assert r.status_code == expected, r.text


async def test_long_template_id_still_makes_a_valid_workflow(http, tenant_a):
    tid = "x" * 60 + "-ok"
    r = await http.post("/api/v1/templates", json={**CUSTOM, "id": tid}, headers=tenant_a.h("developer"))
    assert r.status_code in (201, 409), r.text
    r = await http.post(f"/api/v1/templates/{tid}/create-workflow", json={"name": "long", "parameters": {
        "url": "https://example.org"}}, headers=tenant_a.h("developer"))
    assert r.status_code == 201, r.text
    assert all(len(t) <= 64 for t in r.json()["tags"])


@pytest.mark.parametrize("patch", [
    {"description": "nul \u0000 char"},
    {"example_parameters": {"url": "https://x.org/\u0000"}},
    {"parameters": {"type": "object", "properties": {"url": {"$ref": "#/nowhere"}}}},
    {"definition": {"nodes": "not a list", "edges": 5}},
])
async def test_hostile_template_bodies_are_4xx(http, tenant_a, patch):
    r = await http.post("/api/v1/templates", json={**CUSTOM, "id": "hostile", **patch}, headers=tenant_a.h("admin"))
    assert r.status_code == 422, r.text


async def test_hostile_create_workflow_parameters_are_4xx(http, tenant_a):
    r = await http.post("/api/v1/templates/api-sync/create-workflow", headers=tenant_a.h("admin"), json={
        "name": "n", "parameters": {"source_url": "https://a.org/\u0000", "target_url": "https://b.org"}})
    assert r.status_code == 422, r.text
