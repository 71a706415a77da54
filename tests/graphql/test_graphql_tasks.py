"""Approval tasks over GraphQL, against the real servers: an approval definition started through the REST API and
decided through GraphQL; refusals as `success: false` with REST's messages; permissions; tenancy."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

import pytest

from tests.api.test_tasks import approval_definition, start, wait_execution

pytestmark = pytest.mark.asyncio

URL = "/api/beta/graphql"

TASKS = """
query Tasks($status: String, $executionId: String, $mine: Boolean) {
  tasks(status: $status, executionId: $executionId, mine: $mine) {
    id executionId workflowId nodeId title description status assignees requiredApprovals form dueAt escalated
    decision votes createdAt completedAt
  }
}"""
TASK = "query Task($id: String!) { task(id: $id) { id status decision votes title } }"
COMPLETE = """
mutation Complete($id: String!, $decision: String!, $comment: String, $data: String, $key: String) {
  completeTask(id: $id, decision: $decision, comment: $comment, data: $data, idempotencyKey: $key) {
    task { id status } result success errors
  }
}"""


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def gql(http, tenant, query, variables=None, role="admin", status=200):
    r = await http.post(URL, json={"query": query, "variables": variables}, headers=tenant.h(role))
    assert r.status_code == status, r.text
    return r.json()


async def complete(http, tenant, role, task_id, decision, **kw) -> dict:
    body = await gql(http, tenant, COMPLETE, {"id": task_id, "decision": decision, **kw}, role=role)
    assert "errors" not in body, body
    return body["data"]["completeTask"]


async def rest_detail(http, tenant, role, task_id, body) -> tuple[int, str]:
    r = await http.post(f"/api/v1/tasks/{task_id}/complete", json=body, headers=tenant.h(role))
    detail = r.json()["detail"]
    return r.status_code, detail if isinstance(detail, str) else json.dumps(detail)


async def wait_task_gql(http, tenant, execution_id, role) -> dict:
    for _ in range(200):
        body = await gql(http, tenant, TASKS, {"executionId": execution_id}, role=role)
        if body["data"]["tasks"]:
            return body["data"]["tasks"][0]
        await asyncio.sleep(0.1)
    raise AssertionError("task never appeared in the GraphQL inbox")


async def test_decide_through_graphql(http, worker, tenant_a):
    op, dev = tenant_a.users["operator"].email, tenant_a.users["developer"].email
    form = {"type": "object", "required": ["po"], "properties": {"po": {"type": "string"}}}
    ex = await start(http, tenant_a, approval_definition([op, dev], form=form, required_approvals=2),
                     {"order": "G-1", "total": 9})
    task = await wait_task_gql(http, tenant_a, ex, "operator")
    tid = task["id"]
    assert task["executionId"] == ex and task["nodeId"] == "ask" and task["status"] == "pending"
    assert task["title"] == "Approve order G-1" and task["description"] == "Total 9"
    assert task["assignees"] == {"users": [op, dev], "roles": []} and task["requiredApprovals"] == 2
    assert task["form"] == form and task["votes"] == [] and task["decision"] is None and task["escalated"] is False

    # the same item as REST's inbox, field for field
    r = await http.get("/api/v1/tasks", params={"execution_id": ex}, headers=tenant_a.h("operator"))
    rest = r.json()["items"][0]
    assert (rest["id"], rest["workflow_id"]) == (tid, task["workflowId"])
    assert _ts(rest["created_at"]) == _ts(task["createdAt"])

    # the viewer is no assignee: not in its inbox; it may read the task but not decide
    body = await gql(http, tenant_a, TASKS, {"executionId": ex}, role="viewer")
    assert body["data"]["tasks"] == []
    body = await gql(http, tenant_a, TASK, {"id": tid}, role="viewer")
    assert body["data"]["task"]["status"] == "pending"
    body = await gql(http, tenant_a, COMPLETE, {"id": tid, "decision": "approved"}, role="viewer", status=403)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    # decided through GraphQL (two of two approvals); the same idempotency key answers the first result
    # without a second vote
    args = {"comment": "fine", "data": json.dumps({"po": "PO-7"}), "key": "k-1"}
    first = await complete(http, tenant_a, "operator", tid, "approved", **args)
    assert first["success"] is True and first["errors"] == []
    assert first["task"] == {"id": tid, "status": "pending"}
    assert first["result"]["status"] == "pending" and first["result"]["approvals"] == 1
    assert first["result"]["vote"]["user_email"] == op and first["result"]["vote"]["via"] == "graphql"
    again = await complete(http, tenant_a, "operator", tid, "approved", **args)
    assert again["success"] is True and again["result"] == first["result"], again
    body = await gql(http, tenant_a, TASK, {"id": tid})
    assert body["data"]["task"]["status"] == "pending" and len(body["data"]["task"]["votes"]) == 1
    res = await complete(http, tenant_a, "operator", tid, "approved", data=json.dumps({"po": "PO-7"}))
    code, detail = await rest_detail(http, tenant_a, "operator", tid, {"decision": "approved", "data": {"po": "PO-7"}})
    assert code == 409 and "already voted" in detail and res["errors"] == [detail]

    last = await complete(http, tenant_a, "developer", tid, "approved", data=json.dumps({"po": "PO-8"}))
    assert last["success"] is True and last["task"] == {"id": tid, "status": "approved"}
    assert last["result"]["approvals"] == 2

    execution = await wait_execution(http, tenant_a, ex)
    assert execution["status"] == "completed"
    assert execution["output"] == {"ok": True, "by": dev, "data": {"po": "PO-8"}}
    body = await gql(http, tenant_a, TASK, {"id": tid}, role="viewer")
    assert body["data"]["task"]["status"] == "approved" and len(body["data"]["task"]["votes"]) == 2
    body = await gql(http, tenant_a, TASKS, {"executionId": ex, "status": None, "mine": False})
    assert [t["id"] for t in body["data"]["tasks"]] == [tid]
    assert body["data"]["tasks"][0]["completedAt"] is not None

    # the task is closed (and its execution finished): refused with REST's message (409 there)
    res = await complete(http, tenant_a, "developer", tid, "rejected")
    code, detail = await rest_detail(http, tenant_a, "developer", tid, {"decision": "rejected"})
    assert code == 409 and res == {"task": None, "result": None, "success": False, "errors": [detail]}


async def test_refusals_carry_the_rest_messages(http, worker, tenant_a):
    admin = tenant_a.users["admin"].email
    form = {"type": "object", "required": ["po"], "properties": {"po": {"type": "string"}}}
    ex = await start(http, tenant_a, approval_definition([admin], roles=["developer"], form=form),
                     {"order": "G-2", "total": 1})
    task = await wait_task_gql(http, tenant_a, ex, "admin")
    tid = task["id"]

    cases = [  # (role, GraphQL arguments, REST body, REST status, a word of the message)
        ("admin", {"decision": "approved", "data": '{"po": "x"}'}, {"decision": "approved", "data": {"po": "x"}},
         403, "started the execution"),
        ("operator", {"decision": "approved"}, {"decision": "approved"}, 403, "not an assignee"),
        ("developer", {"decision": "approved", "data": '{"po": 7}'}, {"decision": "approved", "data": {"po": 7}},
         422, "form"),
    ]
    for role, args, rest_body, rest_code, word in cases:
        res = await complete(http, tenant_a, role, tid, **args)
        code, detail = await rest_detail(http, tenant_a, role, tid, rest_body)
        assert code == rest_code and word in detail, (role, code, detail)
        assert res == {"task": None, "result": None, "success": False, "errors": [detail]}, role

    # malformed input is refused before anything reaches the execution
    res = await complete(http, tenant_a, "developer", tid, "maybe")
    assert res["success"] is False and res["errors"][0].startswith("decision:")
    res = await complete(http, tenant_a, "developer", tid, "approved", data="{not json")
    assert res["success"] is False and "data is not valid JSON" in res["errors"][0]
    res = await complete(http, tenant_a, "developer", tid, "approved", data="[1]")
    assert res["success"] is False and res["errors"][0].startswith("data:")
    body = await gql(http, tenant_a, TASK, {"id": tid})
    assert body["data"]["task"]["votes"] == [] and body["data"]["task"]["status"] == "pending"

    # a rejection needs no form data; deciding again afterwards is refused as in REST
    res = await complete(http, tenant_a, "developer", tid, "rejected", comment="no")
    assert res["success"] is True and res["task"]["status"] == "rejected"
    assert (await wait_execution(http, tenant_a, ex))["output"]["ok"] is False
    res = await complete(http, tenant_a, "developer", tid, "rejected")
    code, detail = await rest_detail(http, tenant_a, "developer", tid, {"decision": "rejected"})
    assert code == 409 and res["success"] is False and res["errors"] == [detail]

    body = await gql(http, tenant_a, 'query { tasks(status: "done") { id } }', status=400)
    assert "unknown status" in body["errors"][0]["message"]


async def test_other_tenant_sees_nothing(http, worker, tenant_a, tenant_b):
    op = tenant_a.users["operator"].email
    ex = await start(http, tenant_a, approval_definition([op]), {"order": "G-3", "total": 2})
    tid = (await wait_task_gql(http, tenant_a, ex, "operator"))["id"]

    body = await gql(http, tenant_b, TASK, {"id": tid})
    assert body["data"]["task"] is None
    body = await gql(http, tenant_b, TASKS, {"executionId": ex, "status": None, "mine": False})
    assert body["data"]["tasks"] == []
    res = await complete(http, tenant_b, "admin", tid, "approved")
    code, detail = await rest_detail(http, tenant_b, "admin", tid, {"decision": "approved"})
    assert code == 404 and res == {"task": None, "result": None, "success": False, "errors": [detail]}

    # untouched: tenant A's operator still decides it
    res = await complete(http, tenant_a, "operator", tid, "approved")
    assert res["success"] is True and res["task"] == {"id": tid, "status": "approved"}
    assert (await wait_execution(http, tenant_a, ex))["status"] == "completed"
