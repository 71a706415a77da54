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

import uuid

from sqlalchemy import text

from api.services.schedules import schedule_id_for
from tests.engine.histories.recording import Recording, add_tenant, fresh_recording, run, save_history
from tests.events.conftest import api_context, running_worker
from tests.events.receiver import Receiver
from tests.events.test_delivery import FAST, add_subscription
from wfo.events import delivery_workflow_id, emit_event
from workflows.delivery import DeliveryInput, DeliveryWorkflow
from workflows.trigger_schedule import ScheduledRunInput, ScheduledTriggerWorkflow


async def _save(client, workflow_id: str, name: str) -> None:
    handle = client.get_workflow_handle(workflow_id)
    await handle.result()
    save_history(await handle.fetch_history(), name)


async def main(pg_admin_url: str) -> None:
    receiver = await Receiver(fail_first=1).start()
    try:
        async with fresh_recording(pg_admin_url, http_allow_private_networks=False,
                                   outbound_allowlist=["127.0.0.1"]) as rec:
            await _record(rec, receiver)
    finally:
        await receiver.stop()


async def _record(rec: Recording, receiver: Receiver) -> None:
    env, settings, sessionmaker, tenant_id = rec.env, rec.settings, rec.sessionmaker, rec.tenant_id
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
        await add_tenant(sessionmaker, gone_tenant, "g")
        sid = await add_subscription(sessionmaker, settings, gone_tenant, receiver.url, ["execution.failed"])
        async with sessionmaker() as s:
            await s.execute(text("UPDATE webhook_subscriptions SET deleted_at = now() WHERE id = :id"),
                            {"id": sid})
            await s.commit()
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
        await env.client.start_workflow(ScheduledTriggerWorkflow.run, ScheduledRunInput(trigger_id=tid),
                                        id="replay-schedule_completed", task_queue=settings.temporal_task_queue)
        await _save(env.client, "replay-schedule_completed", "schedule_completed")
        r = await api.http.put(f"/api/v1/workflows/{wf}", headers=api.h, json={"status": "inactive"})
        assert r.status_code == 200, r.text
        await env.client.start_workflow(ScheduledTriggerWorkflow.run, ScheduledRunInput(trigger_id=tid),
                                        id="replay-schedule_skipped", task_queue=settings.temporal_task_queue)
        await _save(env.client, "replay-schedule_skipped", "schedule_skipped")
        await env.client.get_schedule_handle(schedule_id_for(tid)).delete()


if __name__ == "__main__":
    run(main)
