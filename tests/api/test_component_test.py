"""POST /api/v1/components/{type}/test: one node through the real Temporal dev server and worker."""

from __future__ import annotations

import time

from tests.localpeers import HttpSink

URL = "/api/v1/components/{}/test"


async def test_transform_reads_input_nodes_and_vars(app, http, tenant_a, worker):
    body = {"config": {"expression": "{ 'sum': input.a + nodes.prev.b + vars.c }"}, "input": {"a": 1},
            "context": {"nodes": {"prev": {"b": 20}}, "vars": {"c": 300}}}
    r = await http.post(URL.format("transform"), headers=tenant_a.h("developer"), json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "completed" and out["output"] == {"sum": 321} and out["port"] == "out"
    assert out["error"] is None and out["duration_ms"] > 0 and out["execution_id"].startswith("test-")
    # it really ran in Temporal, in the caller's tenant, as a test
    desc = await _describe(app, out["execution_id"])
    assert desc.search_attributes.get("WfoTrigger") == ["test"]
    assert desc.search_attributes.get("WfoTenant") == [str(tenant_a.id)]


async def _describe(app, execution_id):
    return await app.state.temporal_client.get_workflow_handle(execution_id).describe()


async def test_decision_reports_the_port_taken(http, tenant_a, worker):
    r = await http.post(URL.format("decision"), headers=tenant_a.h("developer"),
                        json={"config": {"condition": "input.amount > 1000"}, "input": {"amount": 5}})
    assert r.status_code == 200, r.text
    assert r.json()["port"] == "false" and r.json()["output"] == {"result": False}
    r = await http.post(URL.format("switch"), headers=tenant_a.h("developer"),
                        json={"config": {"expression": "input.kind", "cases": [{"port": "big", "value": "b"}]},
                              "input": {"kind": "b"}})
    assert r.status_code == 200 and r.json()["port"] == "big", r.text


async def test_http_request_output_and_failure(http, tenant_a, worker):
    with HttpSink(routes={("GET", "/ok"): (200, {"hello": "world"}), ("GET", "/gone"): (404, {"no": 1})}) as sink:
        r = await http.post(URL.format("http.request"), headers=tenant_a.h("developer"),
                            json={"config": {"url": sink.url + "/ok?q={{ input.q }}"}, "input": {"q": "x1"}})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "completed" and r.json()["output"]["body"] == {"hello": "world"}
        assert [c.target for c in sink.calls("GET", "/ok")] == ["/ok?q=x1"]
        r = await http.post(URL.format("http.request"), headers=tenant_a.h("developer"),
                            json={"config": {"url": sink.url + "/gone"}})
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["status"] == "failed" and out["output"] is None and out["port"] is None
        assert out["error"]["type"] == "HttpStatusError" and "404" in out["error"]["message"]
        assert len(sink.calls("GET", "/gone")) == 1  # a test makes one attempt unless told otherwise


async def test_bad_input_is_4xx_with_where(http, tenant_a, worker):
    r = await http.post(URL.format("http.request"), headers=tenant_a.h("developer"),
                        json={"config": {"method": "FETCH"}, "node_id": "call"})
    assert r.status_code == 422, r.text
    problems = r.json()["detail"]["problems"]
    assert {p["field"] for p in problems} >= {"config", "config.method"} or len(problems) >= 2, problems
    assert all(p["node_id"] == "call" for p in problems)
    assert any("url" in p["message"] for p in problems)
    r = await http.post(URL.format("no.such"), headers=tenant_a.h("developer"), json={})
    assert r.status_code == 404 and "no.such" in r.json()["detail"]
    r = await http.post(URL.format("join"), headers=tenant_a.h("developer"), json={})
    assert r.status_code == 422 and "cannot be tested alone" in r.json()["detail"]["message"]
    r = await http.post(URL.format("transform"), headers=tenant_a.h("developer"),
                        json={"config": {"expression": "1"}, "surprise": 1})
    assert r.status_code == 422
    r = await http.post(URL.format("transform"), headers=tenant_a.h("developer"),
                        json={"config": {"expression": "1"}, "node_id": "no spaces"})
    assert r.status_code == 422
    # an expression that fails at run time is a failed test, not an error of the endpoint
    r = await http.post(URL.format("transform"), headers=tenant_a.h("developer"),
                        json={"config": {"expression": "$error('nope')"}})
    assert r.status_code == 200 and r.json()["status"] == "failed", r.text
    assert r.json()["error"]["type"] == "ExpressionError" and "nope" in r.json()["error"]["message"]


async def test_permission_developer_and_up(http, tenant_a, worker):
    for role, code in (("viewer", 403), ("operator", 403), ("developer", 200), ("admin", 200)):
        r = await http.post(URL.format("transform"), headers=tenant_a.h(role), json={"config": {"expression": "1"}})
        assert r.status_code == code, (role, r.text)


async def test_slow_node_times_out_with_504(app, http, tenant_a, worker):
    def slow(_req):
        time.sleep(3)
        return 200, {}

    with HttpSink(routes={("GET", "/slow"): slow}) as sink:
        t0 = time.perf_counter()
        r = await http.post(URL.format("http.request"), headers=tenant_a.h("developer"),
                            json={"config": {"url": sink.url + "/slow"}, "wait_seconds": 1})
        assert r.status_code == 504, r.text
        assert "did not finish within 1 s" in r.json()["detail"] and time.perf_counter() - t0 < 2.5
        eid = r.json()["detail"].split("test run ")[1].split(" ")[0]
        desc = await _describe(app, eid)
        assert desc.status.name == "TERMINATED"
