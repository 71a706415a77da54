"""Outbound event webhooks delivered by the durable ``WebhookDelivery`` workflow (real Temporal + Postgres)."""

from __future__ import annotations

import asyncio
import json
import uuid
from contextlib import asynccontextmanager

import httpx
from temporalio.client import Client
from temporalio.worker import Replayer, Worker

from activities.delivery import DeliveryActivities
from tests.events.receiver import Receiver
from wfo.db import sql
from wfo.events import delivery_workflow_id, emit_event
from wfo.security.secretbox import seal
from wfo.security.signing import verify_event
from workflows.delivery import DeliveryOutcome, DeliveryRetry, DeliveryWorkflow

FAST = DeliveryRetry(initial_interval_seconds=0.2, backoff_coefficient=2.0, maximum_interval_seconds=1.0,
                     maximum_attempts=5, attempt_timeout_seconds=5)


@asynccontextmanager
async def delivery_worker(client: Client, task_queue: str, settings, sessionmaker):
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as http:
        acts = DeliveryActivities(settings, sessionmaker, http)
        async with Worker(
            client,
            task_queue=task_queue,
            workflows=[DeliveryWorkflow],
            activities=[acts.deliver, acts.record_outcome],
        ) as worker:
            yield worker


async def add_subscription(sessionmaker, settings, tenant_id, url, events, secret="whsec_test") -> uuid.UUID:
    sid = uuid.uuid4()
    async with sessionmaker() as s:
        await sql(s,
            (
                "INSERT INTO webhook_subscriptions (id, tenant_id, endpoint_url, events, secret_enc) "
                "VALUES (:id, :t, :u, CAST(:e AS jsonb), :s)"
            ),
            {"id": sid, "t": tenant_id, "u": url, "e": json.dumps(events), "s": seal(settings.secret_key, secret)},
        )
        await s.commit()
    return sid


async def delivery_row(sessionmaker, delivery_id):
    async with sessionmaker() as s:
        return (await sql(s, ("SELECT * FROM webhook_deliveries WHERE id = :id"), {"id": delivery_id})).first()


async def test_delivery_retries_with_backoff_then_succeeds_signed(
    client, task_queue, ev_settings, sessionmaker, tenant_id, receiver: Receiver
):
    receiver.fail_first = 3
    await add_subscription(sessionmaker, ev_settings, tenant_id, receiver.url, ["execution.completed"], "whsec_abc")
    async with delivery_worker(client, task_queue, ev_settings, sessionmaker):
        ids = await emit_event(
            "execution.completed", {"execution_id": "e-1", "status": "completed"},
            tenant_id=tenant_id, client=client, sessionmaker=sessionmaker, task_queue=task_queue, retry=FAST,
        )
        assert len(ids) == 1
        outcome = await client.get_workflow_handle(delivery_workflow_id(ids[0]), result_type=DeliveryOutcome).result()
    assert outcome.status == "succeeded" and outcome.attempts == 4 and outcome.response_status == 200
    assert len(receiver.requests) == 4
    delivery_ids = {r.headers["x-wfo-delivery"] for r in receiver.requests}
    assert delivery_ids == {ids[0]}  # same delivery id on every retry
    for r in receiver.requests:
        assert r.headers["x-wfo-event"] == "execution.completed"
        assert verify_event("whsec_abc", r.headers, r.body)
        assert not verify_event("wrong", r.headers, r.body)
    body = json.loads(receiver.requests[-1].body)
    assert body["type"] == "execution.completed" and body["data"]["execution_id"] == "e-1"
    row = await delivery_row(sessionmaker, ids[0])
    assert (row.status, row.attempts, row.response_status, row.last_error) == ("succeeded", 4, 200, None)
    # The secret is in neither the workflow input nor anywhere else in history.
    history = await client.get_workflow_handle(delivery_workflow_id(ids[0]), result_type=DeliveryOutcome).fetch_history()
    assert "whsec_abc" not in history.to_json()
    # The recorded history replays deterministically against the current workflow code.
    await Replayer(workflows=[DeliveryWorkflow]).replay_workflow(history)


async def test_delivery_survives_worker_restart(
    client, task_queue, ev_settings, sessionmaker, tenant_id, receiver: Receiver
):
    receiver.fail_first = 2
    await add_subscription(sessionmaker, ev_settings, tenant_id, receiver.url, ["workflow.created"])
    slow = DeliveryRetry(initial_interval_seconds=1.5, maximum_interval_seconds=1.5, maximum_attempts=10,
                         attempt_timeout_seconds=5)
    async with delivery_worker(client, task_queue, ev_settings, sessionmaker):
        ids = await emit_event(
            "workflow.created", {"workflow_id": "w"}, tenant_id=tenant_id, client=client,
            sessionmaker=sessionmaker, task_queue=task_queue, retry=slow,
        )
        await receiver.wait_for(1, timeout=15)
    # Worker is gone (shut down after the first failed attempt); nothing is delivered meanwhile.
    await asyncio.sleep(2.0)
    assert len(receiver.requests) == 1
    async with delivery_worker(client, task_queue, ev_settings, sessionmaker):
        outcome = await asyncio.wait_for(client.get_workflow_handle(delivery_workflow_id(ids[0]), result_type=DeliveryOutcome).result(), 30)
    assert outcome.status == "succeeded" and outcome.attempts == 3
    assert len(receiver.requests) == 3


async def test_delivery_gives_up_after_max_attempts_and_logs_failure(
    client, task_queue, ev_settings, sessionmaker, tenant_id, receiver: Receiver
):
    receiver.fail_first = 100
    await add_subscription(sessionmaker, ev_settings, tenant_id, receiver.url, ["*"])
    retry = DeliveryRetry(initial_interval_seconds=0.1, maximum_interval_seconds=0.2, maximum_attempts=3,
                          attempt_timeout_seconds=5)
    async with delivery_worker(client, task_queue, ev_settings, sessionmaker):
        ids = await emit_event("task.failed", {"task_id": "x"}, tenant_id=tenant_id, client=client,
                               sessionmaker=sessionmaker, task_queue=task_queue, retry=retry)
        outcome = await client.get_workflow_handle(delivery_workflow_id(ids[0]), result_type=DeliveryOutcome).result()
    assert outcome.status == "failed" and outcome.attempts == 3 and outcome.response_status == 500
    assert "HTTP 500" in outcome.error
    row = await delivery_row(sessionmaker, ids[0])
    assert (row.status, row.attempts) == ("failed", 3) and row.completed_at is not None


async def test_private_endpoint_not_in_allowlist_is_refused_without_sending(
    client, task_queue, ev_settings, sessionmaker, tenant_id, receiver: Receiver
):
    # 127.0.0.2 is loopback too but not in the allowlist (only 127.0.0.1 is).
    await add_subscription(sessionmaker, ev_settings, tenant_id, f"http://127.0.0.2:{receiver.port}/hook",
                           ["workflow.deleted"])
    async with delivery_worker(client, task_queue, ev_settings, sessionmaker):
        ids = await emit_event("workflow.deleted", {"workflow_id": "w"}, tenant_id=tenant_id, client=client,
                               sessionmaker=sessionmaker, task_queue=task_queue, retry=FAST)
        outcome = await client.get_workflow_handle(delivery_workflow_id(ids[0]), result_type=DeliveryOutcome).result()
    assert outcome.status == "failed" and "allowlist" in outcome.error.lower()
    assert outcome.attempts == 1  # not retried
    assert receiver.requests == []


async def test_emit_matches_events_and_tenant_and_is_idempotent(
    client, task_queue, ev_settings, sessionmaker, tenant_id, receiver: Receiver
):
    other_tenant = uuid.uuid4()
    async with sessionmaker() as s:
        await sql(s, ("INSERT INTO tenants (id, name) VALUES (:id, :n)"), {"id": other_tenant, "n": other_tenant.hex})
        await s.commit()
    await add_subscription(sessionmaker, ev_settings, tenant_id, receiver.url, ["workflow.updated"])
    await add_subscription(sessionmaker, ev_settings, tenant_id, receiver.url, ["execution.failed"])
    await add_subscription(sessionmaker, ev_settings, other_tenant, receiver.url, ["workflow.updated"])
    async with delivery_worker(client, task_queue, ev_settings, sessionmaker):
        kwargs = dict(tenant_id=tenant_id, client=client, sessionmaker=sessionmaker, task_queue=task_queue, retry=FAST)
        first = await emit_event("workflow.updated", {"workflow_id": "w"}, event_id="evt-fixed", **kwargs)
        again = await emit_event("workflow.updated", {"workflow_id": "w"}, event_id="evt-fixed", **kwargs)
        assert first == again and len(first) == 1
        await client.get_workflow_handle(delivery_workflow_id(first[0]), result_type=DeliveryOutcome).result()
    assert len(receiver.requests) == 1
    assert json.loads(receiver.requests[0].body)["tenant_id"] == str(tenant_id)


async def test_delivery_started_without_log_row_writes_its_own(
    client, task_queue, ev_settings, sessionmaker, tenant_id, receiver: Receiver
):
    """The emitter died after starting the workflow but before logging it: the activity logs it."""
    from workflows.delivery import DeliveryInput

    sid = await add_subscription(sessionmaker, ev_settings, tenant_id, receiver.url, ["workflow.created"])
    delivery_id = str(uuid.uuid4())
    async with delivery_worker(client, task_queue, ev_settings, sessionmaker):
        outcome = await client.execute_workflow(
            DeliveryWorkflow.run,
            DeliveryInput(delivery_id=delivery_id, subscription_id=str(sid), tenant_id=str(tenant_id),
                          event_id="evt-orphan", event_type="workflow.created", body="{}", retry=FAST),
            id=delivery_workflow_id(delivery_id), task_queue=task_queue,
        )
    assert outcome.status == "succeeded"
    row = await delivery_row(sessionmaker, delivery_id)
    assert (row.status, row.attempts, row.event_id) == ("succeeded", 1, "evt-orphan")


async def test_hanging_endpoint_times_out_and_is_retried(
    client, task_queue, ev_settings, sessionmaker, tenant_id, receiver: Receiver
):
    receiver.delay = 3.0  # every answer comes too late for a 1-second attempt timeout
    await add_subscription(sessionmaker, ev_settings, tenant_id, receiver.url, ["workflow.started"])
    retry = DeliveryRetry(initial_interval_seconds=0.1, maximum_interval_seconds=0.1, maximum_attempts=2,
                          attempt_timeout_seconds=1)
    async with delivery_worker(client, task_queue, ev_settings, sessionmaker):
        ids = await emit_event("workflow.started", {}, tenant_id=tenant_id, client=client,
                               sessionmaker=sessionmaker, task_queue=task_queue, retry=retry)
        outcome = await client.get_workflow_handle(delivery_workflow_id(ids[0]), result_type=DeliveryOutcome).result()
    assert outcome.status == "failed" and outcome.attempts == 2 and "Timeout" in outcome.error
