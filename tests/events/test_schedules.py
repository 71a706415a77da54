"""Schedule triggers as Temporal Schedules on the dev server (the time-skipping test server does
not implement the Schedule API, so firing is shown with a 2-second interval and trigger-now)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

from temporalio.worker import Replayer

from api.services import schedules
from wfo.db import sql
from workflows.trigger_schedule import ScheduledTriggerWorkflow


async def wait_for_runs(sessionmaker, workflow_id: str, n: int, timeout: float = 15.0) -> list:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with sessionmaker() as s:
            rows = (
                await sql(
                    s,
                    "SELECT id, trigger, status, started_by FROM executions WHERE workflow_id = :w ORDER BY started_at",
                    {"w": uuid.UUID(workflow_id)},
                )
            ).all()
        if len(rows) >= n or asyncio.get_running_loop().time() > deadline:
            return rows
        await asyncio.sleep(0.2)


async def test_interval_schedule_fires_pause_resume_run_now_delete(api, worker, client, sessionmaker):
    wf = await api.workflow()
    r = await api.http.post(
        f"/api/v1/workflows/{wf}/triggers", headers=api.h,
        json={"kind": "schedule", "interval_seconds": 2, "input": {"report": "daily"}, "overlap": "skip"},
    )
    assert r.status_code == 201, r.text
    trig = r.json()
    tid = trig["id"]
    assert trig["schedule_id"] == schedules.schedule_id_for(tid) and trig["url"] is None

    rows = await wait_for_runs(sessionmaker, wf, 1)
    assert rows and rows[0].trigger == "schedule" and rows[0].started_by == f"schedule:{tid}"
    # the index row is written before the fire starts its interpreter child: wait on the fire first
    launcher = client.get_workflow_handle(rows[0].id.removesuffix("-exec"))
    assert (await launcher.result())["status"] == "completed"
    out = await client.get_workflow_handle(rows[0].id).result()
    assert out["data"] == {"report": "daily"} and out["trigger"]["id"] == tid
    await Replayer(workflows=[ScheduledTriggerWorkflow]).replay_workflow(await launcher.fetch_history())

    got = (await api.http.get(f"/api/v1/workflows/{wf}/triggers/{tid}", headers=api.h)).json()
    assert got["schedule"]["num_actions"] >= 1 and got["schedule"]["next_action_times"] and got["paused"] is False

    r = await api.http.post(f"/api/v1/workflows/{wf}/triggers/{tid}/pause", headers=api.h)
    assert r.status_code == 200 and r.json()["paused"] is True
    assert (await schedules.describe(client, tid))["paused"] is True
    actions = (await schedules.describe(client, tid))["num_actions"]
    await asyncio.sleep(3)
    assert (await schedules.describe(client, tid))["num_actions"] == actions  # paused: no fires

    r = await api.http.post(f"/api/v1/workflows/{wf}/triggers/{tid}/run", headers=api.h, json={"overlap": "allow_all"})
    assert r.status_code == 202
    for _ in range(50):  # trigger-now works while paused
        if (await schedules.describe(client, tid))["num_actions"] == actions + 1:
            break
        await asyncio.sleep(0.1)
    assert (await schedules.describe(client, tid))["num_actions"] == actions + 1
    assert len(await wait_for_runs(sessionmaker, wf, actions + 1)) == actions + 1  # each fire ran once

    r = await api.http.post(f"/api/v1/workflows/{wf}/triggers/{tid}/resume", headers=api.h)
    assert r.json()["paused"] is False and (await schedules.describe(client, tid))["paused"] is False

    assert (await api.http.delete(f"/api/v1/workflows/{wf}/triggers/{tid}", headers=api.h)).status_code == 204
    assert await schedules.describe(client, tid) is None
    assert (await api.http.get(f"/api/v1/workflows/{wf}/triggers", headers=api.h)).json() == []


async def test_cron_with_time_zone_and_state_reconciled_from_temporal(api, client):
    wf = await api.workflow()
    r = await api.http.post(
        f"/api/v1/workflows/{wf}/triggers", headers=api.h,
        json={"kind": "schedule", "cron": "0 9 * * *", "timezone": "America/New_York", "catchup_window_seconds": 600,
              "overlap": "buffer_one"},
    )
    assert r.status_code == 201, r.text
    tid = r.json()["id"]
    desc = await client.get_schedule_handle(schedules.schedule_id_for(tid)).describe()
    assert desc.schedule.policy.catchup_window.total_seconds() == 600
    assert desc.schedule.policy.overlap.name == "BUFFER_ONE"
    got = (await api.http.get(f"/api/v1/workflows/{wf}/triggers/{tid}", headers=api.h)).json()
    nxt = datetime.fromisoformat(got["schedule"]["next_action_times"][0])
    assert (nxt.hour, nxt.minute) in ((14, 0), (13, 0))  # 09:00 New York in UTC (EST / EDT)

    # Someone pauses it in Temporal directly (or the API died between the two steps): reads converge.
    await client.get_schedule_handle(schedules.schedule_id_for(tid)).pause(note="ops")
    got = (await api.http.get(f"/api/v1/workflows/{wf}/triggers/{tid}", headers=api.h)).json()
    assert got["paused"] is True
    # The schedule vanished from Temporal: the next read recreates it from Postgres.
    await client.get_schedule_handle(schedules.schedule_id_for(tid)).delete()
    got = (await api.http.get(f"/api/v1/workflows/{wf}/triggers/{tid}", headers=api.h)).json()
    assert got["schedule"] is not None and got["schedule"]["paused"] is True
    await api.http.delete(f"/api/v1/workflows/{wf}/triggers/{tid}", headers=api.h)


async def test_schedule_skips_inactive_workflow(api, worker, client, sessionmaker):
    wf = await api.workflow(status="inactive")
    r = await api.http.post(f"/api/v1/workflows/{wf}/triggers", headers=api.h,
                            json={"kind": "schedule", "cron": "0 0 1 1 *"})
    tid = r.json()["id"]
    await api.http.post(f"/api/v1/workflows/{wf}/triggers/{tid}/run", headers=api.h)
    for _ in range(50):
        info = (await schedules.describe(client, tid))
        if info["recent_actions"]:
            break
        await asyncio.sleep(0.1)
    launcher = info["recent_actions"][0]["workflow_id"]
    result = await client.get_workflow_handle(launcher).result()
    assert result["status"] == "skipped" and "inactive" in result["detail"]
    assert await wait_for_runs(sessionmaker, wf, 0) == []
    await api.http.delete(f"/api/v1/workflows/{wf}/triggers/{tid}", headers=api.h)


async def test_trigger_validation(api):
    wf = await api.workflow()
    url = f"/api/v1/workflows/{wf}/triggers"
    for body in (
        {"kind": "schedule"},
        {"kind": "schedule", "cron": "0 9 * * *", "interval_seconds": 60},
        {"kind": "schedule", "cron": "not a cron"},
        {"kind": "schedule", "cron": "0 9 * * *", "timezone": "Mars/Olympus"},
        {"kind": "schedule", "interval_seconds": 60, "secret": "abcdefghij"},
        {"kind": "webhook", "cron": "0 9 * * *"},
        {"kind": "webhook", "response_mode": "sometimes"},
        {"kind": "webhook", "max_body_bytes": 10**9},
        {"kind": "email"},
        {"kind": "webhook", "name": "nul\x00"},
        {"kind": "schedule", "interval_seconds": 60, "input": {"k": "\x00"}},
        {"kind": "schedule", "cron": "0 9 * * *", "timezone": "../../etc/passwd"},
    ):
        r = await api.http.post(url, headers=api.h, json=body)
        assert r.status_code == 422, (body, r.status_code, r.text)
    assert (await api.http.post(f"/api/v1/workflows/{uuid.uuid4()}/triggers", headers=api.h, json={"kind": "webhook"})).status_code == 404
    r = await api.http.post(url, headers=api.h, json={"kind": "webhook"})
    tid = r.json()["id"]
    assert (await api.http.post(f"{url}/{tid}/pause", headers=api.h)).status_code == 409
    assert (await api.http.post(f"{url}/{tid}/run", headers=api.h)).status_code == 409
    assert (await api.http.get(f"{url}/{uuid.uuid4()}", headers=api.h)).status_code == 404


async def test_schedule_changes_with_temporal_down_are_503_and_change_nothing(
    api, ev_settings, client, sessionmaker, tenant_id
):
    from temporalio.client import Client

    from tests.events.conftest import api_context

    wf = await api.workflow()
    r = await api.http.post(f"/api/v1/workflows/{wf}/triggers", headers=api.h, json={"kind": "schedule", "interval_seconds": 3600})
    tid = r.json()["id"]
    dead = await Client.connect("127.0.0.1:1", lazy=True)
    async with api_context(ev_settings, client, sessionmaker, tenant_id, temporal_client=dead) as down:
        r = await down.http.post(f"/api/v1/workflows/{wf}/triggers", headers=down.h,
                                 json={"kind": "schedule", "interval_seconds": 60})
        assert r.status_code == 503 and r.headers["retry-after"]
        r = await down.http.post(f"/api/v1/workflows/{wf}/triggers/{tid}/pause", headers=down.h)
        assert r.status_code == 503
        assert (await down.http.delete(f"/api/v1/workflows/{wf}/triggers/{tid}", headers=down.h)).status_code == 503
    listed = (await api.http.get(f"/api/v1/workflows/{wf}/triggers", headers=api.h)).json()
    assert [(t["id"], t["paused"]) for t in listed] == [(tid, False)]
    assert (await schedules.describe(client, tid))["paused"] is False
    await api.http.delete(f"/api/v1/workflows/{wf}/triggers/{tid}", headers=api.h)


async def test_orphan_schedule_without_trigger_row_removes_itself(api, worker, client, sessionmaker):
    """Temporal has a schedule whose trigger row never committed (or was deleted behind its back)."""
    wf = await api.workflow()
    r = await api.http.post(f"/api/v1/workflows/{wf}/triggers", headers=api.h, json={"kind": "schedule", "interval_seconds": 3600})
    tid = r.json()["id"]
    async with sessionmaker() as s:
        await sql(s, "DELETE FROM triggers WHERE id = :id", {"id": uuid.UUID(tid)})
        await s.commit()
    await client.get_schedule_handle(schedules.schedule_id_for(tid)).trigger()
    for _ in range(100):
        if await schedules.describe(client, tid) is None:
            break
        await asyncio.sleep(0.1)
    assert await schedules.describe(client, tid) is None
    assert await wait_for_runs(sessionmaker, wf, 0) == []
