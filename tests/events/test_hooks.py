"""Inbound webhook triggers end to end: API (in-process ASGI) + real Postgres, Temporal dev server, Redis."""

from __future__ import annotations

import asyncio
import json
import uuid

from temporalio.client import Client

from tests.events.conftest import SLOW_DEFINITION, api_context
from wfo.db import sql
from wfo.security.signing import sign_body_github


async def temporal_count(client: Client, workflow_id: str, at_least: int = 1) -> int:
    query = f'WfoWorkflowId = "{workflow_id}"'
    count = 0
    for _ in range(40):
        count = (await client.count_workflows(query)).count
        if count >= at_least:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # visibility is eventually consistent: give a duplicate time to show up
    return (await client.count_workflows(query)).count


async def indexed(sessionmaker, workflow_id: str) -> list:
    async with sessionmaker() as s:
        return (
            await sql(s, "SELECT id, trigger, status FROM executions WHERE workflow_id = :w", {"w": uuid.UUID(workflow_id)})
        ).all()


async def test_webhook_starts_execution_with_body_headers_query(api, worker, client, sessionmaker):
    wf = await api.workflow()
    trig = await api.trigger(wf)
    assert trig["url"].endswith(f"/api/v1/hooks/{trig['id']}") and trig["has_secret"] is False
    r = await api.http.post(
        f"/api/v1/hooks/{trig['id']}?a=1&a=2&b=x",
        json={"order": 42},
        headers={"Authorization": "Bearer leaked?", "X-Custom": "yes", "Cookie": "s=1", "X-Api-Token": "t"},
    )
    assert r.status_code == 202, r.text
    execution_id = r.json()["execution_id"]
    assert r.json()["duplicate"] is False and r.headers["location"] == f"/api/v1/executions/{execution_id}"
    # where the request's time went (W3C Server-Timing): every stage, each a duration in ms
    stages = dict(part.split(";dur=") for part in r.headers["server-timing"].split(", "))
    assert set(stages) == {"trigger", "checks", "index", "start"} and all(float(v) >= 0 for v in stages.values())
    out = await client.get_workflow_handle(execution_id).result()
    assert out["body"] == {"order": 42} and out["body_kind"] == "json"
    assert out["query"] == {"a": ["1", "2"], "b": "x"}
    assert out["headers"]["x-custom"] == "yes"
    for secret_header in ("authorization", "cookie", "x-api-token"):
        assert secret_header not in out["headers"]
    history = (await client.get_workflow_handle(execution_id).fetch_history()).to_json()
    assert "leaked?" not in history
    rows = await indexed(sessionmaker, wf)
    assert [(r.id, r.trigger) for r in rows] == [(execution_id, "webhook")]
    assert (await api.http.get(f"/api/v1/executions/{execution_id}", headers=api.h)).status_code == 200


async def test_form_and_raw_bodies(api, worker, client):
    wf = await api.workflow()
    trig = await api.trigger(wf)
    r = await api.http.post(f"/api/v1/hooks/{trig['id']}", data={"name": "ada", "tag": ["a", "b"]})
    assert r.status_code == 202, r.text
    out = await client.get_workflow_handle(r.json()["execution_id"]).result()
    assert out["body"] == {"name": "ada", "tag": ["a", "b"]} and out["body_kind"] == "form"
    r = await api.http.post(f"/api/v1/hooks/{trig['id']}", content=b"plain text", headers={"Content-Type": "text/plain"})
    out = await client.get_workflow_handle(r.json()["execution_id"]).result()
    assert (out["body"], out["body_kind"]) == ("plain text", "text")
    r = await api.http.post(f"/api/v1/hooks/{trig['id']}", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    for bad in (b'{"x": NaN}', b'[Infinity]', b"[" * 100 + b"]" * 100, b"[" * 100000 + b"]" * 100000):
        r = await api.http.post(f"/api/v1/hooks/{trig['id']}", content=bad, headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["detail"], bad[:20]
    # NUL characters are valid JSON: the execution gets them as sent (the Postgres index a scrubbed copy)
    r = await api.http.post(f"/api/v1/hooks/{trig['id']}", content=b'{"k\\u0000": "a\\u0000b"}',
                            headers={"Content-Type": "application/json"})
    assert r.status_code == 202, r.text
    out = await client.get_workflow_handle(r.json()["execution_id"]).result()
    assert out["body"] == {"k\x00": "a\x00b"}
    r = await api.http.post(f"/api/v1/hooks/{trig['id']}", content=b"a=%00&b=\x00raw", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 202, r.text
    r = await api.http.post(f"/api/v1/hooks/{trig['id']}", content=b"\x00\xff\xfe", headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 202, r.text
    out = await client.get_workflow_handle(r.json()["execution_id"]).result()
    assert out["body_kind"] == "base64"


async def test_bad_or_missing_signature_starts_nothing(api, worker, client, sessionmaker):
    wf = await api.workflow()
    trig = await api.trigger(wf, secret="hook-secret-123")
    assert trig["has_secret"] is True and "secret" not in trig
    url = f"/api/v1/hooks/{trig['id']}"
    body = json.dumps({"x": 1}).encode()
    ctype = {"Content-Type": "application/json"}
    r = await api.http.post(url, content=body, headers=ctype)
    assert r.status_code == 401
    r = await api.http.post(url, content=body, headers={**ctype, "X-Signature-256": sign_body_github("wrong-secret", body)})
    assert r.status_code == 401
    r = await api.http.post(url, content=body + b" ", headers={**ctype, "X-Signature-256": sign_body_github("hook-secret-123", body)})
    assert r.status_code == 401
    assert await indexed(sessionmaker, wf) == []
    assert (await client.count_workflows(f'WfoWorkflowId = "{wf}"')).count == 0
    r = await api.http.post(url, content=body, headers={**ctype, "X-Signature-256": sign_body_github("hook-secret-123", body)})
    assert r.status_code == 202, r.text
    out = await client.get_workflow_handle(r.json()["execution_id"]).result()
    assert "x-signature-256" not in out["headers"]
    # GitHub's own header name works too
    r = await api.http.post(url, content=body, headers={**ctype, "X-Hub-Signature-256": sign_body_github("hook-secret-123", body)})
    assert r.status_code == 202, r.text


async def test_inactive_workflow_unknown_hook_and_oversize(api, sessionmaker):
    draft = await api.workflow(status="draft")
    trig = await api.trigger(draft)
    assert (await api.http.post(f"/api/v1/hooks/{trig['id']}", json={})).status_code == 409
    assert (await api.http.post(f"/api/v1/hooks/{uuid.uuid4()}", json={})).status_code == 404
    assert (await api.http.post("/api/v1/hooks/not-a-uuid", json={})).status_code == 404
    wf = await api.workflow()
    small = await api.trigger(wf, max_body_bytes=100)
    r = await api.http.post(f"/api/v1/hooks/{small['id']}", json={"pad": "x" * 200})
    assert r.status_code == 413
    big = "x" * (api.settings.max_request_bytes + 10)
    r = await api.http.post(f"/api/v1/hooks/{small['id']}", content=big.encode(), headers={"Content-Type": "text/plain"})
    assert r.status_code == 413
    assert await indexed(sessionmaker, wf) == [] and await indexed(sessionmaker, draft) == []


async def test_50_concurrent_duplicates_start_exactly_one_execution(api, worker, client, sessionmaker):
    wf = await api.workflow()
    trig = await api.trigger(wf)
    url = f"/api/v1/hooks/{trig['id']}"
    key = f"delivery-{uuid.uuid4()}"
    responses = await asyncio.gather(
        *(api.http.post(url, json={"n": i}, headers={"Idempotency-Key": key}) for i in range(50))
    )
    assert all(r.status_code == 202 for r in responses), [r.text for r in responses if r.status_code != 202]
    ids = {r.json()["execution_id"] for r in responses}
    assert len(ids) == 1
    (execution_id,) = ids
    assert sum(1 for r in responses if not r.json()["duplicate"]) <= 1
    assert await temporal_count(client, wf) == 1
    assert len(await indexed(sessionmaker, wf)) == 1
    await client.get_workflow_handle(execution_id).result()
    # After completion, a late redelivery still maps to the first execution (REJECT_DUPLICATE).
    r = await api.http.post(url, json={"n": 99}, headers={"Idempotency-Key": key})
    assert r.status_code == 202 and r.json()["execution_id"] == execution_id and r.json()["duplicate"] is True
    # Provider delivery ids work the same way.
    gh = [await api.http.post(url, json={}, headers={"X-GitHub-Delivery": "gh-123"}) for _ in range(3)]
    assert len({r.json()["execution_id"] for r in gh}) == 1
    assert await temporal_count(client, wf, at_least=2) == 2


async def test_redis_unreachable_webhooks_still_exactly_once(ev_settings, client, sessionmaker, tenant_id, worker):
    settings = ev_settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    async with api_context(settings, client, sessionmaker, tenant_id) as api:
        wf = await api.workflow()
        trig = await api.trigger(wf, rate_limit_per_minute=2)
        url = f"/api/v1/hooks/{trig['id']}"
        responses = await asyncio.gather(
            *(api.http.post(url, json={}, headers={"Idempotency-Key": "k-1"}) for _ in range(10))
        )
        assert {r.status_code for r in responses} == {202}
        assert len({r.json()["execution_id"] for r in responses}) == 1
        # without Redis the rate limit fails open: keyless deliveries are all accepted
        more = [await api.http.post(url, json={}) for _ in range(3)]
        assert {r.status_code for r in more} == {202}
        assert await temporal_count(client, wf, at_least=4) == 4
        assert len(await indexed(sessionmaker, wf)) == 4


async def test_rate_limit_answers_429_with_retry_after(api):
    wf = await api.workflow()
    trig = await api.trigger(wf, rate_limit_per_minute=3)
    url = f"/api/v1/hooks/{trig['id']}"
    import time

    if time.time() % 60 > 55:  # fixed one-minute windows: don't straddle a boundary
        await asyncio.sleep(60 - time.time() % 60 + 0.1)
    codes = [(await api.http.post(url, json={})) for _ in range(4)]
    assert [r.status_code for r in codes[:3]] == [202, 202, 202]
    assert codes[3].status_code == 429 and 1 <= int(codes[3].headers["retry-after"]) <= 60


async def test_temporal_unreachable_is_503_never_2xx(ev_settings, client, sessionmaker, tenant_id):
    dead = await Client.connect("127.0.0.1:1", lazy=True)
    async with api_context(ev_settings, client, sessionmaker, tenant_id) as setup:
        wf = await setup.workflow()
        trig = await setup.trigger(wf)
    async with api_context(ev_settings, client, sessionmaker, tenant_id, temporal_client=dead) as api:
        r = await api.http.post(f"/api/v1/hooks/{trig['id']}", json={}, headers={"Idempotency-Key": "k"})
        assert r.status_code == 503 and r.headers["retry-after"]
    # Temporal is back: the sender's retry with the same key is accepted and started once.
    async with api_context(ev_settings, client, sessionmaker, tenant_id) as api:
        r = await api.http.post(f"/api/v1/hooks/{trig['id']}", json={}, headers={"Idempotency-Key": "k"})
        assert r.status_code == 202
        assert await temporal_count(client, wf) == 1


async def test_sync_mode_returns_output_or_202_after_limit(api, worker, client):
    wf = await api.workflow()
    trig = await api.trigger(wf, response_mode="sync", sync_timeout_seconds=20)
    r = await api.http.post(f"/api/v1/hooks/{trig['id']}", json={"hello": "world"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "completed" and r.json()["output"]["body"] == {"hello": "world"}
    assert "wait;dur=" in r.headers["server-timing"]  # the sync wait is a stage of its own
    slow = await api.workflow(SLOW_DEFINITION)
    trig = await api.trigger(slow, response_mode="sync", sync_timeout_seconds=0.5)
    r = await api.http.post(f"/api/v1/hooks/{trig['id']}", json={"v": 1})
    assert r.status_code == 202 and r.json()["status"] == "running"
    assert await client.get_workflow_handle(r.json()["execution_id"]).result() == {"v": 1}


async def test_accepted_webhooks_are_not_lost_without_a_worker(api, client, ev_settings):
    """202 means Temporal has the execution: deliveries accepted while no worker runs complete later."""
    from tests.events.conftest import running_worker

    wf = await api.workflow()
    trig = await api.trigger(wf)
    accepted = []
    for i in range(5):
        r = await api.http.post(f"/api/v1/hooks/{trig['id']}", json={"i": i}, headers={"Idempotency-Key": f"nl-{i}"})
        assert r.status_code == 202
        accepted.append(r.json()["execution_id"])
    async with running_worker(client, ev_settings):
        outs = await asyncio.gather(*(client.get_workflow_handle(e).result() for e in accepted))
    assert [o["body"]["i"] for o in outs] == list(range(5))


async def test_sync_mode_reports_a_failed_execution(api, worker):
    failing = {
        "schema_version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "check", "type": "decision", "config": {"condition": "true"}},
            {"id": "stop", "type": "terminate", "config": {"message": "no thanks"}},
            {"id": "end", "type": "end"},
        ],
        "edges": [
            {"source": "start", "target": "check"},
            {"source": "check", "source_port": "true", "target": "stop"},
            {"source": "check", "source_port": "false", "target": "end"},
        ],
    }
    wf = await api.workflow(failing)
    trig = await api.trigger(wf, response_mode="sync", sync_timeout_seconds=20)
    r = await api.http.post(f"/api/v1/hooks/{trig['id']}", json={})
    assert r.status_code == 200 and r.json()["status"] == "failed" and r.json()["error"]


async def test_triggers_are_tenant_scoped_and_role_checked(api, ev_settings, client, sessionmaker):
    from tests.events.conftest import make_user

    wf = await api.workflow()
    trig = await api.trigger(wf)
    base = f"/api/v1/workflows/{wf}/triggers"
    other = uuid.uuid4()
    async with sessionmaker() as s:
        await sql(s, "INSERT INTO tenants (id, name) VALUES (:id, :n)", {"id": other, "n": other.hex})
        await s.commit()
    stranger = {"Authorization": f"Bearer {await make_user(sessionmaker, ev_settings, other)}"}
    assert (await api.http.get(base, headers=stranger)).status_code == 404
    assert (await api.http.get(f"{base}/{trig['id']}", headers=stranger)).status_code == 404
    assert (await api.http.delete(f"{base}/{trig['id']}", headers=stranger)).status_code == 404
    assert (await api.http.post(base, headers=stranger, json={"kind": "webhook"})).status_code == 404
    viewer = {"Authorization": f"Bearer {await make_user(sessionmaker, ev_settings, api.tenant_id, 'viewer')}"}
    operator = {"Authorization": f"Bearer {await make_user(sessionmaker, ev_settings, api.tenant_id, 'operator')}"}
    assert (await api.http.get(base, headers=viewer)).status_code == 200
    assert (await api.http.post(base, headers=viewer, json={"kind": "webhook"})).status_code == 403
    assert (await api.http.post(base, headers=operator, json={"kind": "webhook"})).status_code == 403
    assert (await api.http.delete(f"{base}/{trig['id']}", headers=operator)).status_code == 403
    assert (await api.http.get(base)).status_code == 401
    listed = (await api.http.get(base, headers=api.h)).json()
    assert [t["id"] for t in listed] == [trig["id"]]
    assert (await api.http.delete(f"{base}/{trig['id']}", headers=api.h)).status_code == 204
    assert (await api.http.post(f"/api/v1/hooks/{trig['id']}", json={})).status_code == 404


async def test_database_unreachable_is_503(api, ev_settings, client, sessionmaker, tenant_id):
    wf = await api.workflow()
    trig = await api.trigger(wf)
    broken = ev_settings.model_copy(update={"database_url": "postgresql://postgres@127.0.0.1:1/nowhere"})
    async with api_context(broken, client, sessionmaker, tenant_id) as down:
        r = await down.http.post(f"/api/v1/hooks/{trig['id']}", json={})
    assert r.status_code == 503 and r.headers["retry-after"]
    assert (await client.count_workflows(f'WfoWorkflowId = "{wf}"')).count == 0
