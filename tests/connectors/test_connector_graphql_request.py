"""`graphql.request` against a local GraphQL-speaking HTTP peer."""

from __future__ import annotations

import pytest

from connectors.base import ComponentError
from connectors.graphql_request import GraphqlRequest
from connectors.registry import default_registry
from tests.connectors.conftest import FAST_RETRY
from tests.helpers import defn, node
from tests.localpeers import HttpPeer, Req
from workflows.validation import validate_definition

ORDERS = {"1": {"id": "1", "total": 30}}


def graphql(req: Req):
    if req.headers.get("authorization") != "Bearer gql-token-1":
        return 401, {}, {"errors": [{"message": "unauthenticated"}]}
    body = req.json()
    q, v = body["query"], body.get("variables") or {}
    if q.startswith("mutation"):
        ORDERS[v["id"]] = {"id": v["id"], "total": v["total"]}
        return 200, {}, {"data": {"saveOrder": ORDERS[v["id"]]}}
    if "broken" in q:
        return 200, {}, {"data": {"order": None}, "errors": [{"message": "field 'broken' not found"}]}
    return 200, {}, {"data": {"order": ORDERS.get(v.get("id"))}}


@pytest.fixture
def peer():
    with HttpPeer(graphql) as p:
        yield p


async def test_mutation_then_query_reads_it_back(vault, peer):
    cred = await vault.add("gql", "http_bearer", {"token": "gql-token-1"})
    c = GraphqlRequest()
    out = await c.run({"url": peer.url + "/graphql", "credential": cred,
                       "query": "mutation($id: ID!, $total: Int!) { saveOrder(id: $id, total: $total) { id total } }",
                       "variables": {"id": "2", "total": 55}, "operation_name": "Save"}, vault.ctx())
    assert out == {"data": {"saveOrder": {"id": "2", "total": 55}}, "errors": [], "status": 200}
    assert peer.requests[0].json()["operationName"] == "Save"
    got = await c.run({"url": peer.url + "/graphql", "credential": cred,
                       "query": "query($id: ID!) { order(id: $id) { id total } }", "variables": {"id": "2"}},
                      vault.ctx())
    assert got["data"] == {"order": {"id": "2", "total": 55}}


async def test_graphql_errors_fail_unless_allowed(vault, peer):
    cred = await vault.add("gql2", "http_bearer", {"token": "gql-token-1"})
    c = GraphqlRequest()
    with pytest.raises(ComponentError) as exc:
        await c.run({"url": peer.url + "/graphql", "credential": cred, "query": "{ broken }"}, vault.ctx())
    assert exc.value.type == "GraphQLError" and not exc.value.retryable and "broken" in exc.value.message
    out = await c.run({"url": peer.url + "/graphql", "credential": cred, "query": "{ broken }",
                       "allow_errors": True}, vault.ctx())
    assert out["errors"][0]["message"] == "field 'broken' not found"
    with pytest.raises(ComponentError) as exc:
        await c.run({"url": peer.url + "/graphql", "query": "{ x }"}, vault.ctx())  # no credential: 401
    assert exc.value.type == "HttpStatusError" and "unauthenticated" in exc.value.message


def test_bad_config_names_the_field():
    d = defn([node("start", "start"), node("g", "graphql.request", url="http://x/", query="{a}", variables=[1]),
              node("end", "end")], ["start->g", "g->end"])
    problems = validate_definition(d, default_registry())
    assert [(p.node_id, p.field) for p in problems] == [("g", "config.variables")]


async def test_peer_down_retryable_then_error_port(vault, run_node):
    cfg = {"url": "http://127.0.0.1:1/graphql", "query": "{ a }"}
    with pytest.raises(ComponentError) as exc:
        await GraphqlRequest().run(cfg, vault.ctx())
    assert exc.value.retryable
    flow = await run_node("graphql.request", cfg, retry=FAST_RETRY)
    assert flow.result["error"]["type"] == "HttpConnectionError" and flow.result["error"]["attempts"] == 2
