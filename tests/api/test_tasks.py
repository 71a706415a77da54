"""The approval inbox over HTTP: list/inspect/decide with roles, tenancy, refusals, and signed links."""

from __future__ import annotations

import asyncio

from wfo.approval_links import make_token


def approval_definition(users: list[str], roles: list[str] | None = None, **extra) -> dict:
    cfg = {"title": "Approve order {{ input.order }}", "description": "Total {{ input.total }}",
           "assignees": {"users": users, "roles": roles or []}, **extra}
    return {
        "schema_version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "ask", "type": "approval", "config": cfg},
            {"id": "yes", "type": "end", "config": {"output": {"ok": True, "by": "{{ nodes.ask.decided_by }}",
                                                             "data": "{{ nodes.ask.data }}"}}},
            {"id": "no", "type": "end", "config": {"output": {"ok": False, "by": "{{ nodes.ask.decided_by }}"}}},
        ],
        "edges": [{"source": "start", "target": "ask"},
                  {"source": "ask", "source_port": "approved", "target": "yes"},
                  {"source": "ask", "source_port": "rejected", "target": "no"}],
    }


async def start(http, tenant, definition, inp, role="admin") -> str:
    r = await http.post("/api/v1/workflows", json={"name": "approval", "definition": definition,
                                                    "status": "active"}, headers=tenant.h("developer"))
    assert r.status_code == 201, r.text
    wf = r.json()["id"]
    r = await http.post(f"/api/v1/workflows/{wf}/execute", json={"input": inp}, headers=tenant.h(role))
    assert r.status_code == 202, r.text
    return r.json()["id"]


async def wait_task(http, tenant, execution_id, role) -> dict:
    for _ in range(200):
        r = await http.get("/api/v1/tasks", params={"execution_id": execution_id}, headers=tenant.h(role))
        assert r.status_code == 200, r.text
        if r.json()["items"]:
            return r.json()["items"][0]
        await asyncio.sleep(0.1)
    raise AssertionError("task never appeared in the inbox")


async def wait_execution(http, tenant, execution_id) -> dict:
    for _ in range(200):
        r = await http.get(f"/api/v1/executions/{execution_id}", headers=tenant.h("admin"))
        if r.json()["status"] != "running":
            return r.json()
        await asyncio.sleep(0.1)
    raise AssertionError("execution did not finish")


async def test_inbox_decide_with_roles_and_tenancy(http, worker, tenant_a, tenant_b):
    op, dev = tenant_a.users["operator"].email, tenant_a.users["developer"].email
    form = {"type": "object", "required": ["po"], "properties": {"po": {"type": "string"}}}
    ex = await start(http, tenant_a, approval_definition([op, dev], form=form), {"order": "A-1", "total": 50})
    task = await wait_task(http, tenant_a, ex, "operator")
    assert task["title"] == "Approve order A-1" and task["status"] == "pending"
    tid = task["id"]

    # the viewer is not an assignee and the inbox only lists what the caller may act on
    r = await http.get("/api/v1/tasks", headers=tenant_a.h("viewer"))
    assert all(t["id"] != tid for t in r.json()["items"])
    # viewers may not decide at all; another tenant cannot even see the task
    r = await http.post(f"/api/v1/tasks/{tid}/complete", json={"decision": "approved"}, headers=tenant_a.h("viewer"))
    assert r.status_code == 403
    for method, path in (("GET", f"/api/v1/tasks/{tid}"), ("POST", f"/api/v1/tasks/{tid}/complete")):
        r = await http.request(method, path, json={"decision": "approved"}, headers=tenant_b.h("admin"))
        assert r.status_code == 404, (method, r.status_code)
    # bad form data is refused before anything is recorded
    r = await http.post(f"/api/v1/tasks/{tid}/complete", json={"decision": "approved", "data": {"po": 7}},
                        headers=tenant_a.h("developer"))
    assert r.status_code == 422 and "form" in r.json()["detail"]
    r = await http.post(f"/api/v1/tasks/{tid}/complete", json={"decision": "maybe"}, headers=tenant_a.h("operator"))
    assert r.status_code == 422
    # the decision, repeated with the same idempotency key: one vote, same answer
    body = {"decision": "approved", "data": {"po": "PO-9"}, "comment": "ok"}
    first = await http.post(f"/api/v1/tasks/{tid}/complete", json=body, headers={**tenant_a.h("operator"),
                                                                                "Idempotency-Key": "abc"})
    assert first.status_code == 200, first.text
    again = await http.post(f"/api/v1/tasks/{tid}/complete", json=body, headers={**tenant_a.h("operator"),
                                                                                "Idempotency-Key": "abc"})
    assert again.status_code == 200 and again.json() == first.json()
    assert first.json()["status"] == "approved"

    execution = await wait_execution(http, tenant_a, ex)
    assert execution["status"] == "completed"
    assert execution["output"] == {"ok": True, "by": op, "data": {"po": "PO-9"}}
    r = await http.get(f"/api/v1/tasks/{tid}", headers=tenant_a.h("viewer"))
    assert r.json()["status"] == "approved" and len(r.json()["votes"]) == 1
    r = await http.post(f"/api/v1/tasks/{tid}/complete", json={"decision": "rejected"},
                        headers=tenant_a.h("developer"))
    assert r.status_code == 409


async def test_self_approval_and_non_assignee_refused(http, worker, tenant_a):
    admin = tenant_a.users["admin"].email
    ex = await start(http, tenant_a, approval_definition([admin], roles=["developer"]), {"order": "B", "total": 1})
    task = await wait_task(http, tenant_a, ex, "admin")
    r = await http.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "approved"},
                        headers=tenant_a.h("admin"))
    assert r.status_code == 403 and "started the execution" in r.json()["detail"]
    r = await http.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "approved"},
                        headers=tenant_a.h("operator"))
    assert r.status_code == 403 and "not an assignee" in r.json()["detail"]
    r = await http.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "rejected", "comment": "no"},
                        headers=tenant_a.h("developer"))  # assignee through the developer role
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert (await wait_execution(http, tenant_a, ex))["output"]["ok"] is False


async def test_signed_links_single_use_bound_and_expiring(http, worker, tenant_a, api_settings):
    op = tenant_a.users["operator"].email
    ex = await start(http, tenant_a, approval_definition([op]), {"order": "C", "total": 3})
    task = await wait_task(http, tenant_a, ex, "operator")
    tid = task["id"]
    r = await http.post(f"/api/v1/tasks/{tid}/links", json={"assignee": "stranger@x.io"}, headers=tenant_a.h("admin"))
    assert r.status_code == 422
    r = await http.post(f"/api/v1/tasks/{tid}/links", json={"assignee": op, "ttl_hours": 1},
                        headers=tenant_a.h("admin"))
    assert r.status_code == 200
    approve = r.json()["approve_url"]
    token = approve.split("token=", 1)[1]

    page = await http.get(approve)  # no login; the page only asks to confirm
    assert page.status_code == 200 and "Approve order C" in page.text and "<form" in page.text
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert (await http.post(f"/api/v1/tasks/{tid}/act", data={"token": forged})).status_code == 401
    expired = make_token(api_settings, tid, op, "approved", ttl_seconds=-10)
    assert (await http.post(f"/api/v1/tasks/{tid}/act", data={"token": expired})).status_code == 410
    other = make_token(api_settings, "another-task", op, "approved", ttl_seconds=60)
    assert (await http.post(f"/api/v1/tasks/{tid}/act", data={"token": other})).status_code == 401

    r = await http.post(f"/api/v1/tasks/{tid}/act", data={"token": token, "comment": "via email"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved" and r.json()["vote"]["via"] == "link"
    assert (await http.post(f"/api/v1/tasks/{tid}/act", data={"token": token})).status_code == 410
    out = (await wait_execution(http, tenant_a, ex))["output"]
    assert out["ok"] is True and out["by"] == op


async def test_cancelling_the_execution_closes_its_pending_task(http, worker, tenant_a):
    op = tenant_a.users["operator"].email
    ex = await start(http, tenant_a, approval_definition([op]), {"order": "X", "total": 0})
    task = await wait_task(http, tenant_a, ex, "operator")
    r = await http.post(f"/api/v1/executions/{ex}/cancel", headers=tenant_a.h("admin"))
    assert r.status_code == 202, r.text
    assert (await wait_execution(http, tenant_a, ex))["status"] == "cancelled"
    for _ in range(100):
        row = (await http.get(f"/api/v1/tasks/{task['id']}", headers=tenant_a.h("operator"))).json()
        if row["status"] != "pending":
            break
        await asyncio.sleep(0.1)
    assert row["status"] == "cancelled" and row["completed_at"] is not None
    r = await http.get("/api/v1/tasks", headers=tenant_a.h("operator"))
    assert task["id"] not in {t["id"] for t in r.json()["items"]}


async def test_task_of_an_execution_terminated_from_outside_is_closed(http, worker, tenant_a, app, temporal_env):
    """Terminated in the Temporal UI: no cleanup ran in the workflow; the inbox converges on read and in the
    periodic pass."""
    from api.services.tasks import close_orphaned_tasks

    op = tenant_a.users["operator"].email
    ex1 = await start(http, tenant_a, approval_definition([op]), {"order": "T1", "total": 0})
    ex2 = await start(http, tenant_a, approval_definition([op]), {"order": "T2", "total": 0})
    t1 = await wait_task(http, tenant_a, ex1, "operator")
    t2 = await wait_task(http, tenant_a, ex2, "operator")
    for ex in (ex1, ex2):
        await temporal_env.client.get_workflow_handle(ex).terminate("operator pressed terminate")
    row = (await http.get(f"/api/v1/tasks/{t1['id']}", headers=tenant_a.h("operator"))).json()
    assert row["status"] == "cancelled"  # on read
    await wait_execution(http, tenant_a, ex2)  # the executions index learns the execution ended
    assert await close_orphaned_tasks(app.state.sessionmaker) >= 1  # the periodic pass
    r = await http.get("/api/v1/tasks", params={"status": "pending"}, headers=tenant_a.h("operator"))
    assert t2["id"] not in {t["id"] for t in r.json()["items"]}


async def test_idempotent_repeat_after_the_execution_finished(http, worker, tenant_a):
    op = tenant_a.users["operator"].email
    ex = await start(http, tenant_a, approval_definition([op]), {"order": "R", "total": 1})
    task = await wait_task(http, tenant_a, ex, "operator")
    headers = {**tenant_a.h("operator"), "Idempotency-Key": "once"}
    first = await http.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "approved"}, headers=headers)
    assert first.status_code == 200, first.text
    assert (await wait_execution(http, tenant_a, ex))["status"] == "completed"
    again = await http.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "approved"}, headers=headers)
    assert again.status_code == 200 and again.json() == first.json()
    other = await http.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "approved"},
                            headers={**tenant_a.h("operator"), "Idempotency-Key": "twice"})
    assert other.status_code == 409
