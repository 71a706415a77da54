"""Templates run end to end: instantiated from their parameters, executed by the real interpreter and worker on the
Temporal dev server, against local peers (an HTTP service on 127.0.0.1, the local Postgres, an aiosmtpd server)."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
import pytest_asyncio
from temporalio.client import WorkflowFailureError

from api import templates as catalog
from tests.localpeers import SmtpSink
from wfo.executions import start_execution
from wfo.settings import Settings
from worker.main import build_worker

pytestmark = pytest.mark.asyncio

SECRET = "TPL_E2E_DB"


@pytest_asyncio.fixture(scope="module")
async def env(temporal_env, database_url, smtp, web):
    """One worker for the module, with SMTP pointing at the sink and the test database behind secret://TPL_E2E_DB."""
    settings = Settings(
        environment="test", database_url=database_url,
        temporal_address=temporal_env.client.service_client.config.target_host,
        temporal_task_queue=f"tpl-{uuid.uuid4().hex[:10]}", http_allow_private_networks=True,
        smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_sender="flows@wfo.test",
    )
    mp = pytest.MonkeyPatch()
    mp.setenv(f"WFO_SECRET_{SECRET}", database_url)
    try:
        async with build_worker(temporal_env.client, settings):
            yield settings
    finally:
        mp.undo()


@pytest_asyncio.fixture
async def db(database_url):
    conn = await asyncpg.connect(database_url)
    try:
        yield conn
    finally:
        await conn.close()


async def run(env, client, template_id: str, parameters: dict, input=None, *, fail: bool = False):
    definition = catalog.instantiate(template_id, parameters)
    handle = await start_execution(client, definition=definition, input=input, task_queue=env.temporal_task_queue,
                                   trigger="test")
    if fail:
        with pytest.raises(WorkflowFailureError) as info:
            await asyncio.wait_for(handle.result(), timeout=60)
        return info.value.cause
    return await asyncio.wait_for(handle.result(), timeout=60)


def mails_to(smtp: SmtpSink, addr: str):
    return [m for m in smtp.mails if addr in m.rcpt_tos]


def table() -> str:
    return f"t_{uuid.uuid4().hex[:10]}"


# ------------------------------------------------------------------------------------------------ HTTP + email

async def test_lead_routing(env, client, web, smtp):
    web.routes[("POST", "/crm/leads")] = lambda req: (201, {"id": f"L-{len(web.calls('POST', '/crm/leads'))}"})
    owners = {"emea": "emea@sales.test", "amer": "amer@sales.test", "apac": "apac@sales.test", "other": "rest@sales.test"}
    params = {"crm_base_url": f"{web.url}/crm", "region_owners": owners}
    hot = await run(env, client, "lead-routing", params, {"email": " Ada@Example.ORG ", "name": "Ada",
                    "company": "Analytical Engines", "country": "gb", "employees": 1200, "source": "demo_request"})
    assert hot == {"status": "routed", "lead_id": "L-1", "owner": "emea@sales.test", "region": "emea", "score": 90,
                   "hot": True}
    sent = web.calls("POST", "/crm/leads")[0]
    assert sent.body["email"] == "ada@example.org" and sent.body["owner"] == "emea@sales.test"
    assert sent.headers["idempotency-key"]
    [mail] = mails_to(smtp, "emea@sales.test")
    assert mail.message["Subject"] == "Hot lead (90): Analytical Engines"

    cold = await run(env, client, "lead-routing", params, {"email": "bo@small.example", "country": "BR", "employees": 5})
    assert cold["region"] == "amer" and cold["score"] == 20 and cold["hot"] is False
    assert mails_to(smtp, "amer@sales.test") == []
    other = await run(env, client, "lead-routing", params, {"email": "x@y.example", "country": "XX"})
    assert other["owner"] == "rest@sales.test"
    discarded = await run(env, client, "lead-routing", params, {"email": "not-an-email"})
    assert discarded["status"] == "discarded"


async def test_order_processing_success_and_compensation(env, client, web, smtp):
    web.routes[("POST", "/inv/reservations")] = (201, {"id": "R-9"})
    web.routes[("POST", "/pay/charges")] = lambda req: (
        (402, {"error": "card declined"}) if req.body["customer"] == "broke@example.com" else (201, {"id": "CH-1"}))
    web.routes[("POST", "/ship/shipments")] = (201, {"tracking_number": "1Z999"})
    params = {"inventory_url": f"{web.url}/inv", "payment_url": f"{web.url}/pay", "shipping_url": f"{web.url}/ship",
              "ops_email": "ops@shop.test", "store_name": "Donut Shop"}
    order = {"id": "SO-1", "customer": {"name": "Marge", "email": "marge@example.com"},
             "items": [{"sku": "DONUT", "qty": 12, "price": 1.5}, {"sku": "COFFEE", "qty": 2, "price": 3.25}],
             "shipping_address": {"city": "Springfield"}}
    ok = await run(env, client, "order-processing", params, {"order": order})
    assert ok == {"status": "confirmed", "order_id": "SO-1", "amount": 24.5, "charge_id": "CH-1",
                  "tracking_number": "1Z999"}
    assert web.calls("POST", "/inv/reservations")[0].body["items"] == [{"sku": "DONUT", "qty": 12},
                                                                       {"sku": "COFFEE", "qty": 2}]
    [confirm] = mails_to(smtp, "marge@example.com")
    assert "1Z999" in confirm.body() and confirm.message["From"] == "Donut Shop <flows@wfo.test>"

    declined = await run(env, client, "order-processing", params,
                         {"order": {**order, "id": "SO-2", "customer": {"name": "B", "email": "broke@example.com"}}})
    assert declined["status"] == "payment_failed" and "402" in declined["reason"]
    assert len(web.calls("POST", "/pay/charges")) == 2  # 402 is not retried
    assert [r.path for r in web.calls("DELETE", "/inv/reservations/R-9")] == ["/inv/reservations/R-9"]
    assert len(web.calls("POST", "/ship/shipments")) == 1
    assert "failed" in mails_to(smtp, "broke@example.com")[0].message["Subject"]

    held = await run(env, client, "order-processing", params,
                     {"order": {**order, "id": "SO-3", "items": [{"sku": "GOLD", "qty": 1, "price": 9000}]}})
    assert held["status"] == "on_hold" and mails_to(smtp, "ops@shop.test")


async def test_client_onboarding_parallel_and_wait(env, client, web, smtp):
    web.routes[("POST", "/crm/accounts")] = (201, {"id": "ACC-7"})
    web.routes[("POST", "/prov/workspaces")] = (202, {"workspace": "globex", "url": "https://globex.app.test"})
    out = await run(env, client, "client-onboarding", {
        "crm_base_url": f"{web.url}/crm", "provisioning_url": f"{web.url}/prov",
        "account_manager_email": "am@acme.test", "company_name": "Acme", "kickoff_delay": "PT1S"},
        {"company": "Globex", "contact_name": "Hank", "contact_email": "hank@globex.test", "plan": "pro"})
    assert out["status"] == "onboarded" and out["account_id"] == "ACC-7"
    assert out["workspace"] == {"workspace": "globex", "url": "https://globex.app.test"}
    to_hank = mails_to(smtp, "hank@globex.test")
    assert sorted(m.message["Subject"] for m in to_hank) == ["Let's schedule your kickoff, Globex",
                                                             "Welcome to Acme, Hank!"]
    assert {m.message["Message-ID"] for m in to_hank} == {out["welcome_message_id"], out["kickoff_message_id"]}
    kickoff = next(m for m in to_hank if "kickoff" in m.message["Subject"])
    assert "am@acme.test" in kickoff.rcpt_tos  # cc
    assert web.calls("POST", "/prov/workspaces")[0].body["account_id"] == "ACC-7"

    bad = await run(env, client, "client-onboarding", {
        "crm_base_url": f"{web.url}/crm", "provisioning_url": f"{web.url}/prov", "account_manager_email": "am@acme.test"},
        {"company": "X", "contact_email": "x@x.test", "plan": "platinum"}, fail=True)
    assert "invalid client data" in str(bad)


async def test_incident_escalation_critical_and_low(env, client, web, smtp):
    web.routes[("POST", "/status/incidents")] = (201, {"id": "INC-1"})
    web.routes[("POST", "/tickets")] = (201, {"id": "T-100"})
    params = {"oncall_primary": "p@ops.test", "oncall_secondary": "s@ops.test", "manager_email": "m@ops.test",
              "status_page_url": f"{web.url}/status", "ticket_url": f"{web.url}/tickets"}
    crit = await run(env, client, "incident-escalation", params,
                     {"alert": {"id": "A-1", "title": "DB down", "severity": "CRITICAL", "service": "db"}})
    assert crit == {"status": "ticketed", "alert_id": "A-1", "ticket_id": "T-100", "severity": "critical",
                    "status_page_incident": "INC-1"}
    for who in ("p@ops.test", "s@ops.test", "m@ops.test"):
        assert mails_to(smtp, who)[0].message["Subject"] == "[CRITICAL] DB down (db)"
    n_mails = len(smtp.mails)
    low = await run(env, client, "incident-escalation", params,
                    {"alert": {"id": "A-2", "title": "Disk 80%", "severity": "warning", "service": "db"}})
    assert low["status"] == "ticketed" and low["severity"] == "warning" and low["status_page_incident"] is None
    assert len(smtp.mails) == n_mails  # nobody paged
    assert web.calls("POST", "/tickets")[-1].body["alert_id"] == "A-2"


async def test_expense_auto_approved_and_policy_violation(env, client, web, smtp):
    web.routes[("POST", "/payroll/reimbursements")] = (201, {"id": "RB-1"})
    params = {"payroll_url": f"{web.url}/payroll"}
    ok = await run(env, client, "expense-approval", params, {"expense": {
        "employee_email": "sam@corp.test", "amount": 42.5, "category": "meals", "description": "Team lunch",
        "receipt_url": "https://files.test/r.jpg"}})
    assert ok == {"status": "reimbursed", "amount": 42.5, "reimbursement_id": "RB-1", "auto_approved": True}
    assert web.calls("POST", "/payroll/reimbursements")[0].body["employee"] == "sam@corp.test"
    bad = await run(env, client, "expense-approval", params, {"expense": {
        "employee_email": "lee@corp.test", "amount": 60, "category": "casino", "description": "Fun"}})
    assert bad["status"] == "returned"
    assert bad["violations"] == ["category casino is not reimbursable", "a receipt is required above 25"]
    [mail] = mails_to(smtp, "lee@corp.test")
    assert "- category casino is not reimbursable" in mail.body()


async def test_api_sync_map_children(env, client, web):
    web.routes[("GET", "/src/contacts")] = (200, {"items": [
        {"id": 1, "name": "Ann", "email": "ann@x.test", "secret_field": "s"},
        {"id": 2, "name": "Bob", "email": "bob@x.test"},
        {"id": 3, "name": "Bad", "email": "bad"}]})
    web.routes[("PUT", "/dst/subscribers/3")] = (422, {"error": "invalid email"})
    out = await run(env, client, "api-sync", {"source_url": f"{web.url}/src/contacts",
                                              "target_url": f"{web.url}/dst/subscribers", "concurrency": 2})
    assert out["fetched"] == 3 and out["synced"] == 2
    assert [f["id"] for f in out["failed"]] == ["3"] and "422" in out["failed"][0]["error"]
    assert web.calls("PUT", "/dst/subscribers/1")[0].body == {"id": "1", "name": "Ann", "email": "ann@x.test"}


# ------------------------------------------------------------------------------------------------ Postgres

async def test_feedback_triage(env, client, web, smtp, db):
    web.routes[("POST", "/help/tickets")] = (201, {"id": 555})
    tbl = table()
    params = {"connection": f"secret://{SECRET}", "feedback_table": tbl, "helpdesk_url": f"{web.url}/help",
              "support_email": "support@corp.test"}
    neg = await run(env, client, "feedback-triage", params, {"customer_email": "pat@x.test", "rating": 1,
                    "comment": "App is SLOW and broken, I want a refund", "channel": "app"})
    assert neg["sentiment"] == "negative" and neg["urgent"] is True and neg["ticket_id"] == 555
    row = await db.fetchrow(f"SELECT * FROM {tbl} WHERE id = $1", neg["feedback_id"])
    assert row["sentiment"] == "negative" and row["ticket_id"] == "555"
    assert sorted(row["keywords"]) == ["broken", "refund", "slow"]
    assert web.calls("POST", "/help/tickets")[0].body["priority"] == "urgent"
    assert mails_to(smtp, "support@corp.test")[0].message["Subject"].startswith("[URGENT] Negative feedback (1/5)")

    pos = await run(env, client, "feedback-triage", params, {"customer_email": "joy@x.test", "rating": 5,
                    "comment": "Love it"})
    assert pos["sentiment"] == "positive" and pos["ticket_id"] is None
    assert mails_to(smtp, "joy@x.test")[0].message["Subject"] == "Thank you for your feedback!"
    assert await db.fetchval(f"SELECT count(*) FROM {tbl}") == 2


async def test_data_quality_check(env, client, smtp, db):
    tbl = table()
    await db.execute(f"CREATE TABLE {tbl} (id int, customer_id int, total numeric, created_at timestamptz)")
    await db.execute(f"INSERT INTO {tbl} VALUES (1, 10, 5, now() - interval '3 days'), (1, NULL, 6, now() - interval '2 days'),"
                     f" (2, 11, NULL, now() - interval '2 days'), (3, 12, 7, now() - interval '2 days')")
    params = {"connection": f"secret://{SECRET}", "table": tbl, "key_column": "id",
              "required_columns": ["customer_id", "total"], "freshness_column": "created_at",
              "max_null_ratio": 0.2, "max_age_hours": 24, "alert_emails": ["data@corp.test"]}
    out = await run(env, client, "data-quality-check", params)
    assert out["passed"] is False and out["rows"] == 4
    assert sorted((f["check"], f.get("column")) for f in out["failures"]) == [
        ("duplicates", "id"), ("freshness", None), ("nulls", "customer_id"), ("nulls", "total")]
    [alert] = mails_to(smtp, "data@corp.test")
    assert alert.message["Subject"] == f"Data quality: 4 check(s) failed on {tbl}"
    assert "customer_id is null in 1 of 4 rows" in alert.body()

    good = table()
    await db.execute(f"CREATE TABLE {good} (id int, customer_id int, total numeric, created_at timestamptz)")
    await db.execute(f"INSERT INTO {good} VALUES (1, 10, 5, now()), (2, 11, 6, now())")
    out = await run(env, client, "data-quality-check", {**params, "table": good})
    assert out == {"table": good, "rows": 2, "passed": True, "failures": []}

    failed = await run(env, client, "data-quality-check", {**params, "fail_on_problems": True}, fail=True)
    assert "data quality checks failed" in str(failed)


async def test_scheduled_report(env, client, smtp, db):
    tbl = table()
    await db.execute(f"CREATE TABLE {tbl} (region text, revenue numeric)")
    await db.execute(f"INSERT INTO {tbl} VALUES ('north', 10.5), ('<south>', 20)")
    params = {"connection": f"secret://{SECRET}", "report_title": "Revenue & regions",
              "report_query": f"SELECT region, revenue FROM {tbl} WHERE revenue > $1 ORDER BY region",
              "query_params": [1], "recipients": ["boss@corp.test", "cfo@corp.test"]}
    out = await run(env, client, "scheduled-report", params)
    assert out["status"] == "sent" and out["rows"] == 2 and out["recipients"] == ["boss@corp.test", "cfo@corp.test"]
    [mail] = mails_to(smtp, "cfo@corp.test")
    assert mail.message["Subject"].startswith("Revenue & regions (20")
    html = mail.body("html")
    assert "<h2>Revenue &amp; regions</h2>" in html and "<td>&lt;south&gt;</td><td>20</td>" in html
    assert "<th>region</th><th>revenue</th>" in html
    assert "north\t10.5" in mail.body("plain")

    empty = await run(env, client, "scheduled-report", {**params, "query_params": [1000]})
    assert empty == {"status": "skipped", "rows": 0}


async def test_etl_pipeline(env, client, smtp, db):
    src, dst = table(), table()
    await db.execute(f"CREATE TABLE {src} (id int, email text, created_at timestamptz)")
    await db.execute(f"INSERT INTO {src} VALUES (1, 'A@X.TEST', '2024-01-01T00:00:00Z'), (2, 'b@x.test', '2024-01-02T00:00:00Z')")
    await db.execute(f"CREATE TABLE {dst} (id int PRIMARY KEY, email text NOT NULL, signed_up_at timestamptz, "
                     f"loaded_at timestamptz DEFAULT now())")
    params = {"source_connection": f"secret://{SECRET}", "target_connection": f"secret://{SECRET}",
              "extract_query": f"SELECT id, email, created_at FROM {src} WHERE id >= $1 ORDER BY id", "extract_params": [0],
              "transform_expression": "{ 'id': id, 'email': $lowercase(email), 'signed_up_at': created_at }",
              "target_table": dst, "target_columns": ["id", "email", "signed_up_at"], "notify_email": "data@corp.test"}
    out = await run(env, client, "etl-pipeline", params)
    assert out == {"status": "loaded", "extracted": 2, "loaded": 2, "truncated": False}
    rows = await db.fetch(f"SELECT id, email, signed_up_at, loaded_at FROM {dst} ORDER BY id")
    assert [r["email"] for r in rows] == ["a@x.test", "b@x.test"] and all(r["loaded_at"] for r in rows)
    again = await run(env, client, "etl-pipeline", params)  # idempotent
    assert again["loaded"] == 0
    assert any("2 new rows" in m.message["Subject"] for m in mails_to(smtp, "data@corp.test"))


async def test_backup_verification(env, client, web, smtp, db):
    t1, t2 = table(), table()
    await db.execute(f"CREATE TABLE {t1} (x int); INSERT INTO {t1} SELECT generate_series(1, 7)")
    await db.execute(f"CREATE TABLE {t2} (x int); INSERT INTO {t2} SELECT generate_series(1, 3)")
    polls = {"n": 0}

    def status(req):
        polls["n"] += 1
        if polls["n"] < 2:
            return 200, {"id": "B-1", "state": "running"}
        return 200, {"id": "B-1", "state": "completed", "tables": {t1: 7, t2: 3}}

    web.routes[("POST", "/backup/backups")] = (202, {"id": "B-1"})
    web.routes[("GET", "/backup/backups/B-1")] = status
    params = {"connection": f"secret://{SECRET}", "backup_api_url": f"{web.url}/backup", "tables": [t1, t2],
              "poll_interval": "PT0.2S", "max_polls": 10, "notify_email": "dba@corp.test"}
    out = await run(env, client, "backup-verification", params)
    assert out == {"backup_id": "B-1", "state": "completed", "ok": True, "tables": 2, "mismatches": []}
    assert polls["n"] == 2
    assert web.calls("POST", "/backup/backups")[0].body == {"kind": "full", "tables": [t1, t2]}

    web.routes[("GET", "/backup/backups/B-1")] = (200, {"id": "B-1", "state": "completed", "tables": {t1: 7, t2: 2}})
    cause = await run(env, client, "backup-verification", params, fail=True)
    assert "failed verification" in str(cause)
    assert any("FAILED" in m.message["Subject"] for m in mails_to(smtp, "dba@corp.test"))


async def test_document_processing(env, client, web, smtp, db):
    web.routes[("POST", "/extract")] = lambda req: (200, {
        "fields": {"total": 99.5, "vendor": "Initech"},
        "confidence": 0.95 if req.body["url"].endswith("good.pdf") else 0.5})
    tbl = table()
    params = {"extraction_api_url": f"{web.url}/extract", "connection": f"secret://{SECRET}", "documents_table": tbl,
              "reviewer_email": "review@corp.test"}
    good = await run(env, client, "document-processing", params,
                     {"document_url": "https://files.test/good.pdf", "document_type": "invoice"})
    assert good["status"] == "processed" and good["fields"] == {"total": 99.5, "vendor": "Initech"}
    unsure = await run(env, client, "document-processing", params,
                       {"document_url": "https://files.test/blurry.pdf", "document_type": "receipt"})
    assert unsure["status"] == "needs_review"
    rows = await db.fetch(f"SELECT id, status, fields FROM {tbl} ORDER BY id")
    assert [(r["id"], r["status"]) for r in rows] == [(good["document_id"], "processed"),
                                                      (unsure["document_id"], "needs_review")]
    [mail] = mails_to(smtp, "review@corp.test")
    assert mail.message["Subject"] == f"Please review receipt #{unsure['document_id']}"
    other = await run(env, client, "document-processing", params, {"document_url": "x", "document_type": "poem"})
    assert other == {"status": "unsupported", "document_type": "poem"}


def _decoded(obj) -> str:
    """History JSON with every payload's base64 `data` decoded, as one string."""
    import base64
    import json

    out: list[str] = []

    def walk(v):
        if isinstance(v, dict):
            for k, x in v.items():
                if k == "data" and isinstance(x, str):
                    try:
                        out.append(base64.b64decode(x).decode(errors="replace"))
                    except ValueError:
                        out.append(x)
                else:
                    walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(obj)
    return json.dumps(obj) + "\n".join(out)


async def test_connection_secret_never_enters_history(env, client, db, database_url):
    tbl = table()
    await db.execute(f"CREATE TABLE {tbl} (a int); INSERT INTO {tbl} VALUES (1)")
    definition = catalog.instantiate("scheduled-report", {
        "connection": f"secret://{SECRET}", "report_title": "t", "report_query": f"SELECT a FROM {tbl}",
        "recipients": ["x@corp.test"]})
    handle = await start_execution(client, definition=definition, input=None, task_queue=env.temporal_task_queue)
    await asyncio.wait_for(handle.result(), timeout=60)
    history = _decoded((await handle.fetch_history()).to_json_dict())
    assert f"secret://{SECRET}" in history
    assert database_url not in history and database_url.split("@")[-1] not in history
