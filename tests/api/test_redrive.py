"""Redrive from the failed node, as issue 12 says: a 5-node flow fails at node 4 because an HTTP peer is down,
the peer comes back, the redrive runs nodes 4 and 5 only; the sink's counters show nodes 1-3 ran once."""

from __future__ import annotations

import copy
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import asyncpg

from tests.api._util import wait_status
from tests.localpeers import HttpSink, free_port


class Peer:
    """An HTTP peer on a fixed port that can be down (nothing listening: connection refused) and come back."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.calls = 0
        self.server: ThreadingHTTPServer | None = None

    def up(self) -> None:
        peer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                peer.calls += 1
                data = json.dumps({"approved": True, "calls": peer.calls}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), H)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def five_nodes(sink_url: str, peer_url: str) -> dict:
    def call(nid: str, url: str, body: str) -> dict:
        return {"id": nid, "type": "http.request", "config": {"method": "POST", "url": url, "json": body},
                "retry": {"max_attempts": 2, "initial_interval": "PT0.1S"}}

    return {
        "schema_version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            call("n1", sink_url + "/n1", "{{ input.order }}"),
            call("n2", sink_url + "/n2", "{{ nodes.n1.body.seen }}"),
            call("n3", sink_url + "/n3", "{{ nodes.n2.body.seen }}"),
            call("n4", peer_url + "/check", "{{ nodes.n3.body.seen }}"),
            call("n5", sink_url + "/n5", "{{ input.order & '/' & nodes.n1.body.seen & '/' & nodes.n4.body.calls }}"),
            {"id": "end", "type": "end", "config": {"output": "{{ nodes.n5.body.seen }}"}},
        ],
        "edges": [{"source": a, "target": b} for a, b in
                  [("start", "n1"), ("n1", "n2"), ("n2", "n3"), ("n3", "n4"), ("n4", "n5"), ("n5", "end")]],
    }


def echo(req):
    return 200, {"seen": req.body}


async def _failed_run(http, tenant, sink, peer, order="o-1") -> tuple[str, dict]:
    r = await http.post("/api/v1/workflows", headers=tenant.h("developer"),
                        json={"name": f"redrive-{uuid.uuid4().hex[:6]}", "status": "active",
                              "definition": five_nodes(sink.url, peer.url)})
    assert r.status_code == 201, r.text
    wid = r.json()["id"]
    r = await http.post(f"/api/v1/workflows/{wid}/execute", headers=tenant.h("operator"), json={"input": {"order": order}})
    failed = await wait_status(http, tenant, r.json()["id"], timeout=30)
    assert failed["status"] == "failed" and "n4" in failed["error"], failed
    return wid, failed


def _counts(sink: HttpSink) -> dict[str, int]:
    return {p: len(sink.calls("POST", p)) for p in ("/n1", "/n2", "/n3", "/n5")}


async def test_redrive_runs_only_the_failed_node_and_after(app, http, tenant_a, worker, api_settings):
    routes = {("POST", p): echo for p in ("/n1", "/n2", "/n3", "/n5")}
    peer = Peer()  # down
    with HttpSink(routes=routes) as sink:
        wid, failed = await _failed_run(http, tenant_a, sink, peer)
        assert _counts(sink) == {"/n1": 1, "/n2": 1, "/n3": 1, "/n5": 0}
        assert failed["nodes"]["n4"]["status"] == "failed" and failed["nodes"]["n5"]["status"] == "skipped"

        # still down: a redrive fails at n4 again, without repeating n1-n3
        r = await http.post(f"/api/v1/executions/{failed['id']}/redrive", headers=tenant_a.h("operator"), json={})
        assert r.status_code == 202, r.text
        again = await wait_status(http, tenant_a, r.json()["id"], timeout=30)
        assert again["status"] == "failed" and _counts(sink) == {"/n1": 1, "/n2": 1, "/n3": 1, "/n5": 0}

        peer.up()
        try:
            r = await http.post(f"/api/v1/executions/{failed['id']}/redrive", headers=tenant_a.h("operator"))
            assert r.status_code == 202, r.text
            started = r.json()
            assert started["redrive_of"] == failed["id"] and started["version"] == failed["version"]
            assert started["reused_nodes"] == ["n1", "n2", "n3"] and started["rerun_from"] == ["n4"]
            done = await wait_status(http, tenant_a, started["id"], timeout=30)
        finally:
            peer.down()
        assert done["status"] == "completed", done
        # n1-3 ran once in all (the first run), n4 once on the peer now that it is up, n5 once
        assert _counts(sink) == {"/n1": 1, "/n2": 1, "/n3": 1, "/n5": 1}
        assert peer.calls == 1
        # n5 read n1's output from the first run, kept through the redrive
        assert done["output"] == "o-1/o-1/1"
        assert done["trigger"] == "redrive" and done["redrive_of"] == failed["id"] and done["input"] == {"order": "o-1"}
        nodes = done["nodes"]
        assert all(nodes[n].get("reused") and nodes[n]["attempts"] == 0 for n in ("n1", "n2", "n3"))
        assert not nodes["n4"].get("reused") and nodes["n4"]["attempts"] == 1 and nodes["n5"]["status"] == "completed"

    # linked in Temporal (memo) and in analytics (reused nodes recorded as such)
    desc = await app.state.temporal_client.get_workflow_handle(started["id"]).describe()
    assert (await desc.memo_value("redrive_of")) == failed["id"]
    conn = await asyncpg.connect(api_settings.database_url)
    try:
        rows = await conn.fetch("SELECT node_id, reused, status FROM node_runs WHERE execution_id = $1", started["id"])
    finally:
        await conn.close()
    assert {r["node_id"]: (r["reused"], r["status"]) for r in rows} == {
        "start": (False, "completed"), "n1": (True, "completed"), "n2": (True, "completed"),
        "n3": (True, "completed"), "n4": (False, "completed"), "n5": (False, "completed"), "end": (False, "completed")}
    lst = await http.get("/api/v1/executions", params={"workflow_id": wid}, headers=tenant_a.h("viewer"))
    assert sorted(e["redrive_of"] or "" for e in lst.json()["items"]) == ["", failed["id"], failed["id"]]


async def test_redrive_with_edited_input_and_a_compatible_newer_version(http, tenant_a, worker):
    routes = {("POST", p): echo for p in ("/n1", "/n2", "/n3", "/n5")}
    peer = Peer()
    other = HttpSink(routes={("POST", "/check"): (200, {"calls": 7})})
    with HttpSink(routes=routes) as sink, other:
        wid, failed = await _failed_run(http, tenant_a, sink, peer, order="o-2")
        v1 = (await http.get(f"/api/v1/workflows/{wid}", headers=tenant_a.h())).json()["definition"]

        # v2 changes n2's config (a node that completed): refused with the reason
        v2 = copy.deepcopy(v1)
        v2["nodes"][2]["config"]["url"] = sink.url + "/n2b"
        r = await http.put(f"/api/v1/workflows/{wid}", headers=tenant_a.h("developer"), json={"definition": v2})
        assert r.json()["current_version"] == 2
        r = await http.post(f"/api/v1/executions/{failed['id']}/redrive", headers=tenant_a.h("operator"),
                            json={"version": 2})
        assert r.status_code == 409 and r.json()["detail"] == (
            "version 2 cannot take over from version 1: node 'n2' changed its config and its output would be reused")

        # v3 adds an edge out of n3 (the completed part of the graph): refused
        v3 = copy.deepcopy(v1)
        v3["edges"].append({"source": "n3", "target": "end"})
        await http.put(f"/api/v1/workflows/{wid}", headers=tenant_a.h("developer"), json={"definition": v3})
        r = await http.post(f"/api/v1/executions/{failed['id']}/redrive", headers=tenant_a.h("operator"),
                            json={"version": 3})
        assert r.status_code == 409 and "edge n3:out -> end is new" in r.json()["detail"]

        # v3b puts a new node between start and n1: the path into the completed part changed, refused
        v3b = copy.deepcopy(v1)
        v3b["nodes"].append({"id": "pre", "type": "transform", "config": {"expression": "input"}})
        v3b["edges"] = [e for e in v3b["edges"] if e["source"] != "start"] + [
            {"source": "start", "target": "pre"}, {"source": "pre", "target": "n1"}]
        await http.put(f"/api/v1/workflows/{wid}", headers=tenant_a.h("developer"), json={"definition": v3b})
        r = await http.post(f"/api/v1/executions/{failed['id']}/redrive", headers=tenant_a.h("operator"),
                            json={"version": 4})
        assert r.status_code == 409 and "edge start:out -> n1 (from the completed part of the graph) is not in" in r.json()["detail"], r.text

        # v5 only fixes the failed node (points n4 at a peer that is up): accepted, with an edited input
        v4 = copy.deepcopy(v1)
        v4["nodes"][4]["config"]["url"] = other.url + "/check"
        await http.put(f"/api/v1/workflows/{wid}", headers=tenant_a.h("developer"), json={"definition": v4})
        r = await http.post(f"/api/v1/executions/{failed['id']}/redrive", headers=tenant_a.h("operator"),
                            json={"version": 5, "input": {"order": "o-2-edited"}})
        assert r.status_code == 202, r.text
        assert r.json()["version"] == 5
        done = await wait_status(http, tenant_a, r.json()["id"], timeout=30)
        assert done["status"] == "completed" and done["version"] == 5
        assert done["output"] == "o-2-edited/o-2/7"  # edited input seen by n5; n1's output kept from the first run
        assert _counts(sink) == {"/n1": 1, "/n2": 1, "/n3": 1, "/n5": 1} and sink.calls("POST", "/n2b") == []


async def test_redrive_refusals(http, tenant_a, tenant_b, definition, worker):
    r = await http.post("/api/v1/workflows", headers=tenant_a.h("developer"),
                        json={"name": "ok", "status": "active", "definition": definition})
    wid = r.json()["id"]
    r = await http.post(f"/api/v1/workflows/{wid}/execute", headers=tenant_a.h("operator"), json={"input": {"x": 1}})
    done = await wait_status(http, tenant_a, r.json()["id"])
    assert done["status"] == "completed"
    r = await http.post(f"/api/v1/executions/{done['id']}/redrive", headers=tenant_a.h("operator"))
    assert r.status_code == 409 and "completed" in r.json()["detail"]
    assert (await http.post(f"/api/v1/executions/{done['id']}/redrive", headers=tenant_a.h("viewer"))).status_code == 403
    assert (await http.post(f"/api/v1/executions/{done['id']}/redrive", headers=tenant_b.h("admin"))).status_code == 404
    assert (await http.post("/api/v1/executions/exec-nope/redrive", headers=tenant_a.h("admin"))).status_code == 404
    r = await http.post(f"/api/v1/executions/{done['id']}/redrive", headers=tenant_a.h("operator"), json={"version": 0})
    assert r.status_code == 422
    r = await http.post(f"/api/v1/executions/{done['id']}/redrive", headers=tenant_a.h("operator"), json={"nodes": 1})
    assert r.status_code == 422
