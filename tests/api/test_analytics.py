"""Analytics: numbers from real executions (API -> Temporal -> worker -> node_runs) and exact aggregates
over seeded rows in the real Postgres."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

import asyncpg
import pytest_asyncio

from tests.api._util import wait_status
from tests.api.conftest import make_tenant
from tests.localpeers import HttpSink
from wfo.models import utcnow


@pytest_asyncio.fixture
async def tenant(api_settings):
    """A tenant of its own: its numbers are exactly what the test did."""
    return await make_tenant(api_settings)


def http_def(url: str, *, timeout: str | None = None, attempts: int = 1) -> dict:
    call = {"id": "call", "type": "http.request", "config": {"url": url}, "retry": {"max_attempts": attempts,
                                                                                    "initial_interval": "PT0.1S"}}
    if timeout:
        call["timeout"] = timeout
    return {
        "schema_version": 1,
        "nodes": [{"id": "start", "type": "start"}, call,
                  {"id": "shape", "type": "transform", "config": {"expression": "nodes.call.body"}},
                  {"id": "end", "type": "end", "config": {"output": "{{ nodes.shape }}"}}],
        "edges": [{"source": "start", "target": "call"}, {"source": "call", "target": "shape"},
                  {"source": "shape", "target": "end"}],
    }


async def _workflow(http, tenant, definition) -> str:
    r = await http.post("/api/v1/workflows", headers=tenant.h("developer"),
                        json={"name": f"a-{uuid.uuid4().hex[:6]}", "definition": definition, "status": "active"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def _run(http, tenant, wid, n: int) -> list[dict]:
    ids = []
    for _ in range(n):
        r = await http.post(f"/api/v1/workflows/{wid}/execute", headers=tenant.h("operator"), json={"input": {}})
        assert r.status_code == 202, r.text
        ids.append(r.json()["id"])
    return list(await asyncio.gather(*(wait_status(http, tenant, i, timeout=30) for i in ids)))


async def test_real_runs_summary_workflow_and_node_numbers(http, tenant, worker, api_settings):
    def slow(_req):
        time.sleep(1.0)
        return 200, {"late": True}

    with HttpSink(routes={("GET", "/ok"): (200, {"ok": 1}), ("GET", "/gone"): (404, {}),
                          ("GET", "/slow"): slow}) as sink:
        ok = await _workflow(http, tenant, http_def(sink.url + "/ok"))
        bad = await _workflow(http, tenant, http_def(sink.url + "/gone"))
        slow_wf = await _workflow(http, tenant, http_def(sink.url + "/slow", timeout="PT0.3S", attempts=2))
        runs_ok, runs_bad, runs_slow = await asyncio.gather(
            _run(http, tenant, ok, 3), _run(http, tenant, bad, 2), _run(http, tenant, slow_wf, 3))
    assert [r["status"] for r in runs_ok] == ["completed"] * 3
    assert [r["status"] for r in runs_bad + runs_slow] == ["failed"] * 5
    # a component test is not an execution: not counted anywhere
    t = await http.post("/api/v1/components/transform/test", headers=tenant.h("developer"),
                        json={"config": {"expression": "1"}})
    assert t.status_code == 200

    r = await http.get("/api/v1/analytics/summary", params={"window": "PT1H", "bucket": "PT10M"},
                       headers=tenant.h("viewer"))
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["counts"] == {"running": 0, "completed": 3, "failed": 5, "cancelled": 0, "scheduled": 0}
    assert s["success_rate"] == 3 / 8 and s["avg_duration_seconds"] > 0
    assert len(s["over_time"]) == 6
    assert sum(b["completed"] for b in s["over_time"]) == 3 and sum(b["failed"] for b in s["over_time"]) == 5
    assert {e["id"] for e in s["recent"]["completed"]} == {x["id"] for x in runs_ok}
    assert len(s["recent"]["failed"]) == 5 and s["recent"]["running"] == []
    one = (await http.get("/api/v1/analytics/summary", params={"window": "PT1H", "workflow_id": bad},
                          headers=tenant.h("viewer"))).json()
    assert one["counts"]["failed"] == 2 and one["counts"]["completed"] == 0 and one["success_rate"] == 0.0

    wa = (await http.get(f"/api/v1/analytics/workflows/{ok}", params={"window": "PT1H"},
                         headers=tenant.h("viewer"))).json()
    assert wa["executions"] == 3 and wa["success_rate"] == 1.0 and wa["failures_by_type"] == {}
    p = wa["duration_seconds"]
    assert 0 < p["p50"] <= p["p95"] <= p["p99"]
    nodes = {n["node_id"]: n for n in wa["nodes"]}
    assert set(nodes) == {"start", "call", "shape", "end"}
    assert nodes["call"]["runs"] == 3 and nodes["call"]["completed"] == 3 and nodes["call"]["node_type"] == "http.request"
    assert nodes["call"]["duration_ms"]["p50"] is not None

    wb = (await http.get(f"/api/v1/analytics/workflows/{bad}", params={"window": "PT1H"},
                         headers=tenant.h("viewer"))).json()
    assert wb["failures_by_type"] == {"HttpStatusError": 2}
    assert [n["node_id"] for n in wb["top_failing_nodes"]] == ["call"]
    assert {n["node_id"] for n in wb["nodes"]} == {"start", "call"}  # shape and end never ran

    ws = (await http.get(f"/api/v1/analytics/workflows/{slow_wf}", params={"window": "PT1H"},
                         headers=tenant.h("viewer"))).json()
    call = next(n for n in ws["nodes"] if n["node_id"] == "call")
    assert call["failed"] == 3 and call["retries"] == 3 and call["attempts"] == 6
    assert call["failures_by_type"] == {"Timeout": 3}
    assert [n["node_id"] for n in ws["top_retrying_nodes"]] == ["call"]

    allnodes = (await http.get("/api/v1/analytics/nodes", params={"window": "PT1H"}, headers=tenant.h())).json()
    assert allnodes["items"][0]["failed"] == 3 and allnodes["items"][0]["workflow_id"] == slow_wf
    assert len([n for n in allnodes["items"] if n["node_id"] == "call"]) == 3

    recs = (await http.get("/api/v1/analytics/recommendations", params={"window": "PT1H"},
                           headers=tenant.h())).json()["items"]
    mine = {(r["rule"], r["workflow_id"]) for r in recs}
    assert ("timeout_below_duration", slow_wf) in mine, recs
    assert ("retries_never_succeed", slow_wf) in mine and ("high_failure_rate", slow_wf) in mine
    assert ("high_failure_rate", bad) not in mine  # 2 runs: below the evidence threshold
    timeout = next(r for r in recs if r["rule"] == "timeout_below_duration")
    assert timeout["message"].startswith("node call failed 50% of attempts with a timeout in 1 hour: its timeout "
                                         "PT0.3S is below its p95 duration "), timeout
    assert timeout["evidence"]["p95_ms"] >= 300 and timeout["evidence"]["timeout_failures"] == 3


async def _seed(database_url: str, tenant_id: uuid.UUID, wid: uuid.UUID, durations: list[int]) -> None:
    """One execution per duration; node `fetch` took that long, node `quick` 10 ms; every 4th fetch failed
    after 3 attempts with Timeout; fetch has timeout PT0.05S in the stored definition."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("INSERT INTO workflows (id, tenant_id, name) VALUES ($1, $2, 'seeded')", wid, tenant_id)
        await conn.execute(
            "INSERT INTO workflow_versions (workflow_id, version, definition) VALUES ($1, 1, $2::jsonb)", wid,
            '{"nodes": [{"id": "fetch", "type": "http.request", "timeout": "PT0.05S"}, {"id": "quick", "type": "util.noop"}]}')
        now = utcnow()
        execs, runs = [], []
        for i, d in enumerate(durations):
            eid = f"seed-{uuid.uuid4()}"
            failed = i % 4 == 3
            started = now - timedelta(minutes=30) + timedelta(seconds=i)
            execs.append((eid, tenant_id, wid, 1, "failed" if failed else "completed", started,
                          started + timedelta(milliseconds=d + 10)))
            runs.append((eid, "fetch", tenant_id, wid, "http.request", "failed" if failed else "completed",
                         3 if failed else 1, d, "Timeout" if failed else None, started))
            runs.append((eid, "quick", tenant_id, wid, "util.noop", "completed", 1, 10, None, started))
        await conn.executemany(
            "INSERT INTO executions (id, tenant_id, workflow_id, version, status, started_at, completed_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7)", execs)
        await conn.executemany(
            "INSERT INTO node_runs (execution_id, node_id, tenant_id, workflow_id, version, node_type, status, "
            "activations, attempts, duration_ms, error_type, execution_status, execution_started_at) "
            "VALUES ($1, $2, $3, $4, 1, $5, $6, 1, $7, $8, $9, $6, $10)", runs)
    finally:
        await conn.close()


async def test_exact_percentiles_and_rules_on_seeded_rows(http, tenant, api_settings):
    wid = uuid.uuid4()
    await _seed(api_settings.database_url, tenant.id, wid, list(range(1, 101)))  # 1..100 ms
    r = await http.get("/api/v1/analytics/nodes", params={"window": "PT1H", "workflow_id": str(wid), "exact": True},
                       headers=tenant.h("viewer"))
    assert r.status_code == 200, r.text
    fetch, quick = r.json()["items"]
    assert fetch["node_id"] == "fetch" and fetch["runs"] == 100 and fetch["failed"] == 25
    assert fetch["success_rate"] == 0.75 and fetch["retries"] == 50 and fetch["retried_runs_succeeded"] == 0
    assert fetch["duration_ms"] == {"p50": 50.5, "p95": 95.05, "p99": 99.01}
    assert fetch["avg_duration_ms"] == 50.5 and fetch["failures_by_type"] == {"Timeout": 25}
    assert quick["duration_ms"]["p50"] == 10 and quick["failed"] == 0
    wa = (await http.get(f"/api/v1/analytics/workflows/{wid}", params={"window": "PT1H", "exact": True},
                         headers=tenant.h("viewer"))).json()
    assert wa["executions"] == 100 and wa["counts"]["completed"] == 75 and wa["counts"]["failed"] == 25
    assert wa["duration_seconds"]["p50"] == 0.0605  # (1..100) + 10 ms, seconds
    recs = (await http.get("/api/v1/analytics/recommendations",
                           params={"window": "PT1H", "workflow_id": str(wid), "exact": True},
                           headers=tenant.h("viewer"))).json()["items"]
    by_rule = {r["rule"]: r for r in recs}
    assert set(by_rule) == {"timeout_below_duration", "retries_never_succeed", "high_failure_rate", "dominant_node"}
    # 25 timeouts of 150 attempts (75 runs x 1 + 25 runs x 3); p95 of 1..100 ms is 95.05 ms
    assert by_rule["timeout_below_duration"]["message"].startswith(
        "node fetch failed 17% of attempts with a timeout in 1 hour: its timeout PT0.05S is below its p95 "
        "duration 0.095"), by_rule["timeout_below_duration"]
    assert by_rule["dominant_node"]["node_id"] == "fetch" and by_rule["dominant_node"]["evidence"]["share"] == 0.835
    assert by_rule["dominant_node"]["severity"] == "low" and by_rule["high_failure_rate"]["severity"] == "medium"
    assert by_rule["retries_never_succeed"]["evidence"]["retried_runs"] == 25
    assert "failed 25 of 100 runs (25%)" in by_rule["high_failure_rate"]["message"]


async def test_bad_parameters_are_422_and_tenants_are_apart(http, tenant, tenant_b):
    for params, word in (({"window": "P0D"}, "window"), ({"window": "soon"}, "window"),
                         ({"window": "P30D", "bucket": "PT1M"}, "bucket"), ({"window": "P400D"}, "window")):
        r = await http.get("/api/v1/analytics/summary", params=params, headers=tenant.h("viewer"))
        assert r.status_code == 422 and r.json()["detail"].startswith(word), (params, r.text)
    wid = await _workflow(http, tenant, http_def("http://127.0.0.1:9/x"))
    for path in (f"/api/v1/analytics/workflows/{wid}", "/api/v1/analytics/nodes",
                 "/api/v1/analytics/recommendations", "/api/v1/analytics/summary"):
        r = await http.get(path, params={"workflow_id": wid} if "workflows/" not in path else {},
                           headers=tenant_b.h("admin"))
        assert r.status_code == 404, (path, r.text)
    assert (await http.get("/api/v1/analytics/summary")).status_code == 401


async def test_hourly_rollups_agree_with_the_raw_rows(http, tenant, api_settings):
    """The default path (hourly rollups kept by triggers): the same counts as the raw rows, percentiles within
    the histogram's bucket width; and the rollups follow updates and deletes of the rows."""
    wid = uuid.uuid4()
    await _seed(api_settings.database_url, tenant.id, wid, [d * 37 % 5000 + 1 for d in range(1, 201)])
    params = {"window": "PT2H", "workflow_id": str(wid)}

    async def both(path: str) -> tuple[dict, dict]:
        fast = (await http.get(path, params=params, headers=tenant.h("viewer"))).json()
        exact = (await http.get(path, params={**params, "exact": True}, headers=tenant.h("viewer"))).json()
        return fast, exact

    fast, exact = await both("/api/v1/analytics/nodes")
    assert [(n["node_id"], n["runs"], n["failed"], n["retries"], n["attempts"], n["failures_by_type"])
            for n in fast["items"]] == \
        [(n["node_id"], n["runs"], n["failed"], n["retries"], n["attempts"], n["failures_by_type"])
         for n in exact["items"]]
    for f, e in zip(fast["items"], exact["items"]):
        assert f["avg_duration_ms"] == e["avg_duration_ms"] and f["total_duration_ms"] == e["total_duration_ms"]
        for p in ("p50", "p95", "p99"):
            assert abs(f["duration_ms"][p] - e["duration_ms"][p]) <= 0.3 * e["duration_ms"][p], (p, f, e)
    fast, exact = await both(f"/api/v1/analytics/workflows/{wid}")
    assert fast["counts"] == exact["counts"] and fast["executions"] == exact["executions"] == 200
    assert fast["avg_duration_seconds"] == exact["avg_duration_seconds"]
    assert abs(fast["duration_seconds"]["p95"] - exact["duration_seconds"]["p95"]) <= 0.3 * exact["duration_seconds"]["p95"]
    fast, exact = await both("/api/v1/analytics/summary")
    assert fast["counts"] == exact["counts"] and fast["success_rate"] == exact["success_rate"] == 0.75
    assert sum(b["completed"] for b in fast["over_time"]) == 150

    # the rollups follow the rows: a status change, a deletion
    conn = await asyncpg.connect(api_settings.database_url)
    try:
        ids = [r["id"] for r in await conn.fetch(
            "SELECT id FROM executions WHERE workflow_id = $1 AND status = 'failed' ORDER BY id LIMIT 10", wid)]
        await conn.execute("UPDATE executions SET status = 'completed' WHERE id = ANY($1::text[])", ids[:5])
        await conn.execute("DELETE FROM node_runs WHERE execution_id = ANY($1::text[])", ids[5:])
        await conn.execute("DELETE FROM executions WHERE id = ANY($1::text[])", ids[5:])
    finally:
        await conn.close()
    fast, exact = await both(f"/api/v1/analytics/workflows/{wid}")
    assert fast["counts"] == exact["counts"] and fast["counts"]["completed"] == 155 and fast["counts"]["failed"] == 40
    fetch_fast = next(n for n in fast["nodes"] if n["node_id"] == "fetch")
    fetch_exact = next(n for n in exact["nodes"] if n["node_id"] == "fetch")
    assert fetch_fast["runs"] == fetch_exact["runs"] == 195 and fetch_fast["failures_by_type"] == {"Timeout": 45}
