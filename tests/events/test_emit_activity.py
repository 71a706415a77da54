"""Publishing events from a workflow (``wfo.events.emit`` local activity) and from API code."""

from __future__ import annotations

import uuid

from api.events import emit_event_from_app
from tests.events.emit_workflow import EmitTwiceWorkflow
from tests.events.receiver import Receiver
from wfo.security.signing import verify_event
from worker.main import build_worker


async def test_workflow_emits_event_once_via_local_activity(api, client, receiver: Receiver):
    r = await api.http.post("/api/v1/webhooks", headers=api.h,
                            json={"endpoint_url": receiver.url, "events": ["execution.completed"]})
    secret = r.json()["secret"]
    # the engine worker (worker.main.build_worker) hosts the events activities; add the test workflow
    async with build_worker(client, api.settings, workflows=[EmitTwiceWorkflow]):
        ids = await client.execute_workflow(
            EmitTwiceWorkflow.run, str(api.tenant_id), id=f"emit-{uuid.uuid4()}", task_queue=api.settings.temporal_task_queue
        )
        assert len(ids) == 1
        await client.get_workflow_handle(f"webhook-delivery-{ids[0]}").result()
    assert len(receiver.requests) == 1 and verify_event(secret, receiver.requests[0].headers, receiver.requests[0].body)


async def test_emit_from_app_is_best_effort(api, worker, client, receiver: Receiver):
    await api.http.post("/api/v1/webhooks", headers=api.h, json={"endpoint_url": receiver.url, "events": ["workflow.created"]})
    ids = await emit_event_from_app(api.app, "workflow.created", {"workflow_id": "w"}, tenant_id=api.tenant_id)
    assert len(ids) == 1
    await client.get_workflow_handle(f"webhook-delivery-{ids[0]}").result()
    assert len(receiver.requests) == 1
    # unknown event types and failures never raise into the caller
    assert await emit_event_from_app(api.app, "no.such.event", {}, tenant_id=api.tenant_id) == []
