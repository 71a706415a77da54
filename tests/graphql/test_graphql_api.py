"""GraphQL at /api/beta/graphql: the four documented operations exactly as written, the extra queries,
authentication/permissions/tenancy, depth and complexity limits, batching, the explorer, bad input."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from sqlalchemy import event

from tests.api.conftest import VALID_DEFINITION

pytestmark = pytest.mark.asyncio

URL = "/api/beta/graphql"

# ---- the operations from the product docs, verbatim
GET_WORKFLOWS = """
query GetWorkflows($limit: Int, $category: String) {
  workflows(limit: $limit, category: $category) { id name description status executionCount successRate }
}"""
GET_EXECUTION = """
query GetExecution($id: String!) {
  execution(id: $id) { id status progress duration startedAt completedAt }
}"""
CREATE_WORKFLOW = """
mutation CreateWorkflow($name: String!, $definition: String!) {
  createWorkflow(name: $name, workflowDefinition: $definition) { workflow { id name status } success errors }
}"""
EXECUTE_WORKFLOW = """
mutation ExecuteWorkflow($workflowId: String!, $parameters: String) {
  executeWorkflow(workflowId: $workflowId, parameters: $parameters) { execution { id status } success errors }
}"""


async def gql(http, tenant, query, variables=None, role="admin", status=200, **extra):
    r = await http.post(URL, json={"query": query, "variables": variables, **extra}, headers=tenant.h(role))
    assert r.status_code == status, r.text
    return r.json()


async def create(http, tenant, name=None, category=None, definition=None) -> str:
    body = await gql(http, tenant, CREATE_WORKFLOW, {"name": name or f"wf-{uuid.uuid4().hex[:6]}",
                                                     "definition": json.dumps(definition or VALID_DEFINITION)})
    res = body["data"]["createWorkflow"]
    assert res["success"] is True and res["errors"] == [], res
    if category:
        r = await http.put(f"/api/v1/workflows/{res['workflow']['id']}", json={"category": category},
                           headers=tenant.h("admin"))
        assert r.status_code == 200
    return res["workflow"]["id"]


async def wait_done(http, tenant, exec_id: str) -> dict:
    for _ in range(200):
        body = await gql(http, tenant, GET_EXECUTION, {"id": exec_id}, role="viewer")
        ex = body["data"]["execution"]
        if ex["status"] != "running":
            return ex
        await asyncio.sleep(0.1)
    raise AssertionError(f"execution {exec_id} did not finish")


async def test_documented_operations_end_to_end(http, tenant_a, worker):
    category = f"cat-{uuid.uuid4().hex[:6]}"
    body = await gql(http, tenant_a, CREATE_WORKFLOW, {"name": "Doubler", "definition": json.dumps(VALID_DEFINITION)})
    created = body["data"]["createWorkflow"]
    assert created["success"] is True and created["errors"] == []
    assert created["workflow"]["name"] == "Doubler" and created["workflow"]["status"] == "draft"
    wf_id = created["workflow"]["id"]
    await http.put(f"/api/v1/workflows/{wf_id}", json={"category": category}, headers=tenant_a.h("admin"))

    ran = []
    for x in (2, 5):
        body = await gql(http, tenant_a, EXECUTE_WORKFLOW, {"workflowId": wf_id, "parameters": json.dumps({"x": x})},
                         role="operator")
        res = body["data"]["executeWorkflow"]
        assert res["success"] is True and res["errors"] == [] and res["execution"]["status"] == "running"
        ran.append(res["execution"]["id"])
    for exec_id in ran:
        ex = await wait_done(http, tenant_a, exec_id)
        assert ex["id"] == exec_id and ex["status"] == "completed" and ex["progress"] == 100.0
        assert isinstance(ex["duration"], float) and ex["duration"] >= 0
        assert ex["startedAt"] <= ex["completedAt"]

    body = await gql(http, tenant_a, GET_WORKFLOWS, {"limit": 10, "category": category}, role="viewer")
    assert body["data"]["workflows"] == [{"id": wf_id, "name": "Doubler", "description": None, "status": "draft",
                                          "executionCount": 2, "successRate": 100.0}]

    # outputs are visible through the executions query
    body = await gql(http, tenant_a, "query($w: String) { executions(workflowId: $w) { id output input workflow { name } } }",
                     {"w": wf_id}, role="viewer")
    by_id = {e["id"]: e for e in body["data"]["executions"]}
    assert by_id[ran[0]]["output"] == {"value": 4} and by_id[ran[1]]["input"] == {"x": 5}
    assert by_id[ran[0]]["workflow"] == {"name": "Doubler"}

    q = """query($w: String, $a: DateTime, $b: DateTime) {
        executions(workflowId: $w, status: "completed", startedAfter: $a, startedBefore: $b) { id } }"""
    body = await gql(http, tenant_a, q, {"w": wf_id, "a": "2000-01-01T00:00:00Z", "b": "2999-01-01T00:00:00"})
    assert {e["id"] for e in body["data"]["executions"]} == set(ran)
    body = await gql(http, tenant_a, q, {"w": wf_id, "a": "2999-01-01T00:00:00Z"})
    assert body["data"]["executions"] == []
    r = await http.post(URL, json={"query": q, "variables": {"a": "yesterday"}}, headers=tenant_a.h("viewer"))
    assert r.status_code == 400
    # the REST listing's trigger and id/starter-prefix filters
    q = "query($t: String, $q: String) { executions(trigger: $t, q: $q) { id trigger } }"
    body = await gql(http, tenant_a, q, {"t": "webhook"})
    assert body["data"]["executions"] == []
    body = await gql(http, tenant_a, q, {"q": ran[0][:12]})
    assert ran[0] in {e["id"] for e in body["data"]["executions"]}
    body = await gql(http, tenant_a, q, {"t": body["data"]["executions"][0]["trigger"], "q": ran[1]})
    assert [e["id"] for e in body["data"]["executions"]] == [ran[1]]


async def test_success_rate_counts_failures(http, tenant_a, worker):
    failing = {"schema_version": 1, "nodes": [
        {"id": "start", "type": "start"},
        {"id": "big", "type": "decision", "config": {"condition": "input.x > 5"}},
        {"id": "done", "type": "end"},
        {"id": "stop", "type": "terminate", "config": {"message": "no {{ input.x }}"}}],
        "edges": [{"source": "start", "target": "big"}, {"source": "big", "source_port": "true", "target": "done"},
                  {"source": "big", "source_port": "false", "target": "stop"}]}
    category = f"cat-{uuid.uuid4().hex[:6]}"
    wf_id = await create(http, tenant_a, definition=failing, category=category)
    body = await gql(http, tenant_a, EXECUTE_WORKFLOW, {"workflowId": wf_id, "parameters": '{"x": 1}'})
    ex = await wait_done(http, tenant_a, body["data"]["executeWorkflow"]["execution"]["id"])
    assert ex["status"] == "failed"
    body = await gql(http, tenant_a, GET_WORKFLOWS, {"category": category})
    assert body["data"]["workflows"][0]["executionCount"] == 1 and body["data"]["workflows"][0]["successRate"] == 0.0
    empty = await create(http, tenant_a, category=category)
    body = await gql(http, tenant_a, GET_WORKFLOWS, {"category": category})
    fresh = next(w for w in body["data"]["workflows"] if w["id"] == empty)
    assert fresh["executionCount"] == 0 and fresh["successRate"] is None


async def test_create_workflow_errors(http, tenant_a):
    body = await gql(http, tenant_a, CREATE_WORKFLOW, {"name": "x", "definition": "{not json"})
    res = body["data"]["createWorkflow"]
    assert res["success"] is False and res["workflow"] is None and "not valid JSON" in res["errors"][0]
    bad = {"schema_version": 1, "nodes": [{"id": "start", "type": "start"}, {"id": "a", "type": "nope"},
                                          {"id": "d", "type": "decision", "config": {}}], "edges": []}
    body = await gql(http, tenant_a, CREATE_WORKFLOW, {"name": "x", "definition": json.dumps(bad)})
    res = body["data"]["createWorkflow"]
    assert res["success"] is False and len(res["errors"]) >= 3
    assert any(e.startswith("node 'a'") and "unknown component type" in e for e in res["errors"])
    assert any(e.startswith("node 'd'") for e in res["errors"])
    body = await gql(http, tenant_a, CREATE_WORKFLOW, {"name": "", "definition": json.dumps(VALID_DEFINITION)})
    assert body["data"]["createWorkflow"]["success"] is False


async def test_execute_workflow_errors(http, tenant_a, tenant_b):
    wf_id = await create(http, tenant_a)
    for wid in (str(uuid.uuid4()), "not-a-uuid"):
        body = await gql(http, tenant_a, EXECUTE_WORKFLOW, {"workflowId": wid})
        assert body["data"]["executeWorkflow"] == {"execution": None, "success": False, "errors": ["workflow not found"]}
    body = await gql(http, tenant_a, EXECUTE_WORKFLOW, {"workflowId": wf_id, "parameters": "[1,"})
    assert "not valid JSON" in body["data"]["executeWorkflow"]["errors"][0]
    # another tenant's workflow does not exist for you
    body = await gql(http, tenant_b, EXECUTE_WORKFLOW, {"workflowId": wf_id})
    assert body["data"]["executeWorkflow"]["errors"] == ["workflow not found"]


async def test_tenancy(http, tenant_a, tenant_b, worker):
    wf_id = await create(http, tenant_a)
    body = await gql(http, tenant_a, EXECUTE_WORKFLOW, {"workflowId": wf_id, "parameters": '{"x": 1}'})
    exec_id = body["data"]["executeWorkflow"]["execution"]["id"]
    q = "query($id: String!, $e: String!) { workflow(id: $id) { id } execution(id: $e) { id } versions(workflowId: $id) { version } }"
    body = await gql(http, tenant_b, q, {"id": wf_id, "e": exec_id})
    assert body["data"] == {"workflow": None, "execution": None, "versions": []}
    body = await gql(http, tenant_b, "{ workflows(limit: 500) { id } executions(limit: 500) { id } }")
    assert wf_id not in {w["id"] for w in body["data"]["workflows"]}
    assert exec_id not in {e["id"] for e in body["data"]["executions"]}
    body = await gql(http, tenant_a, q, {"id": wf_id, "e": exec_id})
    assert body["data"]["workflow"] == {"id": wf_id} and body["data"]["execution"] == {"id": exec_id}


async def test_versions_templates_and_nested(http, tenant_a):
    wf_id = await create(http, tenant_a, name="Versioned")
    v2 = json.loads(json.dumps(VALID_DEFINITION))
    v2["nodes"][1]["config"]["expression"] = "{ 'value': input.x * 3 }"
    r = await http.put(f"/api/v1/workflows/{wf_id}", json={"definition": v2}, headers=tenant_a.h("developer"))
    assert r.status_code == 200
    body = await gql(http, tenant_a, """query($id: String!) {
        versions(workflowId: $id) { workflowId version createdBy definition }
        workflow(id: $id) { currentVersion definition versions(limit: 1) { version } }
    }""", {"id": wf_id}, role="viewer")
    versions = body["data"]["versions"]
    assert [v["version"] for v in versions] == [2, 1] and versions[0]["workflowId"] == wf_id
    assert versions[0]["definition"] == v2 and versions[1]["definition"] == VALID_DEFINITION
    assert body["data"]["workflow"] == {"currentVersion": 2, "definition": v2, "versions": [{"version": 2}]}

    body = await gql(http, tenant_a, """{ templates(category: "finance") { id name category tags parameters }
        template(id: "order-processing") { id exampleParameters definition } missing: template(id: "nope") { id } }""",
                     role="viewer")
    assert {t["id"] for t in body["data"]["templates"]} == {"invoice-approval", "expense-approval"}
    assert body["data"]["template"]["exampleParameters"]["ops_email"] == "ops@example.com"
    assert body["data"]["missing"] is None


async def test_create_workflow_from_template(http, tenant_a):
    q = """mutation($p: String) { createWorkflowFromTemplate(templateId: "scheduled-report", name: "Weekly", parameters: $p) {
        workflow { id name category } success errors } }"""
    params = {"report_title": "Weekly", "report_query": "SELECT 1", "recipients": ["a@example.com"]}
    body = await gql(http, tenant_a, q, {"p": json.dumps(params)}, role="developer")
    res = body["data"]["createWorkflowFromTemplate"]
    assert res["success"] and res["workflow"]["category"] == "reporting"
    body = await gql(http, tenant_a, q, {"p": json.dumps({"recipients": ["bad"]})}, role="developer")
    res = body["data"]["createWorkflowFromTemplate"]
    assert res["success"] is False
    assert {e.split(":")[0] for e in res["errors"]} == {"parameter recipients.0", "parameter report_title",
                                                        "parameter report_query"}


@pytest.mark.parametrize("role,can_create,can_execute", [
    ("viewer", False, False), ("operator", False, True), ("developer", True, True), ("admin", True, True)])
async def test_permissions_per_operation(http, tenant_a, role, can_create, can_execute):
    body = await gql(http, tenant_a, GET_WORKFLOWS, {"limit": 1}, role=role)
    assert "errors" not in body
    variables = {"name": f"by-{role}", "definition": json.dumps(VALID_DEFINITION)}
    r = await http.post(URL, json={"query": CREATE_WORKFLOW, "variables": variables}, headers=tenant_a.h(role))
    if can_create:
        assert r.status_code == 200 and r.json()["data"]["createWorkflow"]["success"]
    else:
        assert r.status_code == 403
        err = r.json()["errors"][0]
        assert err["extensions"]["code"] == "FORBIDDEN" and "workflow.create" in err["message"]
        assert r.json().get("data") is None  # nothing ran
    r = await http.post(URL, json={"query": EXECUTE_WORKFLOW, "variables": {"workflowId": str(uuid.uuid4())}},
                        headers=tenant_a.h(role))
    assert r.status_code == (200 if can_execute else 403)


async def test_a_forbidden_field_refuses_the_whole_document(http, tenant_a):
    q = """mutation { a: createWorkflow(name: "x", workflowDefinition: "{}") { success } }
           query Q { workflows { id } }"""
    r = await http.post(URL, json={"query": q, "operationName": "Q"}, headers=tenant_a.h("viewer"))
    assert r.status_code == 403  # the mutation in the same document is checked too


async def test_authentication_required(http, tenant_a):
    assert (await http.post(URL, json={"query": GET_WORKFLOWS})).status_code == 401
    assert (await http.get(URL, params={"query": "{ templates { id } }"})).status_code == 401
    r = await http.post(URL, json={"query": GET_WORKFLOWS}, headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401


async def test_depth_and_complexity_limits(http, tenant_a):
    deep = "{ workflows { executions { workflow { executions { workflow { executions { workflow { executions { id } } } } } } } } }"
    r = await http.post(URL, json={"query": deep}, headers=tenant_a.h("viewer"))
    assert r.status_code == 400 and r.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_DEEP"
    # the same via fragments
    frag = ("fragment W on Workflow { executions { workflow { executions { workflow { executions { workflow { versions { version } } } } } } } } "
            "{ workflows { ...W } }")
    r = await http.post(URL, json={"query": frag}, headers=tenant_a.h("viewer"))
    assert r.status_code == 400 and r.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_DEEP"
    wide = "query($n: Int) { workflows(limit: $n) { executions(limit: 200) { id workflow { name } } } }"
    r = await http.post(URL, json={"query": wide, "variables": {"n": 500}}, headers=tenant_a.h("viewer"))
    assert r.status_code == 400 and r.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    aliases = "{ " + " ".join(f"a{i}: workflows(limit: 100) {{ id name }}" for i in range(30)) + " }"
    r = await http.post(URL, json={"query": aliases}, headers=tenant_a.h("viewer"))
    assert r.status_code == 400 and r.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    r = await http.post(URL, json={"query": "{ workflows(limit: 100000) { id } }"}, headers=tenant_a.h("viewer"))
    assert r.status_code == 400 and "limit must be between" in r.json()["errors"][0]["message"]
    # the explorer's introspection query is not limited
    from graphql import get_introspection_query

    r = await http.post(URL, json={"query": get_introspection_query()}, headers=tenant_a.h("viewer"))
    assert r.status_code == 200 and r.json()["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_lists_are_batched_not_one_query_per_item(app, http, tenant_a, worker):
    tenant = tenant_a
    category = f"batch-{uuid.uuid4().hex[:6]}"
    ids = [await create(http, tenant, category=category) for _ in range(12)]
    for wf_id in ids[-4:]:  # the newest: listed by both requests below
        await gql(http, tenant, EXECUTE_WORKFLOW, {"workflowId": wf_id, "parameters": '{"x": 1}'})
    statements: list[str] = []

    # the app's event bridge (api/events/bridge.py) scans these tables every 2 s on the same engine: its
    # statements are not the request's
    bridge = ("webhook_subscriptions", "SELECT id, tenant_id, name, status, current_version, created_at, updated_at",
              "SELECT id, tenant_id, workflow_id, version, status, trigger, error, started_at")

    def count(conn, cursor, statement, *args):
        if not any(marker in statement for marker in bridge):
            statements.append(statement)

    q = """query($n: Int, $c: String) { workflows(limit: $n, category: $c) {
        id executionCount successRate definition versions { version } executions(limit: 5) { id workflow { name } } } }"""
    sync_engine = app.state.engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", count)
    try:
        counts = {}
        for n in (2, 12):
            statements.clear()
            body = await gql(http, tenant, q, {"n": n, "c": category}, role="viewer")
            assert len(body["data"]["workflows"]) == n and "errors" not in body
            counts[n] = len([s for s in statements if s.lstrip().upper().startswith("SELECT")])
    finally:
        event.remove(sync_engine, "before_cursor_execute", count)
    # auth + list + one query per batched field; the same for 2 and for 12 workflows
    assert counts[2] == counts[12] <= 8, counts
    rows = body["data"]["workflows"]
    assert sum(w["executionCount"] for w in rows) == 4
    assert all(e["workflow"]["name"] for w in rows for e in w["executions"])


async def test_explorer_and_get(http, tenant_a):
    r = await http.get(URL + "/explorer")
    assert r.status_code == 307 and r.headers["location"] == "/workflow_orchestration/graphiql.html"
    r = await http.get(URL, headers=tenant_a.h("viewer"))
    assert r.status_code == 307 and r.headers["location"] == "/workflow_orchestration/graphiql.html"
    r = await http.get(URL, params={"query": "query($c: String) { templates(category: $c) { id } }",
                                    "variables": json.dumps({"c": "sales"})}, headers=tenant_a.h("viewer"))
    assert r.status_code == 200 and r.json()["data"]["templates"] == [{"id": "lead-routing"}]
    r = await http.get(URL, params={"query": CREATE_WORKFLOW}, headers=tenant_a.h("admin"))
    assert r.status_code == 405


async def test_browser_opening_the_endpoint_gets_the_explorer_but_queries_need_a_token(http):
    """GraphiQL comes from the web app's build (make test builds it): every asset from the app, no CDN."""
    import re

    from tests.e2e.conftest import ensure_built

    ensure_built()  # `make test` has built it already; alone, this builds it
    r = await http.get(URL, headers={"Accept": "text/html"})  # no token: a person in a browser
    assert r.status_code == 307
    page = await http.get(r.headers["location"])
    assert page.status_code == 200 and "GraphQL explorer" in page.text, page.text[:300]
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page.text)
    assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", page.text)
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    for asset in assets:
        got = await http.get(asset)
        assert got.status_code == 200 and len(got.content) > 100, asset
    r = await http.get(URL, params={"query": "{ templates { id } }"})
    assert r.status_code == 401


@pytest.mark.parametrize("body,status", [
    (b"not json", 400), (b"[]", 400), (b'{"query": ""}', 400), (b'{"query": 5}', 400),
    (b'{"query": "{ workflows { id }", "variables": null}', 400), (b'{"query": "{ nope }"}', 400),
    (b'{"query": "{ templates { id } }", "variables": [1]}', 400),
    (b'{"query": "query($n: Int) { workflows(limit: $n) { id } }", "variables": {"n": "x"}}', 400),
])
async def test_bad_input_is_4xx(http, tenant_a, body, status):
    r = await http.post(URL, content=body, headers={**tenant_a.h("viewer"), "content-type": "application/json"})
    assert r.status_code == status, r.text
    assert r.json()["errors"]


async def test_tenant_templates_in_graphql(http, tenant_a, tenant_b):
    from tests.templates.test_templates_api import CUSTOM

    tid = f"gql-{uuid.uuid4().hex[:6]}"
    r = await http.post("/api/v1/templates", json={**CUSTOM, "id": tid, "category": "gql-only"},
                        headers=tenant_a.h("developer"))
    assert r.status_code == 201, r.text
    q = 'query($id: String!) { templates(category: "gql-only") { id builtin } template(id: $id) { id parameters } }'
    body = await gql(http, tenant_a, q, {"id": tid}, role="viewer")
    assert body["data"]["templates"] == [{"id": tid, "builtin": False}]
    assert body["data"]["template"]["parameters"]["required"] == ["url"]
    body = await gql(http, tenant_b, q, {"id": tid}, role="viewer")
    assert body["data"] == {"templates": [], "template": None}
    body = await gql(http, tenant_a, '{ template(id: "api-sync") { builtin } }', role="viewer")
    assert body["data"]["template"] == {"builtin": True}


async def test_unstorable_json_is_refused_not_500(http, tenant_a):
    bad_def = json.dumps(VALID_DEFINITION).replace('"start"}', '"start", "name": "a\\u0000b"}', 1)
    body = await gql(http, tenant_a, CREATE_WORKFLOW, {"name": "x", "definition": bad_def})
    assert body["data"]["createWorkflow"]["success"] is False
    nan_def = json.dumps(VALID_DEFINITION)[:-1] + ', "x": NaN}'
    body = await gql(http, tenant_a, CREATE_WORKFLOW, {"name": "x", "definition": nan_def})
    assert body["data"]["createWorkflow"]["success"] is False
    wf_id = await create(http, tenant_a)
    for params in ('{"x": NaN}', '{"x": "a\\u0000"}'):
        body = await gql(http, tenant_a, EXECUTE_WORKFLOW, {"workflowId": wf_id, "parameters": params})
        res = body["data"]["executeWorkflow"]
        assert res["success"] is False and res["errors"], res
    q = 'mutation($p: String) { createWorkflowFromTemplate(templateId: "api-sync", name: "n", parameters: $p) { success errors } }'
    body = await gql(http, tenant_a, q, {"p": '{"source_url": "https://a.org/\\u0000", "target_url": "https://b.org"}'})
    assert body["data"]["createWorkflowFromTemplate"]["success"] is False


async def test_update_delete_and_cancel(http, tenant_a, tenant_b, worker):
    wf_id = await create(http, tenant_a, name="Editable")
    upd = """mutation($id: String!, $d: String, $m: String, $name: String) {
        updateWorkflow(id: $id, name: $name, workflowDefinition: $d, ifMatch: $m, tags: ["a"]) {
          workflow { id name currentVersion tags } success errors } }"""
    v2 = json.loads(json.dumps(VALID_DEFINITION))
    v2["nodes"][1]["config"]["expression"] = "{ 'value': input.x * 10 }"
    body = await gql(http, tenant_a, upd, {"id": wf_id, "d": json.dumps(v2), "name": "Edited"}, role="developer")
    res = body["data"]["updateWorkflow"]
    assert res["success"] and res["workflow"] == {"id": wf_id, "name": "Edited", "currentVersion": 2, "tags": ["a"]}
    body = await gql(http, tenant_a, upd, {"id": wf_id, "m": '"stale-etag"'}, role="developer")
    assert body["data"]["updateWorkflow"]["success"] is False and "modified" in body["data"]["updateWorkflow"]["errors"][0]
    r = await http.post(URL, json={"query": upd, "variables": {"id": wf_id}}, headers=tenant_a.h("operator"))
    assert r.status_code == 403
    body = await gql(http, tenant_b, upd, {"id": wf_id, "name": "hijack"})
    assert body["data"]["updateWorkflow"]["errors"] == ["workflow not found"]

    # a long-running execution, cancelled through GraphQL
    slow = {"schema_version": 1, "nodes": [{"id": "start", "type": "start"},
                                           {"id": "nap", "type": "wait", "config": {"duration": "PT60S"}},
                                           {"id": "end", "type": "end"}],
            "edges": [{"source": "start", "target": "nap"}, {"source": "nap", "target": "end"}]}
    slow_id = await create(http, tenant_a, definition=slow)
    body = await gql(http, tenant_a, EXECUTE_WORKFLOW, {"workflowId": slow_id}, role="operator")
    exec_id = body["data"]["executeWorkflow"]["execution"]["id"]
    cancel = "mutation($id: String!) { cancelExecution(id: $id) { execution { id } success errors } }"
    body = await gql(http, tenant_b, cancel, {"id": exec_id})
    assert body["data"]["cancelExecution"]["success"] is False
    body = await gql(http, tenant_a, cancel, {"id": exec_id}, role="operator")
    assert body["data"]["cancelExecution"]["success"] is True, body
    assert (await wait_done(http, tenant_a, exec_id))["status"] == "cancelled"
    body = await gql(http, tenant_a, cancel, {"id": exec_id}, role="operator")
    assert body["data"]["cancelExecution"]["success"] is False and "already" in body["data"]["cancelExecution"]["errors"][0]

    delete = "mutation($id: String!) { deleteWorkflow(id: $id) { workflow { id status } success errors } }"
    r = await http.post(URL, json={"query": delete, "variables": {"id": wf_id}}, headers=tenant_a.h("developer"))
    assert r.status_code == 403  # workflow.delete is Admin only
    body = await gql(http, tenant_a, delete, {"id": wf_id}, role="admin")
    assert body["data"]["deleteWorkflow"] == {"workflow": {"id": wf_id, "status": "archived"}, "success": True,
                                              "errors": []}
