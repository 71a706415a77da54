"""Outbound event subscriptions through the REST API, delivered end to end to a local receiver."""

from __future__ import annotations

import uuid

from tests.events.conftest import api_context, make_user
from tests.events.receiver import Receiver
from wfo.events import emit_event
from wfo.security.signing import verify_event
from workflows.delivery import DeliveryRetry

FAST = DeliveryRetry(initial_interval_seconds=0.2, maximum_interval_seconds=0.5, maximum_attempts=5)


async def test_subscription_crud_delivery_log_and_secret_hygiene(api, worker, client, sessionmaker, receiver: Receiver):
    receiver.fail_first = 1
    r = await api.http.post(
        "/api/v1/webhooks", headers=api.h, json={"endpoint_url": receiver.url, "events": ["workflow.created", "execution.completed"]}
    )
    assert r.status_code == 201, r.text
    sub = r.json()
    secret = sub["secret"]
    assert secret.startswith("whsec_")
    sid = sub["id"]
    got = (await api.http.get(f"/api/v1/webhooks/{sid}", headers=api.h)).json()
    assert "secret" not in got and got["events"] == ["execution.completed", "workflow.created"]
    listed = (await api.http.get("/api/v1/webhooks", headers=api.h)).json()
    assert [s["id"] for s in listed["items"]] == [sid] and secret not in str(listed)

    # a caller-chosen secret is accepted and never echoed back
    r = await api.http.post(
        "/api/v1/webhooks", headers=api.h,
        json={"endpoint_url": receiver.url, "events": ["task.completed"], "secret": "my-own-secret-0123456789"},
    )
    assert r.status_code == 201 and r.json()["secret"] is None

    ids = await emit_event(
        "workflow.created", {"workflow_id": "w1"}, tenant_id=api.tenant_id, client=client,
        sessionmaker=api.app.state.sessionmaker, task_queue=api.settings.temporal_task_queue, retry=FAST,
    )
    assert len(ids) == 1
    await client.get_workflow_handle(f"webhook-delivery-{ids[0]}").result()
    assert len(receiver.requests) == 2 and all(verify_event(secret, q.headers, q.body) for q in receiver.requests)

    log = (await api.http.get(f"/api/v1/webhooks/{sid}/deliveries", headers=api.h)).json()
    assert log["total"] == 1
    entry = log["items"][0]
    assert (entry["id"], entry["status"], entry["attempts"], entry["response_status"]) == (ids[0], "succeeded", 2, 200)
    assert entry["event_type"] == "workflow.created"

    assert (await api.http.delete(f"/api/v1/webhooks/{sid}", headers=api.h)).status_code == 204
    assert (await api.http.get(f"/api/v1/webhooks/{sid}", headers=api.h)).status_code == 404
    # the delivery log outlives the subscription; nothing more is delivered to it
    assert (await api.http.get(f"/api/v1/webhooks/{sid}/deliveries", headers=api.h)).json()["total"] == 1
    assert await emit_event(
        "workflow.created", {}, tenant_id=api.tenant_id, client=client,
        sessionmaker=api.app.state.sessionmaker, task_queue=api.settings.temporal_task_queue,
    ) == []


async def test_subscription_validation_and_ssrf(api):
    bad = [
        {"endpoint_url": "http://127.0.0.2:9/x", "events": ["workflow.created"]},  # loopback, not allowlisted
        {"endpoint_url": "http://169.254.169.254/latest", "events": ["workflow.created"]},
        {"endpoint_url": "http://10.0.0.1/", "events": ["workflow.created"]},
        {"endpoint_url": "gopher://127.0.0.1/", "events": ["workflow.created"]},
        {"endpoint_url": "http://127.0.0.1:9/x", "events": ["no.such.event"]},
        {"endpoint_url": "http://127.0.0.1:9/x", "events": []},
        {"endpoint_url": "http://127.0.0.1:9/x", "events": ["workflow.created"], "secret": "short"},
        {"endpoint_url": "http://a..b/x", "events": ["workflow.created"]},  # IDNA error
        {"endpoint_url": "http://no-such-host.invalid/x", "events": ["workflow.created"]},
        {"endpoint_url": "http://127.0.0.1:9/\x00", "events": ["workflow.created"]},
        {"endpoint_url": "http://127.0.0.1:99999/", "events": ["workflow.created"]},
        {"endpoint_url": "http://127.0.0.1:9/", "events": ["*"], "description": "nul\x00"},
    ]
    for body in bad:
        r = await api.http.post("/api/v1/webhooks", headers=api.h, json=body)
        assert r.status_code == 422, (body, r.status_code, r.text)
    ok = await api.http.post("/api/v1/webhooks", headers=api.h, json={"endpoint_url": "http://127.0.0.1:9/x", "events": ["*"]})
    assert ok.status_code == 201


async def test_subscriptions_are_tenant_scoped_and_role_checked(api, ev_settings, client, sessionmaker):
    r = await api.http.post("/api/v1/webhooks", headers=api.h, json={"endpoint_url": "http://127.0.0.1:9/", "events": ["*"]})
    sid = r.json()["id"]
    other = uuid.uuid4()
    from wfo.db import sql

    async with sessionmaker() as s:
        await sql(s, "INSERT INTO tenants (id, name) VALUES (:id, :n)", {"id": other, "n": other.hex})
        await s.commit()
    async with api_context(ev_settings, client, sessionmaker, other) as stranger:
        assert (await stranger.http.get(f"/api/v1/webhooks/{sid}", headers=stranger.h)).status_code == 404
        assert (await stranger.http.get(f"/api/v1/webhooks/{sid}/deliveries", headers=stranger.h)).status_code == 404
        assert (await stranger.http.delete(f"/api/v1/webhooks/{sid}", headers=stranger.h)).status_code == 404
        assert (await stranger.http.get("/api/v1/webhooks", headers=stranger.h)).json()["total"] == 0
    viewer = await make_user(sessionmaker, ev_settings, api.tenant_id, role="viewer")
    vh = {"Authorization": f"Bearer {viewer}"}
    assert (await api.http.get(f"/api/v1/webhooks/{sid}", headers=vh)).status_code == 200
    assert (await api.http.delete(f"/api/v1/webhooks/{sid}", headers=vh)).status_code == 403
    assert (await api.http.post("/api/v1/webhooks", headers=vh, json={"endpoint_url": "http://127.0.0.1:9/", "events": ["*"]})).status_code == 403
    assert (await api.http.get("/api/v1/webhooks")).status_code == 401
