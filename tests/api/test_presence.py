"""Designer presence: heartbeats in the real Redis, viewer list, TTL, live fan-out message."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import redis.asyncio as aioredis

from api.services import presence as svc


async def _workflow(http, tenant, definition) -> str:
    r = await http.post("/api/v1/workflows", headers=tenant.h("developer"),
                        json={"name": f"p-{uuid.uuid4().hex[:6]}", "definition": definition})
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def test_two_viewers_see_each_other_and_leave(http, tenant_a, tenant_b, definition, api_settings):
    wid = await _workflow(http, tenant_a, definition)
    sub = aioredis.from_url(api_settings.redis_url, decode_responses=True)
    pubsub = sub.pubsub()
    await pubsub.subscribe(svc.presence_channel(wid))
    try:
        r = await http.post(f"/api/v1/workflows/{wid}/presence", headers=tenant_a.h("viewer"), json={})
        assert r.status_code == 200, r.text
        assert [v["email"] for v in r.json()["viewers"]] == [tenant_a.users["viewer"].email]
        first_since = r.json()["viewers"][0]["since"]
        await asyncio.sleep(0.01)
        r = await http.post(f"/api/v1/workflows/{wid}/presence", headers=tenant_a.h("developer"))
        viewers = r.json()["viewers"]
        assert {v["email"] for v in viewers} == {tenant_a.users["viewer"].email, tenant_a.users["developer"].email}
        assert {v["user_id"] for v in viewers} == {str(tenant_a.users["viewer"].id), str(tenant_a.users["developer"].id)}
        # a repeated heartbeat keeps the first "since"
        r = await http.post(f"/api/v1/workflows/{wid}/presence", headers=tenant_a.h("viewer"), json={})
        mine = next(v for v in r.json()["viewers"] if v["email"] == tenant_a.users["viewer"].email)
        assert mine["since"] == first_since and len(r.json()["viewers"]) == 2
        # another tenant can't see or touch it
        assert (await http.post(f"/api/v1/workflows/{wid}/presence", headers=tenant_b.h("admin"))).status_code == 404
        assert (await http.delete(f"/api/v1/workflows/{wid}/presence", headers=tenant_b.h("admin"))).status_code == 404
        r = await http.delete(f"/api/v1/workflows/{wid}/presence", headers=tenant_a.h("viewer"))
        assert r.status_code == 200
        assert [v["email"] for v in r.json()["viewers"]] == [tenant_a.users["developer"].email]
        # published on the live fan-out: join of viewer, join of developer, leave of viewer
        messages = []
        deadline = time.monotonic() + 5
        while len(messages) < 3 and time.monotonic() < deadline:
            msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
            if msg:
                messages.append(json.loads(msg["data"]))
        assert [len(m["viewers"]) for m in messages] == [1, 2, 1], messages
        assert all(m["type"] == "presence" and m["workflow_id"] == wid for m in messages)
    finally:
        await pubsub.aclose()
        await sub.aclose()


async def test_heartbeats_expire(api_settings):
    redis = aioredis.from_url(api_settings.redis_url)
    tenant, wid = str(uuid.uuid4()), str(uuid.uuid4())
    try:
        t0 = time.time()
        await svc.heartbeat(redis, tenant_id=tenant, workflow_id=wid, user_id="u1", email="a@x", now=t0)
        viewers = await svc.heartbeat(redis, tenant_id=tenant, workflow_id=wid, user_id="u2", email="b@x", now=t0 + 20)
        assert [v.user_id for v in viewers] == ["u1", "u2"]
        # 31 s after u1's last heartbeat it is gone; u2 (11 s) is still there
        viewers = await svc.heartbeat(redis, tenant_id=tenant, workflow_id=wid, user_id="u2", email="b@x", now=t0 + 31)
        assert [v.user_id for v in viewers] == ["u2"]
        # a returning viewer starts a new "since"
        viewers = await svc.heartbeat(redis, tenant_id=tenant, workflow_id=wid, user_id="u1", email="a@x", now=t0 + 40)
        u1 = next(v for v in viewers if v.user_id == "u1")
        assert u1.since > next(v for v in viewers if v.user_id == "u2").since
        zkey = f"wfo:presence:{tenant}:{wid}"
        assert 0 < await redis.ttl(zkey) <= svc.KEY_TTL_S and 0 < await redis.ttl(zkey + ":info") <= svc.KEY_TTL_S
    finally:
        await redis.delete(f"wfo:presence:{tenant}:{wid}", f"wfo:presence:{tenant}:{wid}:info")
        await redis.aclose()


async def test_presence_needs_a_login_and_a_workflow(http, tenant_a):
    wid = uuid.uuid4()
    assert (await http.post(f"/api/v1/workflows/{wid}/presence")).status_code == 401
    assert (await http.post(f"/api/v1/workflows/{wid}/presence", headers=tenant_a.h("viewer"))).status_code == 404
    assert (await http.post("/api/v1/workflows/not-a-uuid/presence", headers=tenant_a.h("viewer"))).status_code == 422
    r = await http.post(f"/api/v1/workflows/{wid}/presence", headers=tenant_a.h("viewer"), json={"x": 1})
    assert r.status_code == 422
