"""No 500 from the events/triggers routes for anything a client can send (hypothesis, bounded)."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=30),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=12), c, max_size=4),
    max_leaves=12,
)


def from_schema(schema: dict, spec: dict, depth: int = 0) -> st.SearchStrategy:
    """Values usually of the schema's shape, often not (NaN, huge numbers, NUL characters...)."""
    while "$ref" in (schema or {}):
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    schema = schema or {}
    if depth > 4:
        return JSON
    if "anyOf" in schema or "oneOf" in schema:
        return st.one_of([from_schema(x, spec, depth + 1) for x in schema.get("anyOf", schema.get("oneOf"))])
    if "enum" in schema:
        return st.sampled_from(schema["enum"]) | JSON
    if schema.get("type") == "object" or "properties" in schema:
        props = schema.get("properties", {})
        if not props:
            return st.dictionaries(st.text(max_size=10), JSON, max_size=4)
        return st.fixed_dictionaries({}, optional={k: from_schema(v, spec, depth + 1) for k, v in props.items()})
    if schema.get("type") == "array":
        return st.lists(from_schema(schema.get("items", {}), spec, depth + 1), max_size=4)
    if schema.get("type") == "string":
        return st.text(max_size=60)
    if schema.get("type") in ("integer", "number"):
        return st.integers(-(2**40), 2**40) | st.floats()
    if schema.get("type") == "boolean":
        return st.booleans()
    return JSON

MINE = ("/api/v1/webhooks", "/api/v1/hooks/", "/triggers", "/events")


async def test_no_500_from_events_routes(api, client):
    wf = await api.workflow()
    hook = await api.trigger(wf, secret="fuzz-secret-123", rate_limit_per_minute=0)
    plain = await api.trigger(wf, rate_limit_per_minute=0)
    spec = api.app.openapi()
    ops = [
        (m.upper(), path, op)
        for path, item in spec["paths"].items()
        if any(k in path for k in MINE)
        for m, op in item.items()
        if m in ("get", "post", "delete")
    ]
    assert len(ops) >= 12
    ids = {"workflow_id": st.just(wf) | st.uuids().map(str) | st.text(max_size=8),
           "trigger_id": st.sampled_from([hook["id"], plain["id"]]) | st.text(max_size=8),
           "subscription_id": st.uuids().map(str) | st.text(max_size=8),
           "execution_id": st.text(max_size=8)}
    bodies = st.one_of(
        st.binary(max_size=80).map(lambda b: ("application/octet-stream", b)),
        JSON.map(lambda v: ("application/json", json.dumps(v).encode())),
        st.binary(max_size=40).map(lambda b: ("application/json", b)),
        st.text(max_size=40).map(lambda t: ("application/x-www-form-urlencoded", t.encode("utf-8", "surrogatepass"))),
        st.binary(max_size=40).map(lambda b: ("multipart/form-data; boundary=x", b)),
    )
    loop = asyncio.get_running_loop()
    seen: dict[int, int] = {}

    @st.composite
    def request(draw):
        method, path, op = draw(st.sampled_from(ops))
        url = path
        for name, strat in ids.items():
            if "{" + name + "}" in url:
                url = url.replace("{" + name + "}", quote(draw(strat), safe="") or "x")
        headers = dict(api.h)
        content = (op.get("requestBody") or {}).get("content", {})
        if "application/json" in content and draw(st.booleans()):
            body = json.dumps(draw(from_schema(content["application/json"].get("schema", {}), spec))).encode()
            ctype = "application/json"
        else:
            ctype, body = draw(bodies)
        headers["Content-Type"] = ctype
        if draw(st.booleans()):
            headers["X-Signature-256"] = draw(st.text(max_size=70).filter(lambda s: s.isascii() and s.isprintable()))
        if draw(st.booleans()):
            headers["Idempotency-Key"] = draw(st.text(min_size=1, max_size=30).filter(lambda s: s.isascii() and s.isprintable() and s.strip()))
        return {"method": method, "url": url, "headers": headers, "content": body}

    @settings(max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(req=request())
    def check(req):
        r = asyncio.run_coroutine_threadsafe(api.http.request(**req), loop).result(timeout=30)
        seen[r.status_code] = seen.get(r.status_code, 0) + 1
        assert r.status_code < 500, (req, r.status_code, r.text[:300])
        if r.status_code >= 400:
            assert r.json().get("detail"), (req, r.text[:200])

    await asyncio.to_thread(check)
    print("status codes seen:", dict(sorted(seen.items())))
    # Delete the schedules the fuzzer may have created so they stop firing.
    for t in (await api.http.get(f"/api/v1/workflows/{wf}/triggers", headers=api.h)).json():
        await api.http.delete(f"/api/v1/workflows/{wf}/triggers/{t['id']}", headers=api.h)
