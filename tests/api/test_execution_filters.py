"""Executions listing at scale: the `trigger` and `q` filters, and a listing page's reconciliation through
one visibility query (rows Temporal lists as running are not described one by one)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from api.services import executions as exec_svc
from tests.api.test_executions import _workflow, wait_def
from wfo.executions import start_execution
from wfo.models import Execution, utcnow


async def test_trigger_and_search_filters(app, http):
    from tests.api.conftest import make_tenant

    tenant = await make_tenant(app.state.settings)
    base = utcnow()
    tag = uuid.uuid4().hex[:6]
    rows = [  # (id, trigger, started_by)
        (f"exec-{tag}-a1", "webhook", None), (f"exec-{tag}-a2", "manual", "ann@x.test"),
        (f"exec-{tag}-b1", "webhook", "bob@x.test"), (f"exec-{tag}_c", "schedule", "a%b@x.test"),
    ]
    async with app.state.sessionmaker() as s:
        for i, (eid, trigger, by) in enumerate(rows):
            s.add(Execution(id=eid, tenant_id=tenant.id, status="completed", trigger=trigger, started_by=by,
                            started_at=base - timedelta(minutes=i), completed_at=base))
        await s.commit()
    h = tenant.h("viewer")

    async def ids(**params) -> list[str]:
        r = await http.get("/api/v1/executions", params=params, headers=h)
        assert r.status_code == 200, r.text
        return [e["id"] for e in r.json()["items"]]

    assert await ids(trigger="webhook") == [f"exec-{tag}-a1", f"exec-{tag}-b1"]
    assert await ids(trigger="webhook", q=f"exec-{tag}-b") == [f"exec-{tag}-b1"]
    assert await ids(q=f"exec-{tag}-a") == [f"exec-{tag}-a1", f"exec-{tag}-a2"]  # a prefix of the id
    assert await ids(q="ann@") == [f"exec-{tag}-a2"]  # ... or of the starter's email
    assert await ids(q=f"exec-{tag}_") == [f"exec-{tag}_c"]  # LIKE wildcards are literal
    assert await ids(q="a%") == [f"exec-{tag}_c"]
    assert await ids(q=f"{tag}") == []  # a prefix, not a substring
    assert await ids(trigger="nope") == []
    # offset pages (a deferred join: ids from the index, then the rows) are slices of the whole listing
    everything = await ids(q=f"exec-{tag}")
    assert len(everything) == 4
    assert [*(await ids(q=f"exec-{tag}", limit=2, offset=1)), *(await ids(q=f"exec-{tag}", limit=2, offset=3))] \
        == everything[1:]
    bad = await http.get("/api/v1/executions", params={"q": ""}, headers=h)
    assert bad.status_code == 422 and "q" in bad.text


async def test_listing_page_reconciles_through_visibility(app, http, temporal_env, tenant_a, worker, api_settings,
                                                          monkeypatch):
    """Running rows, old or just started: one visibility query for the page; only rows it does not list as
    running (closed, unknown to Temporal) are described."""
    wid = await _workflow(http, tenant_a, wait_def("PT60S"))
    done_def = {"schema_version": 1, "nodes": [{"id": "start", "type": "start"}, {"id": "end", "type": "end"}],
                "edges": [{"source": "start", "target": "end"}]}
    waiting, done, ghost, young = (f"exec-{uuid.uuid4()}" for _ in range(4))
    for eid, d in ((waiting, wait_def("PT60S")), (done, done_def), (young, wait_def("PT60S"))):
        await start_execution(temporal_env.client, definition=d, input=None, task_queue=api_settings.temporal_task_queue,
                              execution_id=eid, workflow_id=wid, version=1, tenant_id=str(tenant_a.id))
    await temporal_env.client.get_workflow_handle(done).result()
    old = utcnow() - timedelta(minutes=10)
    async with app.state.sessionmaker() as s:
        for eid in (waiting, done, ghost):
            s.add(Execution(id=eid, tenant_id=tenant_a.id, workflow_id=uuid.UUID(wid), version=1, started_at=old))
        s.add(Execution(id=young, tenant_id=tenant_a.id, workflow_id=uuid.UUID(wid), version=1))
        await s.commit()
    # visibility lags a little behind the close of `done`
    deadline = asyncio.get_running_loop().time() + 20
    while await exec_svc.running_in_visibility(temporal_env.client, [waiting, done]) != {waiting}:
        assert asyncio.get_running_loop().time() < deadline, "visibility never listed only the waiting one"
        await asyncio.sleep(0.2)

    described: list[str] = []
    real = exec_svc.reconcile_row

    async def spy(session, client, row, **kw):
        described.append(row.id)
        return await real(session, client, row, **kw)

    monkeypatch.setattr(exec_svc, "reconcile_row", spy)
    r = await http.get("/api/v1/executions", params={"workflow_id": wid}, headers=tenant_a.h("viewer"))
    assert r.status_code == 200, r.text
    status = {e["id"]: e["status"] for e in r.json()["items"]}
    assert sorted(described) == sorted([done, ghost])  # not the ones visibility lists as running, old or young
    assert status == {waiting: "running", young: "running", done: "completed", ghost: "failed"}

    # the periodic pass skips them too (here from the memo of what visibility listed as running)
    described.clear()
    await exec_svc.reconcile_pending(app.state.sessionmaker, temporal_env.client)
    assert young not in described and waiting not in described

    # visibility unavailable: every running row is described, as before
    async def down(client, ids):
        return None

    monkeypatch.setattr(exec_svc, "running_in_visibility", down)
    exec_svc._seen_running.clear()
    described.clear()
    r = await http.get("/api/v1/executions", params={"workflow_id": wid}, headers=tenant_a.h("viewer"))
    assert r.status_code == 200 and sorted(described) == sorted([waiting, young])
    for eid in (waiting, young):
        await temporal_env.client.get_workflow_handle(eid).terminate("test done")
