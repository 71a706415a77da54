"""Approval emails: each assignee (by address, or through a role) gets their own signed links; escalation
mails the new assignees; a link from the email decides."""

from __future__ import annotations

import asyncio
import re
import uuid

import httpx

from api.main import create_app
from tests.api.test_tasks import approval_definition, wait_execution, wait_task
from tests.localpeers import SmtpSink
from worker.main import build_worker


async def test_assignees_are_emailed_links_that_work(temporal_env, api_settings, tenant_a):
    op, dev = tenant_a.users["operator"], tenant_a.users["developer"]
    with SmtpSink() as smtp:
        settings = api_settings.model_copy(update={
            "temporal_task_queue": f"notify-{uuid.uuid4().hex[:8]}", "smtp_port": smtp.port,
            "smtp_host": "127.0.0.1", "public_base_url": "http://test"})
        app = create_app(settings, temporal_client=temporal_env.client, reconcile_interval=None)
        async with (app.router.lifespan_context(app), build_worker(temporal_env.client, settings),
                    httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http):
            definition = approval_definition([op.email], roles=["developer"], notify={"email": True, "link_hours": 2})
            r = await http.post("/api/v1/workflows", json={"name": "n", "definition": definition, "status": "active"},
                                headers=tenant_a.h("developer"))
            r = await http.post(f"/api/v1/workflows/{r.json()['id']}/execute",
                                json={"input": {"order": "N-1", "total": 12}}, headers=tenant_a.h("admin"))
            ex = r.json()["id"]
            task = await wait_task(http, tenant_a, ex, "operator")
            for _ in range(100):
                if len(smtp.mails) >= 2:
                    break
                await asyncio.sleep(0.1)
            by_rcpt = {m.rcpt_tos[0]: m for m in smtp.mails}
            assert set(by_rcpt) == {op.email, dev.email}, by_rcpt.keys()
            mail = by_rcpt[dev.email]
            assert mail.message["Subject"] == "Approval needed: Approve order N-1"
            body = mail.body()
            assert "Total 12" in body and "expire in 2 hours" in body
            approve = re.search(r"Approve: (\S+)", body).group(1)
            assert approve.startswith(f"http://test/api/v1/tasks/{task['id']}/act?token=")
            # the developer's link carries the developer role, through which they are an assignee
            token = approve.split("token=", 1)[1]
            r = await http.post(f"/api/v1/tasks/{task['id']}/act", data={"token": token})
            assert r.status_code == 200, r.text
            out = (await wait_execution(http, tenant_a, ex))["output"]
            assert out == {"ok": True, "by": dev.email, "data": None}
            assert len(smtp.mails) == 2  # nobody was mailed twice
