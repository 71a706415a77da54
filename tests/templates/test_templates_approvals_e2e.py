"""Approval-driven templates end to end: people decide through the engine's `approval.decide` Update (what the task
inbox API sends), timeouts run on real timers. Same worker/peers setup as test_templates_e2e."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import pytest_asyncio
from temporalio.client import WorkflowFailureError

from api import templates as catalog
from wfo.executions import start_execution
from wfo.settings import Settings
from worker.main import build_worker
from workflows.types import APPROVALS_QUERY, DECIDE_UPDATE, Decision

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture(scope="module")
async def env(temporal_env, database_url, smtp):
    settings = Settings(
        environment="test", database_url=database_url,
        temporal_address=temporal_env.client.service_client.config.target_host,
        temporal_task_queue=f"tpla-{uuid.uuid4().hex[:10]}", http_allow_private_networks=True,
        smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_sender="flows@wfo.test",
    )
    async with build_worker(temporal_env.client, settings):
        yield settings


async def start(env, client, template_id, parameters, input=None):
    definition = catalog.instantiate(template_id, parameters)
    return await start_execution(client, definition=definition, input=input, task_queue=env.temporal_task_queue,
                                 started_by="requester@corp.test")


async def open_task(handle, node_id: str) -> dict:
    for _ in range(200):
        tasks = await handle.query(APPROVALS_QUERY)
        for t in tasks:
            if t["node_id"] == node_id and t["status"] == "pending":
                return t
        await asyncio.sleep(0.05)
    raise AssertionError(f"no open approval task for {node_id}")


async def decide(handle, node_id: str, decision: str, **who) -> dict:
    task = await open_task(handle, node_id)
    return await handle.execute_update(DECIDE_UPDATE, Decision(task_id=task["task_id"], decision=decision, **who))


async def result(handle):
    return await asyncio.wait_for(handle.result(), timeout=60)


def mails_to(smtp, addr):
    return [m for m in smtp.mails if addr in m.rcpt_tos]


async def test_invoice_approved_and_rejected(env, client, web, smtp):
    web.routes[("POST", "/erp/payments")] = (201, {"id": "PAY-1"})
    params = {"erp_base_url": f"{web.url}/erp", "ap_email": "ap@corp.test", "approval_threshold": 1000}
    invoice = {"number": "INV-9", "vendor": "Initech", "amount": 2500, "currency": "EUR",
               "lines": [{"quantity": 100, "unit_price": 25}]}
    h = await start(env, client, "invoice-approval", params, {"invoice": invoice})
    task = await open_task(h, "approve")
    assert task["title"] == "Approve invoice INV-9 from Initech" and task["assignees"]["roles"] == ["finance_manager"]
    await decide(h, "approve", "approved", user_email="fm@corp.test", roles=["finance_manager"],
                 data={"cost_center": "R&D"})
    out = await result(h)
    assert out["status"] == "paid" and out["payment_id"] == "PAY-1"
    assert out["approval"]["decision"] == "approved" and out["approval"]["decided_by"] == "fm@corp.test"
    assert web.calls("POST", "/erp/payments")[0].body == {"invoice": "INV-9", "vendor": "Initech", "amount": 2500,
                                                          "currency": "EUR"}

    h = await start(env, client, "invoice-approval", params, {"invoice": {**invoice, "number": "INV-10"}})
    await decide(h, "approve", "rejected", user_email="fm@corp.test", roles=["finance_manager"], comment="no PO")
    assert await result(h) == {"status": "rejected", "invoice": "INV-10"}
    assert len(web.calls("POST", "/erp/payments")) == 1
    assert any(m.message["Subject"] == "Invoice INV-10 was not approved" for m in mails_to(smtp, "ap@corp.test"))

    small = await start(env, client, "invoice-approval", params, {"invoice": {**invoice, "number": "INV-11",
                                                                             "amount": 50, "lines": []}})
    assert (await result(small))["status"] == "paid"  # under the threshold: no approval


async def test_incident_high_severity_escalates_on_timeout(env, client, web, smtp):
    web.routes[("POST", "/tickets")] = (201, {"id": "T-1"})
    params = {"oncall_primary": "p@ops.test", "oncall_secondary": "s@ops.test", "manager_email": "m@ops.test",
              "status_page_url": f"{web.url}/status", "ticket_url": f"{web.url}/tickets", "ack_timeout": "PT1S"}
    h = await start(env, client, "incident-escalation", params,
                    {"alert": {"id": "A-7", "title": "Latency", "severity": "high", "service": "api"}})
    # nobody acknowledges within 1s: the secondary is paged and acknowledges
    task = await open_task(h, "ack_secondary")
    assert task["assignees"]["users"] == ["s@ops.test"]
    await decide(h, "ack_secondary", "approved", user_email="s@ops.test")
    out = await result(h)
    assert out["status"] == "acknowledged" and out["by"]["decided_by"] == "s@ops.test"
    assert mails_to(smtp, "p@ops.test")[0].message["Subject"] == "[HIGH] Latency (api)"
    assert mails_to(smtp, "s@ops.test")[0].message["Subject"] == "[ESCALATED] Latency (api)"
    assert mails_to(smtp, "m@ops.test") == []


async def test_cicd_deploy_healthy_and_rolled_back(env, client, web, smtp):
    web.routes[("GET", "/ci/builds/abc123")] = (200, {"status": "success", "url": "https://ci.test/1"})
    health = {"n": 0}

    def probe(req):
        health["n"] += 1
        return (200, {"ok": True}) if health["n"] >= 2 else (503, {"ok": False})

    web.routes[("GET", "/app/health")] = probe
    web.routes[("POST", "/deploy")] = (202, {"deployment": "D-1"})
    params = {"ci_url": f"{web.url}/ci", "deploy_url": f"{web.url}/deploy", "health_url": f"{web.url}/app/health",
              "rollback_url": f"{web.url}/rollback", "notify_email": "rel@corp.test", "health_checks": 3,
              "health_interval": "PT0.2S"}
    change = {"service": "api", "version": "1.2.3", "commit": "abc123"}
    h = await start(env, client, "cicd-deploy-approval", params, change)
    await decide(h, "approve", "approved", user_email="rm@corp.test", roles=["release_manager"])
    out = await result(h)
    assert out == {"status": "deployed", "deployment": {"deployment": "D-1"}, "health_checks": 2}
    assert web.calls("POST", "/deploy")[0].body == {"service": "api", "version": "1.2.3", "environment": "production"}

    web.routes[("GET", "/app/health")] = (503, {"ok": False})
    h = await start(env, client, "cicd-deploy-approval", params, change)
    await decide(h, "approve", "approved", user_email="rm@corp.test", roles=["release_manager"])
    with pytest.raises(WorkflowFailureError) as info:
        await result(h)
    assert "rolled back" in str(info.value.cause)
    assert web.calls("POST", "/rollback")[0].body == {"service": "api", "environment": "production"}
    assert any(m.message["Subject"].startswith("ROLLED BACK") for m in mails_to(smtp, "rel@corp.test"))

    # the requester may not approve their own deployment (engine rule); not an assignee is refused too
    h = await start(env, client, "cicd-deploy-approval", params, change)
    task = await open_task(h, "approve")
    for who in ({"user_email": "requester@corp.test", "roles": ["release_manager"]},
                {"user_email": "dev@corp.test", "roles": ["developer"]}):
        with pytest.raises(Exception):
            await h.execute_update(DECIDE_UPDATE, Decision(task_id=task["task_id"], decision="approved", **who))
    await decide(h, "approve", "rejected", user_email="rm@corp.test", roles=["release_manager"])
    assert await result(h) == {"status": "cancelled"}


async def test_content_publishing_review_then_parallel_promotion(env, client, web, smtp):
    web.routes[("POST", "/cms/posts")] = (201, {"id": 42, "url": "https://blog.test/p/42"})
    params = {"cms_base_url": f"{web.url}/cms", "social_webhook_url": f"{web.url}/social",
              "newsletter_email": "news@corp.test", "min_words": 5}
    post = {"title": "Durable workflows", "body": "Temporal keeps our workflows running for days.",
            "summary": "Why durability matters", "author_email": "writer@corp.test", "tags": ["eng"]}
    h = await start(env, client, "content-publishing", params, post)
    await decide(h, "review", "approved", user_email="ed@corp.test", roles=["editor"])
    out = await result(h)
    assert out == {"status": "published", "post_id": 42, "url": "https://blog.test/p/42"}
    assert web.calls("POST", "/social")[0].body == {"text": "New on The Blog: Durable workflows https://blog.test/p/42"}
    [news] = mails_to(smtp, "news@corp.test")
    assert 'href="https://blog.test/p/42"' in news.body("html")

    short = await start(env, client, "content-publishing", params, {**post, "body": "Too short", "summary": None})
    returned = await result(short)
    assert returned["status"] == "returned_to_author" and len(returned["problems"]) == 2


async def test_expense_manager_then_finance(env, client, web, smtp):
    web.routes[("POST", "/payroll/reimbursements")] = (201, {"id": "RB-2"})
    h = await start(env, client, "expense-approval", {"payroll_url": f"{web.url}/payroll"}, {"expense": {
        "employee_email": "kim@corp.test", "amount": 3000, "category": "equipment", "description": "Laptop",
        "receipt_url": "https://files.test/l.pdf"}})
    await decide(h, "manager_approval", "approved", user_email="boss@corp.test", roles=["manager"])
    await decide(h, "finance_approval", "approved", user_email="cfo@corp.test", roles=["finance"])
    out = await result(h)
    assert out == {"status": "reimbursed", "amount": 3000, "reimbursement_id": "RB-2", "auto_approved": False}
