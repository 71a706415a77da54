"""n8n-format workflows (tests/n8n/fixtures, written for these tests) imported and RUN on our engine.

Each expected output is written by hand from n8n's semantics (items, per-item evaluation, IF/Switch
outputs by index, Merge waiting for its inputs, Loop Over Items batches...), not from our output.
Real Temporal dev server, real Postgres, a local HTTP server and a local SMTP server.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import WorkflowFailureError

from connectors.registry import default_registry
from tests.localpeers import HttpSink, SmtpSink
from wfo.executions import start_execution
from worker.main import build_worker
from workflows.n8n_import import import_n8n
from workflows.validation import validate_definition

REGISTRY = default_registry()
FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def imported(name: str) -> dict[str, Any]:
    result = import_n8n(load(name))
    assert result.untranslatable == []
    problems = validate_definition(result.definition, REGISTRY)
    assert problems == [], [str(p) for p in problems]
    return result.definition


@pytest.fixture
def smtp():
    with SmtpSink() as sink:
        yield sink


@pytest_asyncio.fixture
async def run(temporal_env, settings, smtp):
    client = temporal_env.client
    cfg = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": smtp.port,
                                      "smtp_sender": "flows@wfo.test"})

    async def _run(definition: dict[str, Any], input: Any = None, trigger: str = "manual") -> Any:
        handle = await start_execution(client, definition=definition, input=input,
                                       task_queue=settings.temporal_task_queue, trigger=trigger)
        return await asyncio.wait_for(handle.result(), timeout=60)

    async with build_worker(client, cfg):
        yield _run


def webhook_input(body: Any, query: dict[str, Any] | None = None) -> dict[str, Any]:
    """What our webhook trigger passes as execution input."""
    return {"body": body, "headers": {"content-type": "application/json"}, "query": query or {}, "method": "POST",
            "content_type": "application/json"}


async def test_order_routing_if_branches_converge(run):
    """Webhook -> Set -> IF; both branches reach `Tag Source` (unrolled per path)."""
    d = imported("order_routing")
    big = await run(d, webhook_input({"customer": {"name": "Ann"}, "qty": 3, "price": 500}, {"src": "app"}))
    assert big == [{"customer": "Ann", "total": 1500, "currency": "EUR", "route": "review",
                    "note": "Check Ann (1500 EUR)", "source": "app"}]
    small = await run(d, webhook_input({"customer": {"name": "Bob"}, "qty": 1, "price": 20}))
    assert small == [{"customer": "Bob", "total": 20, "currency": "EUR", "route": "auto", "approved": True,
                      "source": "web"}]


async def test_switch_rules_fallback_and_merge_of_three_inputs(run):
    items = [{"id": 1, "severity": "CRITICAL", "title": "db down", "customer_tier": "gold"},
             {"id": 2, "severity": "low", "title": "typo", "customer_tier": "gold"},
             {"id": 3, "severity": "high", "title": "slow", "customer_tier": "silver"},
             {"id": 4, "severity": "low", "title": "color", "customer_tier": "free"}]
    out = await run(imported("switch_merge"), items)
    # rule 1 is case-insensitive; an item goes to the first matching rule; unmatched -> fallback (extra output)
    assert out == [
        {**items[0], "queue": "oncall", "sla_hours": 1},
        {**items[1], "queue": "fast", "sla_hours": 4},
        {**items[2], "queue": "fast", "sla_hours": 8},
        {"id": 4, "queue": "backlog", "title": "COLOR"},
    ]


async def test_filter_sort_limit_aggregate(run):
    items = [{"id": 1, "status": "paid", "amount": 50}, {"id": 2, "status": "open", "amount": 500},
             {"id": 3, "status": "paid", "amount": 120}, {"id": 4, "status": "paid", "amount": 0},
             {"id": 5, "status": "paid", "amount": 120}, {"id": 6, "status": "paid", "amount": 80}]
    out = await run(imported("items_pipeline"), items)
    assert out == [{"ids": [3, 5, 6], "amount": [120, 120, 80], "count": 3, "label": "Top 3, 5, 6 of 4 paid",
                    "largest": 120}]


async def test_split_out_remove_duplicates_sort_aggregate_all(run):
    order = {"order_id": "A7", "lines": [{"sku": "b-2", "qty": 2, "unit_price": 5},
                                         {"sku": "a-1", "qty": 1, "unit_price": 10},
                                         {"sku": "b-2", "qty": 1, "unit_price": 5}]}
    out = await run(imported("split_dedupe"), order)
    # the second b-2 line is a duplicate by `sku` (the first occurrence is kept)
    assert out == [{"lines": [{"order": "A7", "sku": "a-1", "line_total": 10},
                              {"order": "A7", "sku": "b-2", "line_total": 10}]}]


async def test_loop_over_items_in_batches(run):
    people = [{"name": "Ann", "email": " ANN@X.io "}, {"name": "Bob", "email": "bob@x.io"},
              {"name": "Cy", "email": "Cy@X.io"}]
    out = await run(imported("loop_batches"), people)
    # batches of 2: [Ann, Bob], [Cy]; `done` emits every item that came back into the loop
    assert out == [{"email": ["ann@x.io", "bob@x.io", "cy@x.io"], "first_in_batch": ["Ann", "Ann", "Cy"]}]


async def test_http_request_and_error_output(run):
    routes = {("GET", "/users/7"): (200, {"id": 7, "name": "Ann", "roles": ["dev", "admin"]}),
              ("POST", "/audit"): (500, {"error": "audit store down"})}
    with HttpSink(routes=routes) as api:
        out = await run(imported("http_enrich"), {"api": api.url, "user_id": 7, "trace": "t-1"})
        (get,) = api.calls("GET", "/users/7")
        assert get.target == "/users/7?expand=roles&trace=t-1"
        assert get.headers["x-request-id"] == "req-t-1"
        (post,) = api.calls("POST", "/audit")  # onError: no retry unless retryOnFail
        assert post.body == {"user": "Ann", "admin": True}
    assert len(out) == 1
    assert out[0]["audit"] == "failed" and out[0]["user"] == "Ann"
    assert "500" in out[0]["reason"]


async def test_http_success_output(run):
    routes = {("GET", "/users/8"): (200, {"id": 8, "name": "Bo", "roles": []}),
              ("POST", "/audit"): (201, {"stored": True})}
    with HttpSink(routes=routes) as api:
        out = await run(imported("http_enrich"), {"api": api.url, "user_id": 8, "trace": "t-2"})
    # the audit response body becomes the item; Audited adds `audit`
    assert out == [{"stored": True, "audit": "ok"}]


async def test_postgres_query_rows_become_items(run, database_url, monkeypatch):
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://")
    monkeypatch.setenv("WFO_SECRET_REPORTING_DB", dsn)
    result = import_n8n(load("postgres_report"))
    assert result.triggers == [{"kind": "webhook", "name": "Webhook", "response_mode": "sync",
                                "n8n_node": "Webhook"}]
    d = imported("postgres_report")
    out = await run(d, webhook_input({"n": 6, "who": "ann", "rows": 3}))
    # 3 rows -> 3 items; IF keeps n >= 2 (true output only is connected)
    assert out == [{"msg": "ANN: 12 (row 2)"}, {"msg": "ANN: 12 (row 3)"}]


async def test_send_email(run, smtp):
    out = await run(imported("email_notify"), webhook_input({"email": "ann@example.com", "name": "Ann Lee"}))
    assert out == [{"sent_to": "ann@example.com", "plan": "free"}]
    (mail,) = smtp.mails
    assert mail.message["Subject"] == "Welcome, Ann!"
    assert mail.message["Reply-To"] == "support@example.com"
    assert mail.body("plain").strip() == "Hi Ann, you are on the free plan."
    assert "<b>Ann</b>, plan: FREE" in mail.body("html")


async def test_merge_combine_by_field(run):
    data = {"customers": [{"customer_id": 1, "name": "Ann"}, {"customer_id": 2, "name": "Bob"}],
            "orders": [{"order_id": 10, "customer_id": 2, "total": 5}, {"order_id": 11, "customer_id": 1, "total": 7},
                       {"order_id": 12, "customer_id": 3, "total": 1}, {"order_id": 13, "customer_id": 2, "total": 9}]}
    out = await run(imported("merge_by_key"), data)
    # keep matches only (order 12 has no customer), then newest first
    assert out == [{"customer_id": 2, "name": "Bob", "order_id": 13, "total": 9},
                   {"customer_id": 1, "name": "Ann", "order_id": 11, "total": 7},
                   {"customer_id": 2, "name": "Bob", "order_id": 10, "total": 5}]


async def test_dates_wait_and_stop_and_error(run):
    d = imported("dates_wait_stop")
    ok = await run(d, {"id": "INV-1", "amount": 10, "created": "2026-02-20T09:15:00.000+00:00"})
    assert ok == [{"id": "INV-1", "due": "06/03/2026 09:15"}]
    with pytest.raises(WorkflowFailureError) as info:
        await run(d, {"id": "INV-2", "amount": 0, "created": "2026-02-20T09:15:00.000+00:00"})
    assert info.value.cause.message == "Invoice INV-2 has no positive amount"


async def test_execute_workflow_inline(run):
    out = await run(imported("subworkflow_inline"), [{"value": 2}, {"value": 5}])
    assert out == [{"value": [4, 10], "biggest": 10, "n": 2}]


async def test_schedule_trigger_items(run):
    result = import_n8n(load("schedule_digest"))
    assert result.triggers == [{"kind": "schedule", "name": "Every Morning", "cron": "30 7 * * *",
                                "timezone": "UTC", "n8n_node": "Every Morning"}]
    before = datetime.now(timezone.utc)
    (out,) = await run(imported("schedule_digest"), None, trigger="schedule")
    at = datetime.fromisoformat(out["at"])
    assert before - timedelta(seconds=5) <= at <= datetime.now(timezone.utc) + timedelta(seconds=5)
    assert out["subject"] == f"Digest for {at:%A}, {at:%d} {at:%B} {at:%Y}"
    assert out["run"]


async def test_http_once_per_item_with_per_item_error_output(run):
    def charge(req):
        if req.body["cents"] > 10_000:
            return 402, {"error": "limit"}
        return 200, {"order": req.body["order"], "ok": True}

    with HttpSink(routes={("POST", "/charge"): charge}) as api:
        items = [{"id": "o1", "amount": 20, "api": api.url}, {"id": "o2", "amount": 500, "api": api.url},
                 {"id": "o3", "amount": 1, "api": api.url}]
        out = await run(imported("http_per_item"), items)
        # one request per item, in item order, each with its own $itemIndex
        assert [r.body for r in api.calls("POST", "/charge")] == [
            {"order": "o1", "cents": 2000, "position": 0, "batch_first": "o1"},
            {"order": "o2", "cents": 50000, "position": 1, "batch_first": "o1"},
            {"order": "o3", "cents": 100, "position": 2, "batch_first": "o1"}]
    # the failing item alone goes to the error output; Merge appends input 1 then input 2
    assert out == [{"order": "o1", "status": "charged"}, {"order": "o3", "status": "charged"},
                   {"status": "declined", "why": "payment required"}]
