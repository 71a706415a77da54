"""Issue 10: the audit log over GraphQL (`auditLog`): admins only, the caller's tenant only, REST's filters,
keyset pages, the state hashes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.api.conftest import VALID_DEFINITION

pytestmark = pytest.mark.asyncio

URL = "/api/beta/graphql"
AUDIT = """
query Audit($actor: String, $action: String, $type: String, $id: String, $status: Int, $since: DateTime,
            $until: DateTime, $first: Int, $after: String) {
  auditLog(actor: $actor, action: $action, resourceType: $type, resourceId: $id, status: $status, since: $since,
           until: $until, first: $first, after: $after) {
    items { id at actor actorKind action resourceType resourceId status client bodyHash beforeHash afterHash hash }
    endCursor hasNextPage
  }
}"""


async def gql(http, tenant, variables=None, role="admin", status=200):
    r = await http.post(URL, json={"query": AUDIT, "variables": variables or {}}, headers=tenant.h(role))
    assert r.status_code == status, r.text
    return r.json()


async def test_audit_log_over_graphql(http, tenant_a, tenant_b):
    dev = tenant_a.users["developer"].email
    r = await http.post("/api/v1/workflows", headers=tenant_a.h("developer"),
                        json={"name": f"gql-audit-{uuid.uuid4().hex[:6]}", "definition": VALID_DEFINITION})
    assert r.status_code == 201, r.text
    wf = r.json()["id"]
    for i in range(3):
        assert (await http.put(f"/api/v1/workflows/{wf}", headers=tenant_a.h("developer"),
                               json={"description": f"d{i}"})).status_code == 200
    assert (await http.delete(f"/api/v1/workflows/{wf}", headers=tenant_a.h("viewer"))).status_code == 403

    # the same rows as REST, same order
    body = await gql(http, tenant_a, {"id": wf, "first": 50})
    items = body["data"]["auditLog"]["items"]
    rest = (await http.get("/api/v1/audit", headers=tenant_a.h("admin"), params={"resource_id": wf})).json()["items"]
    assert [int(x["id"]) for x in items] == [x["id"] for x in rest] and len(items) == 5
    assert [x["afterHash"] for x in items] == [x["after_hash"] for x in rest]
    newest_put = next(x for x in items if x["action"].startswith("PUT"))
    assert newest_put["actor"] == dev and newest_put["actorKind"] == "user" and newest_put["resourceType"] == "workflows"
    assert newest_put["beforeHash"] and newest_put["afterHash"] and len(newest_put["hash"]) == 64

    # filters: status, action prefix, actor, resource type, time range
    refused = (await gql(http, tenant_a, {"id": wf, "status": 403}))["data"]["auditLog"]["items"]
    assert [x["status"] for x in refused] == [403]
    puts = (await gql(http, tenant_a, {"id": wf, "action": "PUT /api/v1/workflows"}))["data"]["auditLog"]["items"]
    assert len(puts) == 3
    mine = (await gql(http, tenant_a, {"id": wf, "actor": dev, "type": "workflows"}))["data"]["auditLog"]["items"]
    assert len(mine) == 4
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert (await gql(http, tenant_a, {"id": wf, "since": future}))["data"]["auditLog"]["items"] == []
    assert len((await gql(http, tenant_a, {"id": wf, "until": future}))["data"]["auditLog"]["items"]) == 5

    # keyset pages: 2 + 2 + 1, no overlap, same order
    seen, after = [], None
    for expected_next in (True, True, False):
        page = (await gql(http, tenant_a, {"id": wf, "first": 2, "after": after}))["data"]["auditLog"]
        seen += [x["id"] for x in page["items"]]
        assert page["hasNextPage"] is expected_next
        after = page["endCursor"]
    assert seen == [x["id"] for x in items]
    bad = await gql(http, tenant_a, {"after": "not-a-cursor"}, status=400)
    assert "after" in bad["errors"][0]["message"]
    assert (await gql(http, tenant_a, {"first": 501}, status=400))["errors"]

    # tenant isolation: another tenant's admin sees none of it (also not by filtering on its id)
    other = await gql(http, tenant_b, {"id": wf})
    assert other["data"]["auditLog"]["items"] == []
    all_b = (await gql(http, tenant_b, {"first": 500}))["data"]["auditLog"]["items"]
    assert wf not in {x["resourceId"] for x in all_b}
    assert tenant_a.users["developer"].email not in {x["actor"] for x in all_b}

    # RBAC: admins only
    for role in ("developer", "operator", "viewer"):
        denied = await gql(http, tenant_a, {"id": wf}, role=role, status=403)
        assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
