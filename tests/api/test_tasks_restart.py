"""Pending approvals survive a SIGKILLed worker and a restarted API: nothing lives in their memory."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid

import httpx

from api.main import create_app
from tests.api.test_tasks import approval_definition, wait_execution, wait_task
from tests.engine.test_worker_crash import spawn_worker


async def test_worker_and_api_restart_with_pending_approvals(temporal_env, api_settings, tenant_a):
    settings = api_settings.model_copy(update={"temporal_task_queue": f"restart-{uuid.uuid4().hex[:8]}"})
    op = tenant_a.users["operator"].email

    async def api():
        app = create_app(settings, temporal_client=temporal_env.client, reconcile_interval=None)
        return app, httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")

    worker = spawn_worker(settings, temporal_env)
    try:
        app, http = await api()
        async with app.router.lifespan_context(app), http:
            r = await http.post("/api/v1/workflows", json={"name": "restart", "status": "active",
                                                            "definition": approval_definition([op])},
                                headers=tenant_a.h("developer"))
            wf = r.json()["id"]
            executions = []
            for i in range(3):
                r = await http.post(f"/api/v1/workflows/{wf}/execute", json={"input": {"order": f"R{i}", "total": i}},
                                    headers=tenant_a.h("admin"))
                assert r.status_code == 202, r.text
                executions.append(r.json()["id"])
            tasks = [await wait_task(http, tenant_a, ex, "operator") for ex in executions]

        # the worker dies hard, the API process is gone: tasks wait in Temporal and in the inbox
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        for ex in executions:
            assert (await temporal_env.client.get_workflow_handle(ex).describe()).status.name == "RUNNING"

        app, http = await api()  # a brand-new API instance
        async with app.router.lifespan_context(app), http:
            r = await http.get("/api/v1/tasks", headers=tenant_a.h("operator"))
            pending = {t["id"] for t in r.json()["items"]}
            assert {t["id"] for t in tasks} <= pending
            worker = spawn_worker(settings, temporal_env)
            decisions = ["approved", "rejected", "approved"]
            for task, decision in zip(tasks, decisions):
                r = await asyncio.wait_for(http.post(f"/api/v1/tasks/{task['id']}/complete",
                                                     json={"decision": decision}, headers=tenant_a.h("operator")),
                                           timeout=60)
                assert r.status_code == 200, r.text
            for ex, decision in zip(executions, decisions):
                out = (await wait_execution(http, tenant_a, ex))["output"]
                assert out["ok"] is (decision == "approved") and out["by"] == op
            r = await http.get("/api/v1/tasks", params={"status": "pending"}, headers=tenant_a.h("operator"))
            assert not {t["id"] for t in tasks} & {t["id"] for t in r.json()["items"]}
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=20)
