"""Durable timers (`wait`) on the time-skipping test server."""

from __future__ import annotations

import uuid
from datetime import timedelta

from tests.helpers import defn, node
from wfo.executions import start_execution
from worker.main import build_worker


async def run_on_time_server(time_env, settings, d, inp=None):
    client = time_env.client
    local = settings.model_copy(update={"temporal_task_queue": f"ts-{uuid.uuid4().hex[:8]}"})
    async with build_worker(client, local):
        h = await start_execution(client, definition=d, input=inp, task_queue=local.temporal_task_queue)
        return h, await h.result()


async def test_wait_three_days_duration(time_env, settings):
    d = defn([node("start", "start"), node("t0", "transform", expression="$millis()"),
              node("w", "wait", duration="P3D"),
              node("t1", "transform", expression="$millis()"),
              node("end", "end", output={"elapsed_ms": "{{ nodes.t1 - nodes.t0 }}",
                                         "until": "{{ nodes.w.waited_until }}"})],
             ["start->t0", "t0->w", "w->t1", "t1->end"])
    h, out = await run_on_time_server(time_env, settings, d)
    assert out["elapsed_ms"] >= timedelta(days=3) / timedelta(milliseconds=1)
    assert out["elapsed_ms"] < timedelta(days=3, minutes=1) / timedelta(milliseconds=1)


async def test_wait_until_timestamp_expression(time_env, settings):
    d = defn([node("start", "start"),
              node("w", "wait", until="{{ $fromMillis($millis() + input.hours * 3600000) }}"),
              node("end", "end", output="{{ $millis() }}")],
             ["start->w", "w->end"])
    h, out = await run_on_time_server(time_env, settings, d, {"hours": 30})
    start_time = (await h.describe()).start_time
    assert out - int(start_time.timestamp() * 1000) >= 30 * 3600 * 1000


async def test_wait_until_in_the_past_does_not_wait(time_env, settings):
    d = defn([node("start", "start"), node("w", "wait", until="2001-01-01T00:00:00Z"),
              node("end", "end", output="{{ nodes.w.waited_until }}")], ["start->w", "w->end"])
    _, out = await run_on_time_server(time_env, settings, d)
    assert out.startswith("2001-01-01")


async def test_bad_wait_value_goes_to_error_port(time_env, settings):
    d = defn([node("start", "start"), node("w", "wait", until="{{ input.when }}"),
              node("bad", "end", output="{{ nodes.w.error.message }}"), node("end", "end")],
             ["start->w", "w:error->bad", "w->end"])
    _, out = await run_on_time_server(time_env, settings, d, {"when": "next tuesday"})
    assert "not an ISO-8601 timestamp" in out
