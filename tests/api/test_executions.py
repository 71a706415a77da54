"""Executions end to end: REST -> engine (real Temporal dev server + worker) -> Postgres index."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from sqlmodel import select

from api.services import executions as exec_svc
from tests.api._util import wait_status as _wait_status
from wfo.executions import start_execution
from wfo.models import Execution, NodeRun, utcnow


def wait_def(duration: str = "PT30S") -> dict:
    return {
        "schema_version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "pause", "type": "wait", "config": {"duration": duration}},
            {"id": "end", "type": "end", "config": {"output": "{{ input }}"}},
        ],
        "edges": [{"source": "start", "target": "pause"}, {"source": "pause", "target": "end"}],
    }


def failing_def() -> dict:
    return {
        "schema_version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "check", "type": "decision", "config": {"condition": "input.x > 0"}},
            {"id": "boom", "type": "terminate", "config": {"message": "bad input {{ input.x }}"}},
            {"id": "end", "type": "end"},
        ],
        "edges": [{"source": "start", "target": "check"}, {"source": "check", "source_port": "true", "target": "boom"},
                  {"source": "check", "source_port": "false", "target": "end"}],
    }


async def _workflow(http, tenant, definition, **over) -> str:
    body = {"name": f"wf-{uuid.uuid4().hex[:6]}", "definition": definition, "status": "active", **over}
    r = await http.post("/api/v1/workflows", headers=tenant.h("developer"), json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def test_execute_to_completion(http, tenant_a, definition, worker, api_settings, temporal_env):
    wid = await _workflow(http, tenant_a, definition)
    r = await http.post(f"/api/v1/workflows/{wid}/execute", headers=tenant_a.h("operator"), json={"input": {"x": 21}})
    assert r.status_code == 202, r.text
    started = r.json()
    assert started["status"] == "running" and started["workflow_id"] == wid and started["version"] == 1
    assert started["temporal_ui_url"].startswith(api_settings.temporal_ui_url) and started["id"] in started["temporal_ui_url"]

    detail = await _wait_status(http, tenant_a, started["id"])
    assert detail["status"] == "completed", detail
    # the interpreter closes its row in its last local activity, a moment before Temporal closes the run
    await temporal_env.client.get_workflow_handle(started["id"]).result()
    detail = (await http.get(f"/api/v1/executions/{started['id']}", headers=tenant_a.h("viewer"))).json()
    assert detail["output"] == {"value": 42}
    assert detail["input"] == {"x": 21}
    assert detail["completed_at"] and detail["duration_ms"] is not None
    assert detail["temporal_status"] == "COMPLETED" and detail["progress_percent"] == 100.0
    assert {n: s["status"] for n, s in detail["nodes"].items()} == {"start": "completed", "double": "completed", "end": "completed"}

    logs = await http.get(f"/api/v1/executions/{started['id']}/logs", headers=tenant_a.h("viewer"))
    assert logs.status_code == 200
    by_node = {n["node_id"]: n for n in logs.json()["nodes"]}
    assert by_node["double"]["status"] == "completed" and by_node["double"]["attempt"] >= 1
    assert by_node["double"]["started_at"] and by_node["double"]["completed_at"]
    [run] = by_node["double"]["runs"]
    assert run["status"] == "completed" and run["started_at"] and run["completed_at"] and run["attempt"] >= 1
    assert any(e["event"] == "completed" for e in logs.json()["events"])

    lst = await http.get("/api/v1/executions", params={"workflow_id": wid}, headers=tenant_a.h("viewer"))
    assert [e["id"] for e in lst.json()["items"]] == [started["id"]]
    assert lst.json()["items"][0]["status"] == "completed"


async def test_running_execution_keeps_its_version(http, tenant_a, definition, worker):
    wid = await _workflow(http, tenant_a, wait_def("PT1S"))
    r = await http.post(f"/api/v1/workflows/{wid}/execute", headers=tenant_a.h("developer"), json={"input": {"v": 1}})
    first = r.json()
    # a new version while the first execution runs
    p = await http.put(f"/api/v1/workflows/{wid}", headers=tenant_a.h("developer"), json={"definition": definition})
    assert p.json()["current_version"] == 2
    r2 = await http.post(f"/api/v1/workflows/{wid}/execute", headers=tenant_a.h("developer"), json={"input": {"x": 1}})
    assert r2.json()["version"] == 2
    r3 = await http.post(f"/api/v1/workflows/{wid}/execute", headers=tenant_a.h("developer"), json={"input": {"v": 3}, "version": 1})
    assert r3.json()["version"] == 1
    d1 = await _wait_status(http, tenant_a, first["id"])
    assert d1["status"] == "completed" and d1["output"] == {"v": 1} and d1["version"] == 1
    assert (await _wait_status(http, tenant_a, r2.json()["id"]))["output"] == {"value": 2}
    assert (await _wait_status(http, tenant_a, r3.json()["id"]))["output"] == {"v": 3}
    bad = await http.post(f"/api/v1/workflows/{wid}/execute", headers=tenant_a.h("developer"), json={"version": 7})
    assert bad.status_code == 404


async def test_failed_execution_logs_and_retry(http, tenant_a, worker):
    wid = await _workflow(http, tenant_a, failing_def())
    r = await http.post(f"/api/v1/workflows/{wid}/execute", headers=tenant_a.h("operator"), json={"input": {"x": 7}})
    d = await _wait_status(http, tenant_a, r.json()["id"])
    assert d["status"] == "failed" and "bad input 7" in d["error"]
    logs = (await http.get(f"/api/v1/executions/{d['id']}/logs", headers=tenant_a.h())).json()
    boom = next(n for n in logs["nodes"] if n["node_id"] == "boom")
    assert boom["status"] == "failed" and boom["error"] and boom["failed_at"]
    assert boom["runs"][-1]["status"] == "failed" and "bad input 7" in boom["runs"][-1]["error"]
    # retry: new execution, same input + version
    rr = await http.post(f"/api/v1/executions/{d['id']}/retry", headers=tenant_a.h("operator"))
    assert rr.status_code == 202
    assert rr.json()["id"] != d["id"] and rr.json()["version"] == d["version"]
    d2 = await _wait_status(http, tenant_a, rr.json()["id"])
    assert d2["input"] == {"x": 7} and d2["trigger"] == "retry" and d2["status"] == "failed"
    failed = await http.get("/api/v1/executions", params={"workflow_id": wid, "status": "failed"}, headers=tenant_a.h())
    assert failed.json()["total"] == 2


async def test_cancel(http, tenant_a, worker):
    wid = await _workflow(http, tenant_a, wait_def("PT60S"))
    r = await http.post(f"/api/v1/workflows/{wid}/execute", headers=tenant_a.h("operator"), json={"input": {}})
    eid = r.json()["id"]
    await asyncio.sleep(0.3)
    running = await http.get(f"/api/v1/executions/{eid}", headers=tenant_a.h())
    assert running.json()["status"] == "running"
    assert running.json()["nodes"] is None or running.json()["nodes"]["pause"]["status"] in ("running", "pending")
    assert (await http.post(f"/api/v1/executions/{eid}/cancel", headers=tenant_a.h("viewer"))).status_code == 403
    c = await http.post(f"/api/v1/executions/{eid}/cancel", headers=tenant_a.h("operator"))
    assert c.status_code == 202, c.text
    d = await _wait_status(http, tenant_a, eid, statuses=("cancelled", "failed", "completed"))
    assert d["status"] == "cancelled"
    again = await http.post(f"/api/v1/executions/{eid}/cancel", headers=tenant_a.h("operator"))
    assert again.status_code == 409


async def test_executions_are_tenant_scoped(http, tenant_a, tenant_b, definition, worker):
    wid = await _workflow(http, tenant_a, definition)
    eid = (await http.post(f"/api/v1/workflows/{wid}/execute", headers=tenant_a.h(), json={"input": {"x": 1}})).json()["id"]
    for method, path in [("GET", f"/api/v1/executions/{eid}"), ("GET", f"/api/v1/executions/{eid}/logs"),
                         ("POST", f"/api/v1/executions/{eid}/cancel"), ("POST", f"/api/v1/executions/{eid}/retry")]:
        r = await http.request(method, path, headers=tenant_b.h("admin"))
        assert r.status_code == 404, (path, r.status_code)
    r = await http.get("/api/v1/executions", params={"limit": 500}, headers=tenant_b.h())
    assert eid not in {e["id"] for e in r.json()["items"]}
    r = await http.get(f"/api/v1/executions/unknown-{uuid.uuid4()}", headers=tenant_a.h())
    assert r.status_code == 404


async def test_inactive_and_archived_workflows_do_not_execute(http, tenant_a, definition):
    wid = await _workflow(http, tenant_a, definition, status="inactive")
    r = await http.post(f"/api/v1/workflows/{wid}/execute", headers=tenant_a.h(), json={})
    assert r.status_code == 409
    await http.delete(f"/api/v1/workflows/{wid}", headers=tenant_a.h())
    r = await http.post(f"/api/v1/workflows/{wid}/execute", headers=tenant_a.h(), json={})
    assert r.status_code == 409


async def test_index_converges_after_crash(app, temporal_env, tenant_a, definition, worker, api_settings, http):
    """API crashed after starting (row says running) / before starting (no Temporal execution):
    a reconcile pass brings Postgres in line with Temporal."""
    wid = await _workflow(http, tenant_a, definition)
    done_id, ghost_id = f"exec-{uuid.uuid4()}", f"exec-{uuid.uuid4()}"
    handle = await start_execution(temporal_env.client, definition=definition, input={"x": 5},
                                   task_queue=api_settings.temporal_task_queue, execution_id=done_id,
                                   workflow_id=wid, version=1, tenant_id=str(tenant_a.id))
    await handle.result()
    async with app.state.sessionmaker() as session:
        session.add(Execution(id=done_id, tenant_id=tenant_a.id, workflow_id=uuid.UUID(wid), version=1, input={"x": 5}))
        session.add(Execution(id=ghost_id, tenant_id=tenant_a.id, workflow_id=uuid.UUID(wid), version=1,
                              started_at=utcnow() - timedelta(minutes=5)))
        await session.commit()
    changed = await exec_svc.reconcile_pending(app.state.sessionmaker, temporal_env.client)
    assert changed >= 2
    async with app.state.sessionmaker() as session:
        rows = {r.id: r for r in (await session.exec(select(Execution).where(Execution.id.in_([done_id, ghost_id])))).all()}
    assert rows[done_id].status == "completed" and rows[done_id].output == {"value": 10}
    assert rows[done_id].completed_at
    assert rows[ghost_id].status == "failed" and "not found" in rows[ghost_id].error
    assert rows[ghost_id].failure == "not_found"  # what lets a keyed retry revive it
    # per-node progress is fetched on first read and kept
    d = await http.get(f"/api/v1/executions/{done_id}", headers=tenant_a.h())
    assert d.json()["nodes"]["double"]["status"] == "completed"
    async with app.state.sessionmaker() as session:
        assert (await session.get(Execution, done_id)).progress["nodes"]


async def test_periodic_reconcile_in_lifespan(api_settings, temporal_env, tenant_a, definition, worker, http):
    """The app's background loop converges rows nobody reads."""
    from api.main import create_app

    wid = await _workflow(http, tenant_a, definition)
    eid = f"exec-{uuid.uuid4()}"
    handle = await start_execution(temporal_env.client, definition=definition, input={"x": 4},
                                   task_queue=api_settings.temporal_task_queue, execution_id=eid,
                                   workflow_id=wid, version=1, tenant_id=str(tenant_a.id))
    await handle.result()
    app2 = create_app(api_settings, temporal_client=temporal_env.client, reconcile_interval=0.2)
    async with app2.router.lifespan_context(app2):
        async with app2.state.sessionmaker() as session:
            session.add(Execution(id=eid, tenant_id=tenant_a.id, workflow_id=uuid.UUID(wid), version=1))
            await session.commit()
        for _ in range(50):
            await asyncio.sleep(0.1)
            async with app2.state.sessionmaker() as session:
                row = await session.get(Execution, eid)
                if row.status != "running":
                    break
    assert row.status == "completed" and row.output == {"value": 8}


async def test_reads_degrade_when_temporal_is_down(api_settings, tenant_a, definition, worker, http):
    """Temporal unreachable: reads answer from the Postgres index, starts answer 503."""
    import httpx

    from api.main import create_app

    wid = await _workflow(http, tenant_a, definition)
    eid = (await http.post(f"/api/v1/workflows/{wid}/execute", headers=tenant_a.h(), json={"input": {"x": 1}})).json()["id"]
    await _wait_status(http, tenant_a, eid)
    down = api_settings.model_copy(update={"temporal_address": "127.0.0.1:1"})
    app2 = create_app(down, reconcile_interval=None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app2), base_url="http://t") as c:
        r = await c.get(f"/api/v1/executions/{eid}", headers=tenant_a.h())
        assert r.status_code == 200 and r.json()["status"] == "completed" and r.json()["nodes"]
        r = await c.get("/api/v1/executions", params={"workflow_id": wid}, headers=tenant_a.h())
        assert r.status_code == 200 and r.json()["total"] == 1
        r = await c.post(f"/api/v1/workflows/{wid}/execute", headers=tenant_a.h(), json={})
        assert r.status_code == 503
    await app2.state.engine.dispose()


async def test_execution_stats_one_query(app, http, tenant_a, definition, worker):
    wid = await _workflow(http, tenant_a, failing_def())
    ok = (await http.post(f"/api/v1/workflows/{wid}/execute", headers=tenant_a.h(), json={"input": {"x": 0}})).json()["id"]
    bad = (await http.post(f"/api/v1/workflows/{wid}/execute", headers=tenant_a.h(), json={"input": {"x": 1}})).json()["id"]
    for eid in (ok, bad):
        await _wait_status(http, tenant_a, eid)
    other = uuid.uuid4()
    async with app.state.sessionmaker() as session:
        stats = await exec_svc.execution_stats(session, tenant_a.id, [uuid.UUID(wid), other])
    assert stats[uuid.UUID(wid)]["execution_count"] == 2 and stats[uuid.UUID(wid)]["success_rate"] == 0.5
    assert stats[other]["execution_count"] == 0 and stats[other]["success_rate"] is None
    r = await http.get("/api/v1/workflows", params={"include_stats": True, "limit": 500}, headers=tenant_a.h("viewer"))
    item = next(w for w in r.json()["items"] if w["id"] == wid)
    assert item["execution_count"] == 2 and item["success_rate"] == 0.5


async def test_archived_workflow_executions_stay_readable(http, tenant_a, definition, worker):
    wid = await _workflow(http, tenant_a, definition)
    eid = (await http.post(f"/api/v1/workflows/{wid}/execute", headers=tenant_a.h(), json={"input": {"x": 2}})).json()["id"]
    await _wait_status(http, tenant_a, eid)
    assert (await http.delete(f"/api/v1/workflows/{wid}", headers=tenant_a.h("admin"))).status_code == 200
    d = await http.get(f"/api/v1/executions/{eid}", headers=tenant_a.h("viewer"))
    assert d.status_code == 200 and d.json()["output"] == {"value": 4}
    assert (await http.get(f"/api/v1/executions/{eid}/logs", headers=tenant_a.h("viewer"))).status_code == 200
    lst = await http.get("/api/v1/executions", params={"workflow_id": wid}, headers=tenant_a.h("viewer"))
    assert [e["id"] for e in lst.json()["items"]] == [eid]
    assert (await http.post(f"/api/v1/executions/{eid}/retry", headers=tenant_a.h())).status_code == 409
    v = await http.get(f"/api/v1/workflows/{wid}/versions/1", headers=tenant_a.h("viewer"))
    assert v.status_code == 200


async def test_one_reconcile_pass_at_a_time(app, temporal_env, tenant_a):
    from sqlalchemy import func

    ghost = f"exec-{uuid.uuid4()}"
    async with app.state.sessionmaker() as session:
        session.add(Execution(id=ghost, tenant_id=tenant_a.id, started_at=utcnow() - timedelta(minutes=5)))
        await session.commit()
    async with app.state.sessionmaker() as holder:  # another replica's pass in progress
        assert (await holder.exec(select(func.pg_try_advisory_xact_lock(exec_svc.RECONCILE_LOCK_KEY)))).one()
        assert await exec_svc.reconcile_pending(app.state.sessionmaker, temporal_env.client) == 0
        await holder.rollback()
    assert await exec_svc.reconcile_pending(app.state.sessionmaker, temporal_env.client) >= 1
    async with app.state.sessionmaker() as session:
        assert (await session.get(Execution, ghost)).status == "failed"


async def test_reconcile_pass_pages_through_every_row(app, temporal_env, tenant_a):
    ghosts = [f"exec-{uuid.uuid4()}" for _ in range(5)]
    async with app.state.sessionmaker() as session:
        for g in ghosts:
            session.add(Execution(id=g, tenant_id=tenant_a.id, started_at=utcnow() - timedelta(minutes=5)))
        await session.commit()
    assert await exec_svc.reconcile_pending(app.state.sessionmaker, temporal_env.client, batch=2) >= 5
    async with app.state.sessionmaker() as session:
        statuses = {(await session.get(Execution, g)).status for g in ghosts}
    assert statuses == {"failed"}


async def test_listing_by_cursor_and_capped_total(app, http, monkeypatch):
    """Keyset pages walk every row once, newest first; the total stops counting at the cap."""
    from tests.api.conftest import make_tenant

    tenant = await make_tenant(app.state.settings)
    base = utcnow()
    async with app.state.sessionmaker() as s:
        for i in range(7):  # two share a start time: the id breaks the tie
            s.add(Execution(id=f"exec-cursor-{uuid.uuid4().hex[:6]}-{i}", tenant_id=tenant.id, status="completed",
                            started_at=base - timedelta(minutes=min(i, 5)), completed_at=base))
        await s.commit()
    h = tenant.h("viewer")
    first = (await http.get("/api/v1/executions", params={"limit": 3}, headers=h)).json()
    assert first["total"] == 7 and first["total_capped"] is False and first["next_cursor"]
    seen = [e["id"] for e in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = (await http.get("/api/v1/executions", params={"limit": 3, "cursor": cursor}, headers=h)).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
    everything = (await http.get("/api/v1/executions", params={"limit": 50}, headers=h)).json()["items"]
    assert seen == [e["id"] for e in everything] and len(set(seen)) == 7  # same order, nothing twice or lost
    bad = await http.get("/api/v1/executions", params={"cursor": "not-a-cursor"}, headers=h)
    assert bad.status_code == 422 and "cursor" in bad.text
    monkeypatch.setattr(exec_svc, "COUNT_CAP", 5)
    capped = (await http.get("/api/v1/executions", headers=h)).json()
    assert capped["total"] == 5 and capped["total_capped"] is True


async def _row_when_closed(app, exec_id: str, timeout: float = 15.0) -> Execution:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with app.state.sessionmaker() as session:
            row = await session.get(Execution, exec_id)
        if row is not None and row.status != "running":
            return row
        assert asyncio.get_running_loop().time() < deadline, "the row was not closed"
        await asyncio.sleep(0.1)


async def test_an_execution_closes_its_own_row_and_records_no_patch_markers(app, http, tenant_a, definition,
                                                                            worker, temporal_env):
    """No reconciler runs here (reconcile_interval=None) and nothing reads the execution through the API:
    the worker closes the row (status, output or error, progress) and writes the node runs as the run ends,
    outside history (`worker.closing`). A new execution is started with every interpreter feature
    (ExecutionInput.features), so its history holds no patch marker, no TemporalChangeVersion upsert (each
    is a visibility write per execution) and no local-activity marker: five events."""
    wid = await _workflow(http, tenant_a, definition)
    r = await http.post(f"/api/v1/workflows/{wid}/execute", headers=tenant_a.h("operator"), json={"input": {"x": 21}})
    assert r.status_code == 202, r.text
    eid = r.json()["id"]
    row = await _row_when_closed(app, eid)
    assert row.status == "completed" and row.output == {"value": 42} and row.error is None
    assert row.completed_at is not None and row.progress["nodes"]["double"]["status"] == "completed"
    handle = temporal_env.client.get_workflow_handle(eid)
    await handle.result()  # the row closes in the run's last task, a moment before Temporal records its close
    kinds = [e.WhichOneof("attributes") async for e in handle.fetch_history_events()]
    assert "upsert_workflow_search_attributes_event_attributes" not in kinds
    assert "marker_recorded_event_attributes" not in kinds
    assert kinds == ["workflow_execution_started_event_attributes", "workflow_task_scheduled_event_attributes",
                     "workflow_task_started_event_attributes", "workflow_task_completed_event_attributes",
                     "workflow_execution_completed_event_attributes"]
    async with app.state.sessionmaker() as session:
        runs = (await session.exec(select(NodeRun).where(NodeRun.execution_id == eid))).all()
    assert sorted(r.node_id for r in runs) == ["double", "end", "start"] and all(r.status == "completed" for r in runs)

    fid = await _workflow(http, tenant_a, failing_def())
    r = await http.post(f"/api/v1/workflows/{fid}/execute", headers=tenant_a.h("operator"), json={"input": {"x": 3}})
    failed = await _row_when_closed(app, r.json()["id"])
    assert failed.status == "failed" and failed.error == "bad input 3" and failed.output is None
