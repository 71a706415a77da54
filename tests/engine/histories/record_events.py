"""Record ``WebhookDelivery`` and ``ScheduledTrigger`` histories for the replay test.

Run ``python -m tests.engine.histories.record_events [PG_ADMIN_URL]`` after an *intended*,
``workflow.patched``-guarded change to those workflows, and add the new files next to the old ones
(never overwrite old ones: they are what running executions look like). It uses a fresh migrated
database, a local Temporal dev server, the real worker, the real API and a real HTTP receiver.

Cases:
- ``delivery_retried``: a subscription whose endpoint fails once, then answers 200.
- ``delivery_subscription_gone``: the subscription is disabled before the delivery runs
  (non-retryable ``SubscriptionGone`` -> the ``record_outcome`` activity).
- ``schedule_completed``: a schedule fire runs the interpreter as a child workflow.
- ``schedule_skipped``: a schedule fire while the workflow is a draft (no child).
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path

import asyncpg
from temporalio.testing import WorkflowEnvironment

from tests.events.conftest import api_context, running_worker
from tests.events.receiver import Receiver
from tests.events.test_delivery import FAST, add_subscription
from wfo.db import create_engine, create_sessionmaker, run_migrations
from wfo.settings import Settings
from wfo.temporal import SEARCH_ATTRIBUTES, temporal_cli_path
from workflows.converter import data_converter

HERE = Path(__file__).parent


async def _save(client, workflow_id: str, name: str) -> None:
    handle = client.get_workflow_handle(workflow_id)
    await handle.result()
    history = await handle.fetch_history()
    (HERE / f"replay-{name}.json").write_text(json.dumps(json.loads(history.to_json()), indent=1))
    print("recorded", name, "from", workflow_id)


async def main(pg_admin_url: str) -> None:
    from api.services.schedules import schedule_id_for
    from wfo.events import delivery_workflow_id, emit_event

    name = f"wfo_rec_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(pg_admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    database_url = pg_admin_url.rsplit("/", 1)[0] + f"/{name}"
    await run_migrations(database_url)
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=temporal_cli_path(),
                                                search_attributes=SEARCH_ATTRIBUTES, data_converter=data_converter)
    engine = create_engine(database_url)
    sessionmaker = create_sessionmaker(engine)
    settings = Settings(environment="test", database_url=database_url, http_allow_private_networks=False,
                        outbound_allowlist=["127.0.0.1"], temporal_task_queue=f"rec-{uuid.uuid4().hex[:8]}",
                        temporal_address=env.client.service_client.config.target_host,
                        worker_shutdown_grace_seconds=1)
    receiver = await Receiver(fail_first=1).start()
    tenant_id = uuid.uuid4()
    try:
        async with sessionmaker() as s:
            from sqlalchemy import text

            await s.execute(text("INSERT INTO tenants (id, name) VALUES (:id, :n)"), {"id": tenant_id, "n": "rec"})
            await s.commit()
        async with running_worker(env.client, settings), \
                api_context(settings, env.client, sessionmaker, tenant_id) as api:
            # WebhookDelivery: one retry, then success
            await add_subscription(sessionmaker, settings, tenant_id, receiver.url, ["execution.completed"])
            ids = await emit_event("execution.completed", {"execution_id": "rec-1", "status": "completed"},
                                   tenant_id=tenant_id, client=env.client, sessionmaker=sessionmaker,
                                   task_queue=settings.temporal_task_queue, event_id="rec:retried", retry=FAST)
            await _save(env.client, delivery_workflow_id(ids[0]), "delivery_retried")
            # WebhookDelivery: the subscription disappears before delivery
            gone_tenant = uuid.uuid4()
            async with sessionmaker() as s:
                await s.execute(text("INSERT INTO tenants (id, name) VALUES (:id, :n)"), {"id": gone_tenant, "n": "g"})
                await s.commit()
            sid = await add_subscription(sessionmaker, settings, gone_tenant, receiver.url, ["execution.failed"])
            async with sessionmaker() as s:
                await s.execute(text("UPDATE webhook_subscriptions SET deleted_at = now() WHERE id = :id"),
                                {"id": sid})
                await s.commit()
            from workflows.delivery import DeliveryInput, DeliveryWorkflow

            gone_id = f"whd_rec_gone_{uuid.uuid4().hex[:6]}"
            await env.client.start_workflow(
                DeliveryWorkflow.run,
                DeliveryInput(delivery_id=gone_id, subscription_id=str(sid), tenant_id=str(gone_tenant),
                              event_id="rec:gone", event_type="execution.failed", body='{"type":"execution.failed"}',
                              retry=FAST),
                id=delivery_workflow_id(gone_id), task_queue=settings.temporal_task_queue)
            await _save(env.client, delivery_workflow_id(gone_id), "delivery_subscription_gone")

            # ScheduledTrigger: a completed run (interpreter child), then a skipped one
            wf = await api.workflow()
            r = await api.http.post(f"/api/v1/workflows/{wf}/triggers", headers=api.h,
                                    json={"kind": "schedule", "interval_seconds": 3600, "input": {"report": "daily"}})
            assert r.status_code == 201, r.text
            tid = r.json()["id"]
            # Fired directly (what the schedule's action does) so the file can be named after its workflow id
            from workflows.trigger_schedule import ScheduledRunInput, ScheduledTriggerWorkflow

            await env.client.start_workflow(ScheduledTriggerWorkflow.run, ScheduledRunInput(trigger_id=tid),
                                            id="replay-schedule_completed", task_queue=settings.temporal_task_queue)
            await _save(env.client, "replay-schedule_completed", "schedule_completed")
            r = await api.http.put(f"/api/v1/workflows/{wf}", headers=api.h, json={"status": "inactive"})
            assert r.status_code == 200, r.text
            await env.client.start_workflow(ScheduledTriggerWorkflow.run, ScheduledRunInput(trigger_id=tid),
                                            id="replay-schedule_skipped", task_queue=settings.temporal_task_queue)
            await _save(env.client, "replay-schedule_skipped", "schedule_skipped")
            await env.client.get_schedule_handle(schedule_id_for(tid)).delete()
    finally:
        await receiver.stop()
        await engine.dispose()
        await env.shutdown()
        admin = await asyncpg.connect(pg_admin_url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/postgres"))
