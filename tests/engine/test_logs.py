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
    assert "not retried" in failed[1]["message"]  # the last attempt
    for ln in failed:
        assert ln["execution_id"] == h.id and ln["node_id"] == "flaky" and ln["activity_type"] == "http.request"
        assert len(ln["trace_id"]) == 32 and "exception" not in ln
    assert "Traceback" not in stream.getvalue()
    assert [ln["attempt"] for ln in failed] == [1, 2]
