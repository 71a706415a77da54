"""Structured logs: JSON lines carry execution, node and trace ids; an expected retry is one line."""

from __future__ import annotations

import asyncio
import io
import json
import logging

from temporalio.client import Client

from tests.helpers import defn, node
from wfo.executions import start_execution
from wfo.logs import configure_logging
from wfo.observability import tracing_interceptors
from worker.main import build_worker


async def test_json_logs_from_activities_one_line_per_expected_retry(temporal_env, settings, http_sink):
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    handler = configure_logging("json", "INFO", stream=stream)
    traced = Client(temporal_env.client.service_client, namespace=temporal_env.client.namespace,
                    data_converter=temporal_env.client.data_converter, interceptors=list(tracing_interceptors()))
    try:
        d = defn([node("start", "start"),
                  node("flaky", "http.request", url=http_sink.url + "/status/503",
                       retry={"max_attempts": 2, "initial_interval": "PT0.1S"}),
                  node("end", "end", output="recovered")],
                 ["start->flaky", "flaky:error->end", "flaky->end"])
        async with build_worker(traced, settings):
            h = await start_execution(traced, definition=d, input=None, task_queue=settings.temporal_task_queue)
            assert await asyncio.wait_for(h.result(), 60) == "recovered"
    finally:
        root.removeHandler(handler)
        for old in saved[0]:
            root.addHandler(old)
        root.setLevel(saved[1])
    lines = [json.loads(ln) for ln in stream.getvalue().splitlines() if ln.strip()]
    assert lines, "nothing was logged"
    failed = [ln for ln in lines if " failed (" in ln["message"] or "Completing activity" in ln["message"]]
    assert len(failed) == 2, [ln["message"] for ln in lines]  # one line per attempt, nothing more
    assert "will be retried" in failed[0]["message"] and "HttpStatusError" in failed[0]["message"]
    assert failed[0]["message"].startswith("http.request: attempt 1/2 failed")
    assert "not retried" in failed[1]["message"]  # the last attempt
    for ln in failed:
        assert ln["execution_id"] == h.id and ln["node_id"] == "flaky" and ln["activity_type"] == "http.request"
        assert len(ln["trace_id"]) == 32 and "exception" not in ln
    assert "Traceback" not in stream.getvalue()
    assert [ln["attempt"] for ln in failed] == [1, 2]


async def test_failed_webhook_delivery_attempts_log_one_line_each(temporal_env, settings, database_url):
    """A receiver that fails twice: two short lines (no traceback) from the real worker, then success."""
    import uuid

    from tests.events.receiver import Receiver
    from tests.events.test_delivery import FAST, add_subscription
    from wfo.db import create_engine, create_sessionmaker
    from wfo.events import delivery_workflow_id, emit_event
    from workflows.delivery import DeliveryOutcome

    engine = create_engine(database_url)
    sessionmaker = create_sessionmaker(engine)
    receiver = await Receiver(fail_first=2).start()
    tenant = uuid.uuid4()
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    handler = configure_logging("json", "INFO", stream=stream)
    try:
        async with sessionmaker() as s:
            from sqlalchemy import text

            await s.execute(text("INSERT INTO tenants (id, name) VALUES (:id, :n)"), {"id": tenant, "n": str(tenant)})
            await s.commit()
        await add_subscription(sessionmaker, settings, tenant, receiver.url, ["execution.completed"])
        async with build_worker(temporal_env.client, settings):
            ids = await emit_event("execution.completed", {"execution_id": "e-log"}, tenant_id=tenant,
                                   client=temporal_env.client, sessionmaker=sessionmaker,
                                   task_queue=settings.temporal_task_queue, retry=FAST)
            outcome = await temporal_env.client.get_workflow_handle(
                delivery_workflow_id(ids[0]), result_type=DeliveryOutcome).result()
    finally:
        root.removeHandler(handler)
        for old in saved[0]:
            root.addHandler(old)
        root.setLevel(saved[1])
        await receiver.stop()
        await engine.dispose()
    assert outcome.status == "succeeded" and outcome.attempts == 3
    lines = [json.loads(ln) for ln in stream.getvalue().splitlines() if ln.strip()]
    failed = [ln for ln in lines if " failed (" in ln["message"] or "Completing activity" in ln["message"]]
    assert len(failed) == 2, [ln["message"] for ln in lines]
    from workflows.delivery import DELIVER_ACTIVITY

    assert all(ln["message"].startswith(f"{DELIVER_ACTIVITY}: attempt ") for ln in failed), failed
    assert all("will be retried" in ln["message"] and "exception" not in ln for ln in failed)
    assert "Traceback" not in stream.getvalue()
