"""The web app's backend pieces: `GET /api/v1/components` (the palette) and the static serving of
`designer/dist` at /workflow_orchestration/ (redirect, assets caching, history fallback, not-built page)."""

from __future__ import annotations

import pytest

from connectors.registry import default_registry
from tests.api._util import wait_status
from workflows.components import CATEGORIES


async def test_components_list_every_type_with_its_contract(http, tenant_a):
    r = await http.get("/api/v1/components", headers=tenant_a.h("viewer"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["categories"] == list(CATEGORIES)
    types = [c["type"] for c in body["items"]]
    assert types == default_registry().types()
    by_type = {c["type"]: c for c in body["items"]}
    assert by_type["decision"]["ports"] == ["true", "false"]
    assert by_type["decision"]["config_schema"]["required"] == ["condition"]
    assert by_type["decision"]["expression_fields"] == ["condition"]
    assert by_type["switch"]["dynamic_ports"] is True
    assert by_type["approval"]["ports"] == ["approved", "rejected", "timeout"]
    assert by_type["http.request"]["kind"] == "activity"
    for c in body["items"]:
        assert set(c) >= {"type", "kind", "category", "title", "description", "icon", "config_schema", "output_schema",
                          "ports", "dynamic_ports", "can_fail", "idempotent", "docs", "example", "expression_fields"}
        assert c["category"] in CATEGORIES


async def test_components_need_a_login(http):
    assert (await http.get("/api/v1/components")).status_code == 401


@pytest.fixture
def dist(tmp_path, monkeypatch):
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><div id=root></div>")
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log(1)")
    (tmp_path / "favicon.svg").write_text("<svg/>")
    monkeypatch.setenv("WFO_DESIGNER_DIST", str(tmp_path))
    return tmp_path


async def test_root_redirects_to_the_app(http):
    r = await http.get("/")
    assert r.status_code == 307
    assert r.headers["location"] == "/workflow_orchestration/"
    r = await http.get("/workflow_orchestration")
    assert r.status_code == 307 and r.headers["location"] == "/workflow_orchestration/"


async def test_serves_index_assets_and_deep_links(http, dist):
    r = await http.get("/workflow_orchestration/")
    assert r.status_code == 200 and "id=root" in r.text
    assert r.headers["cache-control"] == "no-cache"
    r = await http.get("/workflow_orchestration/assets/index-abc123.js")
    assert r.status_code == 200 and r.text == "console.log(1)"
    assert "immutable" in r.headers["cache-control"] and "max-age=31536000" in r.headers["cache-control"]
    r = await http.get("/workflow_orchestration/favicon.svg")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-cache"
    # deep links are client-side routes: index.html
    for path in ("workflows/0b6f6c1e-1d7a-4a57-8a2f-4a1e0b9b1c11", "executions", "inbox?status=pending"):
        r = await http.get(f"/workflow_orchestration/{path}")
        assert r.status_code == 200 and "id=root" in r.text, path
    # a missing file is a 404, not index.html
    r = await http.get("/workflow_orchestration/assets/missing-123.js")
    assert r.status_code == 404
    # no escaping the dist folder
    r = await http.get("/workflow_orchestration/..%2F..%2Fetc%2Fpasswd")
    assert r.status_code in (200, 404) and "root:" not in r.text


async def test_not_built_says_how_to_build(http, tmp_path, monkeypatch):
    monkeypatch.setenv("WFO_DESIGNER_DIST", str(tmp_path / "nothing"))
    r = await http.get("/workflow_orchestration/workflows")
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("text/html")
    assert "npm ci" in r.text and "npm run build" in r.text and "make dev" in r.text


NODE_DEF = {
    "schema_version": 1,
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "calc", "type": "transform", "config": {"expression": "{ 'double': input.n * 2 }"}},
        {"id": "big", "type": "decision", "config": {"condition": "nodes.calc.double > 100"}},
        {"id": "never", "type": "transform", "config": {"expression": "1"}},
        {"id": "end", "type": "end", "config": {"output": "{{ nodes.calc }}"}},
    ],
    "edges": [{"source": "start", "target": "calc"}, {"source": "calc", "target": "big"},
              {"source": "big", "source_port": "true", "target": "never"},
              {"source": "big", "source_port": "false", "target": "end"},
              {"source": "never", "target": "end"}],
}


async def test_node_output_of_a_finished_execution(http, tenant_a, worker):
    r = await http.post("/api/v1/workflows", headers=tenant_a.h("developer"),
                        json={"name": "node outputs", "status": "active", "definition": NODE_DEF})
    assert r.status_code == 201, r.text
    r = await http.post(f"/api/v1/workflows/{r.json()['id']}/execute", headers=tenant_a.h("developer"),
                        json={"input": {"n": 21}})
    assert r.status_code == 202, r.text
    exec_id = r.json()["id"]
    assert (await wait_status(http, tenant_a, exec_id))["status"] == "completed"

    r = await http.get(f"/api/v1/executions/{exec_id}/nodes/calc", headers=tenant_a.h("viewer"))
    assert r.status_code == 200, r.text
    assert r.json() == {"execution_id": exec_id, "node_id": "calc", "ran": True, "output": {"double": 42}}
    r = await http.get(f"/api/v1/executions/{exec_id}/nodes/big", headers=tenant_a.h("viewer"))
    assert r.json()["ran"] is True and r.json()["output"] == {"result": False}
    r = await http.get(f"/api/v1/executions/{exec_id}/nodes/never", headers=tenant_a.h("viewer"))
    assert r.json()["ran"] is False and r.json()["output"] is None
    # another tenant cannot read it
    other = await http.get(f"/api/v1/executions/{exec_id}/nodes/calc", headers={"Authorization": "Bearer nope"})
    assert other.status_code == 401
    missing = await http.get("/api/v1/executions/exec-does-not-exist/nodes/calc", headers=tenant_a.h("viewer"))
    assert missing.status_code == 404
