"""The web app's backend pieces: `GET /api/v1/components` (the palette) and the static serving of
`designer/dist` at /workflow_orchestration/ (redirect, assets caching, history fallback, not-built page)."""

from __future__ import annotations

import pytest

from connectors.registry import default_registry
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
