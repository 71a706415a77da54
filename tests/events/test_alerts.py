"""Alert rules end to end: the durable scheduler fires `alert.fired` (webhook + email) once when the failure
rate crosses the threshold, and `alert.resolved` once when it falls back; bad rules get a clear 422."""

from __future__ import annotations

import asyncio
import json

from temporalio.client import WorkflowFailureError

from tests.events.conftest import api_context, running_worker
from tests.localpeers import SmtpSink
from workflows.alerts import AlertsSchedulerInput, AlertsSchedulerWorkflow

FAIL = {"nodes": [{"id": "start", "type": "start"}, {"id": "stop", "type": "terminate", "config": {"message": "x"}}],
        "edges": [{"source": "start", "target": "stop"}]}


async def _run(api, client, workflow_id: str, n: int, fails: bool) -> None:
    for _ in range(n):
        r = await api.http.post(f"/api/v1/workflows/{workflow_id}/execute", headers=api.h, json={"input": {}})
        assert r.status_code == 202, r.text
        handle = client.get_workflow_handle(r.json()["id"])
        if fails:
            try:
                await asyncio.wait_for(handle.result(), 30)
            except WorkflowFailureError:
                pass
        else:
            await asyncio.wait_for(handle.result(), 30)
        # reading the execution brings the index up to date with Temporal
        assert (await api.http.get(f"/api/v1/executions/{r.json()['id']}", headers=api.h)).status_code == 200


async def _events(receiver, count: int) -> list[dict]:
    await receiver.wait_for(count, timeout=30)
    return [json.loads(r.body) for r in receiver.requests]


async def test_failure_rate_alert_fires_once_and_resolves(ev_settings, client, sessionmaker, tenant_id, receiver):
    with SmtpSink() as smtp:
        settings = ev_settings.model_copy(update={"smtp_port": smtp.port})
        async with api_context(settings, client, sessionmaker, tenant_id) as api, running_worker(client, settings):
            r = await api.http.post("/api/v1/webhooks", headers=api.h,
                                    json={"endpoint_url": receiver.url, "events": ["alert.fired", "alert.resolved"]})
            assert r.status_code == 201, r.text
            rule = await api.http.post("/api/v1/alerts/rules", headers=api.h, json={
                "name": "too many failures", "kind": "failure_rate",
                "params": {"threshold_percent": 50, "window": "PT1H", "min_executions": 2},
                "channels": {"webhook": True, "emails": ["ops@example.com"]}})
            assert rule.status_code == 201, rule.text
            rule_id = rule.json()["id"]
            failing, fine = await api.workflow(FAIL), await api.workflow()
            await _run(api, client, failing, 3, fails=True)

            scheduler = await client.start_workflow(
                AlertsSchedulerWorkflow.run, AlertsSchedulerInput(settings.temporal_task_queue, interval_seconds=0.3),
                id=f"alerts-{settings.temporal_task_queue}", task_queue=settings.temporal_task_queue)
            try:
                fired = (await _events(receiver, 1))[0]
                assert fired["type"] == "alert.fired" and fired["data"]["rule_id"] == rule_id
                assert "100.0% of 3 executions failed" in fired["data"]["summary"]
                await asyncio.sleep(1.5)  # several more passes while still firing: no second notice
                assert len(receiver.requests) == 1
                state = (await api.http.get(f"/api/v1/alerts/rules/{rule_id}", headers=api.h)).json()["state"]
                assert state["status"] == "firing" and state["fired_count"] == 1

                await _run(api, client, fine, 4, fails=False)  # 3 of 6 (or 7) failed: not over 50%
                resolved = (await _events(receiver, 2))[1]
                assert resolved["type"] == "alert.resolved" and "(within 50%)" in resolved["data"]["summary"]
                await asyncio.sleep(1.0)
                assert len(receiver.requests) == 2  # resolved once too
                state = (await api.http.get(f"/api/v1/alerts/rules/{rule_id}", headers=api.h)).json()["state"]
                assert state["status"] == "ok"
            finally:
                await scheduler.terminate()
        subjects = [m.message["Subject"] for m in smtp.mails]
        assert subjects == ["[wfo alert FIRING] too many failures", "[wfo alert resolved] too many failures"]
        assert all(m.rcpt_tos == ["ops@example.com"] for m in smtp.mails)


async def test_bad_rules_are_refused_naming_the_field(api):
    r = await api.http.post("/api/v1/alerts/rules", headers=api.h, json={
        "name": "x", "kind": "failure_rate", "params": {"threshold_percent": 150, "window": "soon"},
        "channels": {"emails": ["not-an-address"]}})
    assert r.status_code == 422
    fields = {p["field"] for p in r.json()["detail"]}
    assert {"params.threshold_percent", "params.window", "channels.emails.0"} <= fields, r.json()
    r = await api.http.post("/api/v1/alerts/rules", headers=api.h, json={"name": "x", "kind": "nope"})
    assert r.status_code == 422
    ok = await api.http.post("/api/v1/alerts/rules", headers=api.h,
                             json={"name": "dup", "kind": "no_worker", "params": {}})
    assert ok.status_code == 201
    again = await api.http.post("/api/v1/alerts/rules", headers=api.h,
                                json={"name": "dup", "kind": "no_worker", "params": {}})
    assert again.status_code == 409
    listed = (await api.http.get("/api/v1/alerts/rules", headers=api.h)).json()
    assert "failure_rate" in listed["kinds"] and any(i["name"] == "dup" for i in listed["items"])
    assert (await api.http.delete(f"/api/v1/alerts/rules/{ok.json()['id']}", headers=api.h)).status_code == 204
    assert (await api.http.get(f"/api/v1/alerts/rules/{ok.json()['id']}", headers=api.h)).status_code == 404
