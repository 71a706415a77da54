"""POST /api/v1/workflows/import/n8n: create a workflow (+ triggers) from an n8n export; 422s name the problem."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import sys
from pathlib import Path

import uvicorn

from tests.api._util import wait_status
from tests.localpeers import free_port

FIXTURES = Path(__file__).parent.parent / "n8n" / "fixtures"
URL = "/api/v1/workflows/import/n8n"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def with_untranslatable() -> dict:
    wf = fixture("order_routing")
    wf["nodes"].append({"id": "py", "name": "Python Step", "type": "n8n-nodes-base.code", "typeVersion": 2,
                        "position": [1100, 300], "parameters": {"language": "python", "pythonCode": "return items"}})
    wf["connections"]["Tag Source"] = {"main": [[{"node": "Python Step", "type": "main", "index": 0}]]}
    # a parameter using $vars (n8n variables have no counterpart here)
    wf["nodes"][1]["parameters"]["assignments"]["assignments"][2]["value"] = "={{ $vars.currency }}"
    return wf


async def test_import_creates_workflow_and_webhook_trigger_then_runs(http, tenant_a, worker):
    r = await http.post(URL, headers=tenant_a.h("developer"), json={"workflow": fixture("order_routing")})
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["untranslatable"] == []
    wf = out["workflow"]
    assert wf["name"] == "Order routing" and wf["current_version"] == 1
    names = {n.get("name") for n in wf["definition"]["nodes"]}
    assert {"Order Webhook", "Compute Total", "Is Big?", "Manual Review", "Auto Approve", "Tag Source"} <= names
    assert wf["definition"]["notes"][0]["text"].startswith("## Orders")
    pos = next(n["position"] for n in wf["definition"]["nodes"] if n.get("name") == "Is Big?")
    assert pos == {"x": 440, "y": 300}
    (trig,) = out["triggers"]
    assert trig["kind"] == "webhook" and trig["config"]["response_mode"] == "sync"
    assert trig["url"].endswith(f"/api/v1/hooks/{trig['id']}")
    listed = await http.get(f"/api/v1/workflows/{wf['id']}/triggers", headers=tenant_a.h("viewer"))
    assert [t["id"] for t in listed.json()] == [trig["id"]]

    run = await http.post(f"/api/v1/workflows/{wf['id']}/execute", headers=tenant_a.h("developer"), json={
        "input": {"body": {"customer": {"name": "Cy"}, "qty": 2, "price": 600}, "headers": {}, "query": {}}})
    assert run.status_code == 202, run.text
    done = await wait_status(http, tenant_a, run.json()["id"])
    assert done["status"] == "completed", done
    assert done["output"] == [{"customer": "Cy", "total": 1200, "currency": "EUR", "route": "review",
                               "note": "Check Cy (1200 EUR)", "source": "web"}]


async def test_schedule_trigger_is_created_with_its_cron(http, tenant_a):
    r = await http.post(URL, headers=tenant_a.h("developer"),
                        json={"workflow": fixture("schedule_digest"), "name": "digest (imported)"})
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["workflow"]["name"] == "digest (imported)"
    (trig,) = out["triggers"]
    assert trig["kind"] == "schedule" and trig["config"]["cron"] == "30 7 * * *"
    assert trig["config"]["timezone"] == "UTC"
    got = await http.get(f"/api/v1/workflows/{out['workflow']['id']}/triggers/{trig['id']}",
                         headers=tenant_a.h("viewer"))
    assert got.status_code == 200 and got.json()["schedule"] is not None
    await http.delete(f"/api/v1/workflows/{out['workflow']['id']}/triggers/{trig['id']}",
                      headers=tenant_a.h("developer"))


async def test_strict_refuses_listing_every_untranslatable_item(http, tenant_a):
    before = await http.get("/api/v1/workflows", headers=tenant_a.h("viewer"), params={"q": "Order routing"})
    r = await http.post(URL, headers=tenant_a.h("developer"), json={"workflow": with_untranslatable(), "strict": True})
    assert r.status_code == 422, r.text
    items = {(u["node"], u["type"]): u["reason"] for u in r.json()["detail"]["untranslatable"]}
    assert set(items) == {("Python Step", "n8n-nodes-base.code"), ("Compute Total", "n8n-nodes-base.set")}
    assert "Python" in items[("Python Step", "n8n-nodes-base.code")]
    assert "assignment 'currency'" in items[("Compute Total", "n8n-nodes-base.set")]
    assert "$vars" in items[("Compute Total", "n8n-nodes-base.set")]
    after = await http.get("/api/v1/workflows", headers=tenant_a.h("viewer"), params={"q": "Order routing"})
    assert after.json()["total"] == before.json()["total"]  # nothing was created


async def test_non_strict_marks_nodes_as_terminate(http, tenant_a):
    r = await http.post(URL, headers=tenant_a.h("developer"), json={"workflow": with_untranslatable()})
    assert r.status_code == 201, r.text
    out = r.json()
    assert {u["node"] for u in out["untranslatable"]} == {"Python Step", "Compute Total"}
    nodes = {n.get("name"): n for n in out["workflow"]["definition"]["nodes"]}
    assert nodes["Compute Total"]["type"] == "terminate"
    assert "was not imported" in nodes["Compute Total"]["config"]["message"]
    assert "$vars" in nodes["Compute Total"]["config"]["message"]
    # everything after an untranslated node cannot run: dropped and said so
    assert "Is Big?" not in nodes
    assert any(w["node"] == "Is Big?" and "not imported" in w["message"] for w in out["warnings"])


async def test_not_an_export_is_422_naming_the_problem(http, tenant_a):
    bad = copy.deepcopy(fixture("order_routing"))
    bad["connections"]["Compute Total"]["main"][0][0]["node"] = "Nope"
    r = await http.post(URL, headers=tenant_a.h("developer"), json={"workflow": bad})
    assert r.status_code == 422
    assert any("'Nope' is not a node" in p for p in r.json()["detail"]["problems"])
    r = await http.post(URL, headers=tenant_a.h("developer"), json={"workflow": {"nodes": "x"}})
    assert r.status_code == 422 and "'nodes' must be a list" in r.json()["detail"]["problems"]
    r = await http.post(URL, headers=tenant_a.h("developer"), json={"workflow": {"nodes": [], "connections": {}}})
    assert r.status_code == 422 and "no trigger node" in r.json()["detail"]["problems"][0]
    r = await http.post(URL, headers=tenant_a.h("developer"), json={"strict": True})
    assert r.status_code == 422


async def test_viewer_and_operator_cannot_import(http, tenant_a):
    for role in ("viewer", "operator"):
        r = await http.post(URL, headers=tenant_a.h(role), json={"workflow": fixture("order_routing")})
        assert r.status_code == 403, role


async def test_missing_component_is_422_naming_it(http, tenant_a):
    wf = fixture("order_routing")
    wf["nodes"].append({"id": "js", "name": "Score", "type": "n8n-nodes-base.code", "typeVersion": 2,
                        "position": [1100, 300], "parameters": {"jsCode": "return $input.all()"}})
    wf["connections"]["Tag Source"] = {"main": [[{"node": "Score", "type": "main", "index": 0}]]}
    r = await http.post(URL, headers=tenant_a.h("developer"), json={"workflow": wf, "strict": True})
    if r.status_code == 201:  # code.javascript is registered on this server
        assert any(n["type"] == "code.javascript" for n in r.json()["workflow"]["definition"]["nodes"])
        return
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert "component it needs may be missing" in detail["message"]
    assert any("code.javascript" in p["message"] and p["node_id"] == "Score__call" for p in detail["problems"])


async def test_cli_creates_through_the_api(app, tenant_a, tmp_path):
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.05)
        path = tmp_path / "wf.json"
        path.write_text(json.dumps(fixture("merge_by_key")))
        token = tenant_a.tokens["developer"]
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cli.main", "import-n8n", str(path), "--api", f"http://127.0.0.1:{port}",
            "--token", token, "--name", "joined via cli", stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env={**os.environ})
        out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
        assert proc.returncode == 0, err.decode()
        assert out.decode().startswith("created workflow ") and "(joined via cli)" in out.decode()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cli.main", "import-n8n", str(path), "--api", f"http://127.0.0.1:{port}",
            "--token", tenant_a.tokens["viewer"], stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(proc.communicate(), timeout=60)
        assert proc.returncode == 2 and "refused the import (403)" in err.decode()
    finally:
        server.should_exit = True
        await task


async def test_execute_workflow_by_id_runs_the_imported_child(http, tenant_a, worker):
    child_wf = json.loads(json.loads((FIXTURES / "subworkflow_inline.json").read_text())["nodes"][1]
                          ["parameters"]["workflowJson"])
    r = await http.post(URL, headers=tenant_a.h("developer"), json={"workflow": child_wf, "name": "double (child)"})
    assert r.status_code == 201, r.text
    child_id = r.json()["workflow"]["id"]
    parent = fixture("subworkflow_inline")
    parent["nodes"][1]["parameters"] = {"source": "database", "options": {},
                                        "workflowId": {"__rl": True, "mode": "list", "value": "n8nChild42"}}
    r = await http.post(URL, headers=tenant_a.h("developer"), json={"workflow": parent, "strict": True})
    assert r.status_code == 422
    assert "workflow_ids" in r.json()["detail"]["untranslatable"][0]["reason"]
    r = await http.post(URL, headers=tenant_a.h("developer"),
                        json={"workflow": parent, "strict": True, "workflow_ids": {"n8nChild42": child_id}})
    assert r.status_code == 201, r.text
    call = next(n for n in r.json()["workflow"]["definition"]["nodes"] if n["type"] == "subworkflow")
    assert call["config"]["workflow_id"] == child_id
    run = await http.post(f"/api/v1/workflows/{r.json()['workflow']['id']}/execute", headers=tenant_a.h("developer"),
                          json={"input": [{"value": 3}, {"value": 1}]})
    assert run.status_code == 202, run.text
    done = await wait_status(http, tenant_a, run.json()["id"])
    assert done["status"] == "completed", done
    assert done["output"] == [{"value": [6, 2], "biggest": 6, "n": 2}]
    # an id that is not a workflow of this tenant
    r = await http.post(URL, headers=tenant_a.h("developer"),
                        json={"workflow": parent, "workflow_ids": {"n8nChild42": "00000000-0000-0000-0000-000000000000"}})
    assert r.status_code == 404
