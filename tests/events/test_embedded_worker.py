"""`wfo api` with its embedded workflow worker (API_EMBEDDED_WORKER): sync webhooks start eagerly, run in the
API process and are answered in-process; components still run on `wfo worker`s; without a reply the answer
comes from Temporal. Real Postgres, Redis and Temporal dev server (with `wfo dev`'s eager settings)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator

import httpx
from temporalio.client import Client

from cli.serve import build_app
from tests.events.conftest import ECHO_DEFINITION, ApiCtx, make_user, running_worker
from tests.helpers import history_identities
from worker.main import EMBEDDED_IDENTITY_PREFIX

NOOP_DEFINITION = {
    "schema_version": 1,
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "noop", "type": "util.noop", "config": {"value": "{{ input.body }}"}},
        {"id": "end", "type": "end", "config": {"output": "{{ nodes.noop }}"}},
    ],
    "edges": [{"source": "start", "target": "noop"}, {"source": "noop", "target": "end"}],
}


@contextlib.asynccontextmanager
async def embedded_api(settings, client, sessionmaker, tenant_id) -> AsyncIterator[ApiCtx]:
    """The app `wfo api` serves with API_EMBEDDED_WORKER=true, its lifespan running (so is its worker)."""
    settings = settings.model_copy(update={"api_embedded_worker": True})
    app = build_app(settings, temporal_client=client, reconcile_interval=None)
    token = await make_user(sessionmaker, settings, tenant_id)
    async with app.router.lifespan_context(app):
        deadline = time.monotonic() + 20
        while not app.state.eager_start:
            assert time.monotonic() < deadline, "the embedded worker did not start"
            await asyncio.sleep(0.05)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                     timeout=60) as http:
            yield ApiCtx(http=http, app=app, tenant_id=tenant_id, token=token, settings=settings)
    assert app.state.eager_start is False  # stopped with the app


async def _task_workers(client, execution_id: str) -> list[str]:
    """The identities of the workers that completed the run's workflow tasks, in order."""
    return await history_identities(client.get_workflow_handle(execution_id), "workflow_task_completed_event_attributes")


async def test_sync_webhook_runs_in_the_api_process_and_is_answered_in_process(ev_settings, client, sessionmaker,
                                                                               tenant_id):
    """No `wfo worker` runs at all: the execution can only have run on the API's embedded worker."""
    async with embedded_api(ev_settings, client, sessionmaker, tenant_id) as api:
        wf = await api.workflow(ECHO_DEFINITION)
        trig = await api.trigger(wf, response_mode="sync", sync_timeout_seconds=20)
        before = api.app.state.replies.delivered
        t0 = time.perf_counter()
        r = await api.http.post(f"/api/v1/hooks/{trig['id']}", json={"hello": "world"})
        took = time.perf_counter() - t0
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "completed" and r.json()["output"]["body"] == {"hello": "world"}
        assert api.app.state.replies.delivered == before + 1  # answered by the run's closing local activity
        assert took < 2.0  # (the fallback to Temporal's result would only start after 2 s)
        assert len(api.app.state.replies) == 0  # nothing left waiting
        eid = r.json()["execution_id"]
        assert await client.get_workflow_handle(eid).result() == r.json()["output"]  # the same as Temporal's
        workers = await _task_workers(client, eid)
        assert workers and all(w.startswith(EMBEDDED_IDENTITY_PREFIX) for w in workers), workers

        # a failed run is answered in-process too, with the run's failure message
        failing = await api.workflow({"schema_version": 1, "nodes": [
            {"id": "start", "type": "start"},
            {"id": "boom", "type": "transform", "config": {"expression": "$error('no good')"}},
            {"id": "end", "type": "end"}],
            "edges": [{"source": "start", "target": "boom"}, {"source": "boom", "target": "end"}]})
        trig = await api.trigger(failing, response_mode="sync", sync_timeout_seconds=20)
        r = await api.http.post(f"/api/v1/hooks/{trig['id']}", json={})
        assert r.status_code == 200 and r.json()["status"] == "failed" and "no good" in r.json()["error"], r.text
        assert api.app.state.replies.delivered == before + 2


async def test_components_run_on_wfo_workers_and_the_run_comes_back_to_the_api(ev_settings, client, sessionmaker,
                                                                             tenant_id):
    """The embedded worker takes no component: the util.noop activity runs on the `wfo worker`; the first
    workflow task (eager) ran in the API process. (Two processes in production: here the API gets a client of
    its own, as one client takes one worker per task queue.)"""
    api_client = await Client.connect(client.service_client.config.target_host, namespace=client.namespace,
                                      data_converter=client.data_converter)
    async with running_worker(client, ev_settings), \
            embedded_api(ev_settings, api_client, sessionmaker, tenant_id) as api:
        wf = await api.workflow(NOOP_DEFINITION)
        trig = await api.trigger(wf, response_mode="sync", sync_timeout_seconds=20)
        r = await api.http.post(f"/api/v1/hooks/{trig['id']}", json={"n": 7})
        assert r.status_code == 200 and r.json()["output"] == {"n": 7}, r.text
        eid = r.json()["execution_id"]
        workers = await _task_workers(client, eid)
        assert workers[0].startswith(EMBEDDED_IDENTITY_PREFIX), workers  # the eager first task
        started = await history_identities(client.get_workflow_handle(eid), "activity_task_started_event_attributes")
        assert started and not any(i.startswith(EMBEDDED_IDENTITY_PREFIX) for i in started), started

        # async webhooks and duplicate keyed deliveries are not answered in-process, and nothing is left waiting
        trig_async = await api.trigger(wf)
        r = await api.http.post(f"/api/v1/hooks/{trig_async['id']}", json={"n": 1})
        assert r.status_code == 202
        key = {"Idempotency-Key": f"k-{uuid.uuid4().hex}"}
        first = await api.http.post(f"/api/v1/hooks/{trig['id']}", json={"n": 2}, headers=key)
        again = await api.http.post(f"/api/v1/hooks/{trig['id']}", json={"n": 2}, headers=key)
        assert first.status_code == again.status_code == 200, (first.text, again.text)
        assert again.json()["duplicate"] is True and again.json()["output"] == first.json()["output"] == {"n": 2}
        assert len(api.app.state.replies) == 0


async def test_a_start_the_server_did_not_make_eager_asks_temporal_at_once(ev_settings, sessionmaker, tenant_id):
    """A Temporal server without eager start (or an embedded worker with no free slot): the first task goes
    through the task queue, no reply is awaited, and the answer comes from Temporal without the 2 s wait."""
    from temporalio.testing import WorkflowEnvironment

    from wfo.temporal import SEARCH_ATTRIBUTES, temporal_cli_path
    from workflows.converter import data_converter

    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli_path(), search_attributes=SEARCH_ATTRIBUTES,
        data_converter=data_converter,
        dev_server_extra_args=["--dynamic-config-value", "system.enableEagerWorkflowStart=false"])
    try:
        async with embedded_api(ev_settings, env.client, sessionmaker, tenant_id) as api:
            wf = await api.workflow(ECHO_DEFINITION)
            trig = await api.trigger(wf, response_mode="sync", sync_timeout_seconds=20)
            before = api.app.state.replies.delivered
            t0 = time.perf_counter()
            r = await api.http.post(f"/api/v1/hooks/{trig['id']}", json={"x": 1})
            assert r.status_code == 200 and r.json()["output"]["body"] == {"x": 1}, r.text
            assert time.perf_counter() - t0 < 1.5  # not the reply fallback's 2 s
            assert api.app.state.replies.delivered == before and len(api.app.state.replies) == 0
    finally:
        await env.shutdown()
