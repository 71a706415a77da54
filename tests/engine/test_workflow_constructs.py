"""Each control-flow construct, run by the real interpreter on a real Temporal dev server."""

from __future__ import annotations

import asyncio
import json

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError

from tests.helpers import defn, node
from wfo.executions import get_progress, start_execution
from worker.main import build_worker
from workflows.types import ExecutionOptions


@pytest_asyncio.fixture
async def run(temporal_env, settings):
    client = temporal_env.client

    async def _start(definition, input=None, **kw):
        return await start_execution(client, definition=definition, input=input,
                                     task_queue=settings.temporal_task_queue, **kw)

    async with build_worker(client, settings):
        yield _start


async def result_of(handle):
    return await asyncio.wait_for(handle.result(), timeout=60)


async def failure_of(handle) -> dict:
    with pytest.raises(WorkflowFailureError) as info:
        await asyncio.wait_for(handle.result(), timeout=60)
    cause = info.value.cause
    return {"message": cause.message, "type": cause.type, "details": list(cause.details or [])}


async def activity_types(handle) -> list[str]:
    out = []
    async for ev in handle.fetch_history_events():
        if ev.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            out.append(ev.activity_task_scheduled_event_attributes.activity_type.name)
    return out


ISSUE_EXAMPLE = {
    "schema_version": 1,
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "total", "type": "transform",
         "config": {"expression": "{ 'amount': $sum(input.items.(price * qty)) }"}},
        {"id": "big", "type": "decision", "config": {"condition": "nodes.total.amount > 1000"}},
        {"id": "notify", "type": "http.request", "name": "Notify ERP",
         "config": {"method": "POST", "url": "{{ input.callback_url }}", "json": "{{ nodes.total }}"},
         "retry": {"max_attempts": 5, "initial_interval": "PT1S", "backoff_coefficient": 2.0},
         "timeout": "PT30S", "position": {"x": 420, "y": 80}},
        {"id": "end", "type": "end", "config": {"output": "{{ nodes.total }}"}},
    ],
    "edges": [
        {"source": "start", "target": "total"},
        {"source": "total", "target": "big"},
        {"source": "big", "source_port": "true", "target": "notify"},
        {"source": "big", "source_port": "false", "target": "end"},
        {"source": "notify", "target": "end"},
    ],
}


async def test_issue_example_both_paths(run, http_sink):
    items = [{"price": 600, "qty": 2}]
    h = await run(ISSUE_EXAMPLE, {"items": items, "callback_url": http_sink.url + "/erp"})
    assert await result_of(h) == {"amount": 1200}
    assert [r["body"] for r in http_sink.requests] == [{"amount": 1200}]
    # pure nodes cost no activity; the side-effecting node is an activity named after its type
    assert await activity_types(h) == ["http.request"]
    progress = await get_progress(h)
    assert progress["status"] == "completed"
    assert progress["nodes"]["notify"]["status"] == "completed"
    assert progress["nodes"]["notify"]["attempts"] == 1

    small = await run(ISSUE_EXAMPLE, {"items": [{"price": 1, "qty": 2}], "callback_url": http_sink.url})
    assert await result_of(small) == {"amount": 2}
    progress = await get_progress(small)
    assert progress["nodes"]["notify"]["status"] == "skipped"
    assert len(http_sink.requests) == 1


async def test_switch_set_filter_and_templates(run):
    d = defn(
        [node("start", "start"),
         node("kind", "switch", cases=[{"port": "gold", "condition": "input.total > 100"},
                                       {"port": "silver", "condition": "input.total > 10"}]),
         node("g", "set", values={"tier": "gold", "label": "Tier {{ $uppercase('gold') }} for {{ input.name }}"}),
         node("s", "set", values={"tier": "silver", "label": "silver"}),
         node("d", "set", values={"tier": "none", "label": "none"}),
         node("cheap", "filter", items="input.items", condition="item.price < 10"),
         node("end", "end", output={"tier": "{{ vars.tier }}", "label": "{{ vars.label }}",
                                    "cheap": "{{ nodes.cheap }}", "n": "{{ $count(nodes.cheap) }}"})],
        ["start->kind", "kind:gold->g", "kind:silver->s", "kind:default->d", "g->cheap", "s->cheap", "d->cheap",
         "cheap->end"],
    )
    items = [{"price": 5}, {"price": 50}, {"price": 1}]
    out = await result_of(await run(d, {"total": 500, "name": "Ada", "items": items}))
    assert out == {"tier": "gold", "label": "Tier GOLD for Ada", "cheap": [{"price": 5}, {"price": 1}], "n": 2}
    out = await result_of(await run(d, {"total": 50, "name": "Bo", "items": []}))
    assert out["tier"] == "silver" and out["cheap"] == [] and out["n"] == 0
    out = await result_of(await run(d, {"total": 1, "items": [{"price": 3}]}))
    assert out["tier"] == "none" and out["n"] == 1


async def test_switch_by_value(run):
    d = defn(
        [node("start", "start"),
         node("sw", "switch", expression="input.country", cases=[{"port": "fr", "value": "FR"},
                                                                 {"port": "de", "value": "DE"}]),
         node("a", "end", output="paris"), node("b", "end", output="berlin"), node("c", "end", output="other")],
        ["start->sw", "sw:fr->a", "sw:de->b", "sw:default->c"],
    )
    assert await result_of(await run(d, {"country": "DE"})) == "berlin"
    assert await result_of(await run(d, {"country": "IT"})) == "other"


async def test_exclusive_merge_runs_once_per_path(run, http_sink):
    # two decisions both lead to `hit`: it runs once for each path that arrives
    d = defn(
        [node("start", "start"), node("p", "parallel"),
         node("a", "transform", expression="'a'"), node("b", "transform", expression="'b'"),
         node("hit", "http.request", method="POST", url=http_sink.url + "/merge",
              json="{{ $keys(nodes) }}"),
         node("end", "end", output="{{ vars }}")],
        ["start->p", "p->a", "p->b", "a->hit", "b->hit"],
    )
    h = await run(d)
    assert await result_of(h) is None  # no end reached: all tokens ended
    assert len([r for r in http_sink.requests if r["path"] == "/merge"]) == 2
    assert (await get_progress(h))["nodes"]["hit"]["activations"] == 2


async def test_parallel_join_keyed_by_branch(run, http_sink):
    d = defn(
        [node("start", "start"), node("fork", "parallel"),
         node("left", "http.request", url=http_sink.url + "/slow?s=0.3"),
         node("right", "transform", expression="input.x * 2"),
         node("right2", "transform", expression="nodes.right + 1"),
         node("join", "join"),
         node("end", "end", output="{{ {'l': nodes.join.left.body.path, 'r': nodes.join.right} }}")],
        ["start->fork", "fork->left", "fork->right", "right->right2", "left->join", "right2->join", "join->end"],
    )
    assert await result_of(await run(d, {"x": 20})) == {"l": "/slow", "r": 41}


async def test_failing_branch_cancels_siblings(run, http_sink):
    d = defn(
        [node("start", "start"), node("fork", "parallel"),
         node("slow", "http.request", url=http_sink.url + "/slow?s=30", timeout="PT60S"),
         node("bad", "http.request", url=http_sink.url + "/status/400"),
         node("join", "join"), node("end", "end")],
        ["start->fork", "fork->slow", "fork->bad", "slow->join", "bad->join", "join->end"],
    )
    h = await run(d)
    fail = await failure_of(h)
    assert "node 'bad' (http.request) failed" in fail["message"]
    assert "400" in fail["message"]
    desc = await h.describe()
    assert desc.status.name == "FAILED"
    cancelled = False
    async for ev in h.fetch_history_events():
        if ev.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED:
            cancelled = True
    assert cancelled, "the slow sibling branch should have been cancelled"
    assert (await get_progress(h))["nodes"]["slow"]["status"] == "cancelled"


async def test_retries_then_error_port(run, http_sink):
    d = defn(
        [node("start", "start"),
         node("call", "http.request", url=http_sink.url + "/flaky?fail=10&tag=t1",
              retry={"max_attempts": 3, "initial_interval": "PT0.1S", "backoff_coefficient": 1.0}),
         node("fallback", "transform", expression="{'handled': nodes.call.error.message, "
                                                  "'attempts': nodes.call.error.attempts}"),
         node("end", "end", output="{{ nodes.fallback }}")],
        ["start->call", "call:error->fallback", "fallback->end", "call->end"],
    )
    h = await run(d)
    out = await result_of(h)
    assert http_sink.fail_counts["t1"] == 3
    assert out["attempts"] == 3
    assert "503" in out["handled"]
    node_status = (await get_progress(h))["nodes"]["call"]
    assert node_status["status"] == "failed" and node_status["attempts"] == 3


async def test_retry_succeeds_and_keeps_idempotency_key(run, http_sink):
    d = defn(
        [node("start", "start"),
         node("call", "http.request", method="POST", url=http_sink.url + "/flaky?fail=2&tag=t2",
              retry={"max_attempts": 5, "initial_interval": "PT0.1S"}),
         node("end", "end", output="{{ nodes.call.body }}")],
        ["start->call", "call->end"],
    )
    h = await run(d)
    assert await result_of(h) == {"ok": True, "calls": 3}
    keys = {r["key"] for r in http_sink.requests}
    assert len(keys) == 1 and next(iter(keys)).startswith(h.id + ":call:")
    assert (await get_progress(h))["nodes"]["call"]["attempts"] == 3


async def test_unhandled_failure_names_node_and_cause(run, http_sink):
    d = defn([node("start", "start"), node("get", "http.request", url=http_sink.url + "/status/404"),
              node("end", "end")], ["start->get", "get->end"])
    fail = await failure_of(await run(d))
    assert fail["type"] == "HttpStatusError"
    assert "node 'get' (http.request) failed" in fail["message"] and "404" in fail["message"]
    assert fail["details"][0]["node_id"] == "get"


async def test_expression_error_fails_node_with_clear_message(run):
    d = defn([node("start", "start"), node("t", "transform", expression="$number('abc') + $undefinedFn()"),
              node("end", "end")], ["start->t", "t->end"])
    fail = await failure_of(await run(d))
    assert "node 't' (transform) failed" in fail["message"]


async def test_runaway_expression_fails_its_node(run):
    d = defn([node("start", "start"),
              node("t", "transform", expression="$sum([1..5000000].($ * 2))"),
              node("handled", "end", output="{{ nodes.t.error.message }}"), node("end", "end")],
             ["start->t", "t:error->handled", "t->end"])
    msg = await result_of(await run(d))
    assert "budget" in msg or "the limit is" in msg  # (issue 10: ranges are bounded before the step budget)


async def test_terminate(run):
    d = defn([node("start", "start"), node("stop", "terminate", message="bad input {{ input.id }}")],
             ["start->stop"])
    fail = await failure_of(await run(d, {"id": 7}))
    assert fail["message"] == "bad input 7" and fail["type"] == "Terminated"


async def test_loop_with_vars(run):
    d = defn(
        [node("start", "start"), node("init", "set", values={"i": 0, "acc": []}),
         node("loop", "loop", condition="vars.i < 5", max_iterations=10),
         node("step", "set", values={"i": "{{ vars.i + 1 }}", "acc": "{{ $append(vars.acc, [vars.i]) }}"}),
         node("end", "end", output={"i": "{{ vars.i }}", "acc": "{{ vars.acc }}",
                                    "iterations": "{{ nodes.loop.iteration }}"})],
        ["start->init", "init->loop", "loop:body->step", "step->loop", "loop:done->end"],
    )
    assert await result_of(await run(d)) == {"i": 5, "acc": [0, 1, 2, 3, 4], "iterations": 5}


async def test_loop_max_iterations_fails(run):
    d = defn([node("start", "start"), node("loop", "loop", condition="true", max_iterations=3),
              node("n", "transform", expression="1"), node("end", "end")],
             ["start->loop", "loop:body->n", "n->loop", "loop:done->end"])
    fail = await failure_of(await run(d))
    assert "max_iterations=3" in fail["message"]


async def test_map_runs_children_in_order_with_concurrency(run, http_sink):
    sub = defn([node("start", "start"),
                node("call", "http.request", method="POST", url=http_sink.url + "/item", json="{{ input }}"),
                node("end", "end", output="{{ input.n * 10 }}")],
               ["start->call", "call->end"])
    d = defn([node("start", "start"), node("each", "map", items="input.list", definition=sub, concurrency=2),
              node("end", "end", output="{{ nodes.each }}")], ["start->each", "each->end"])
    h = await run(d, {"list": [{"n": i} for i in range(5)]})
    assert await result_of(h) == [0, 10, 20, 30, 40]
    assert sorted(r["body"]["n"] for r in http_sink.requests) == [0, 1, 2, 3, 4]
    children = [c async for c in h._client.list_workflows(f"WorkflowId STARTS_WITH '{h.id}/each/'")]
    assert len(children) == 5


async def test_map_child_failure_fails_map_node_to_error_port(run):
    sub = defn([node("start", "start"), node("check", "decision", condition="input > 2"),
                node("boom", "terminate", message="too big: {{ input }}"), node("end", "end", output="{{ input }}")],
               ["start->check", "check:true->boom", "check:false->end"])
    d = defn([node("start", "start"), node("each", "map", items="input", definition=sub),
              node("bad", "end", output="{{ nodes.each.error.message }}"), node("end", "end")],
             ["start->each", "each:error->bad", "each->end"])
    msg = await result_of(await run(d, [1, 2, 3]))
    assert "too big: 3" in msg


async def test_subworkflow_inline(run):
    sub = defn([node("start", "start"), node("end", "end", output="{{ input.a + input.b }}")], ["start->end"])
    d = defn([node("start", "start"), node("child", "subworkflow", definition=sub,
                                           input={"a": "{{ input.x }}", "b": 2}),
              node("end", "end", output="{{ nodes.child }}")], ["start->child", "child->end"])
    assert await result_of(await run(d, {"x": 40})) == 42


async def test_large_output_stays_out_of_history(run, http_sink, settings):
    d = defn(
        [node("start", "start"),
         node("fetch", "http.request", url=http_sink.url + "/big?size=3000000"),
         node("count", "transform", expression="$count(nodes.fetch.body.items)"),
         node("last", "transform", expression="nodes.fetch.body.items[-1].i"),
         node("end", "end", output={"count": "{{ nodes.count }}", "last": "{{ nodes.last }}"})],
        ["start->fetch", "fetch->count", "count->last", "last->end"],
    )
    h = await run(d)
    out = await result_of(h)
    assert out == {"count": 30000, "last": 29999}
    total = 0
    async for ev in h.fetch_history_events():
        total += ev.ByteSize()
    assert total < 256 * 1024, f"history is {total} bytes"
    # the stored payload is real and readable
    import asyncpg

    conn = await asyncpg.connect(settings.database_url)
    try:
        size = await conn.fetchval("SELECT max(size) FROM payloads WHERE execution_id = $1", h.id)
    finally:
        await conn.close()
    assert size > 3_000_000  # stored by this execution (what `wfo gc` goes by)


async def test_large_execution_input_by_reference(run, settings):
    from activities.services import Services
    from wfo.stores.payloads import offload_if_large

    services = Services(settings)
    try:
        big = {"rows": [{"i": i, "pad": "y" * 100} for i in range(5000)]}
        ref = await offload_if_large(big, services.payloads, 256 * 1024)
        assert "$ref" in ref
        d = defn([node("start", "start"), node("n", "transform", expression="$count(input.rows)"),
                  node("end", "end", output="{{ nodes.n }}")], ["start->n", "n->end"])
        assert await result_of(await run(d, ref)) == 5000
    finally:
        await services.close()


async def test_invalid_definition_fails_fast(run):
    fail = await failure_of(await run({"nodes": [{"id": "x", "type": "end"}], "edges": []}))
    assert fail["type"] == "InvalidDefinition"


async def test_progress_query_while_running(run, http_sink):
    d = defn([node("start", "start"), node("slow", "http.request", url=http_sink.url + "/slow?s=1.5"),
              node("end", "end")], ["start->slow", "slow->end"])
    h = await run(d)
    for _ in range(50):
        p = await get_progress(h)
        if p["nodes"].get("slow", {}).get("status") == "running":
            break
        await asyncio.sleep(0.1)
    assert p["status"] == "running"
    assert p["nodes"]["start"]["status"] == "completed"
    assert p["nodes"]["slow"]["status"] == "running"
    assert p["nodes"]["end"]["status"] == "pending"
    await result_of(h)
    p = await get_progress(h)
    assert p["status"] == "completed" and p["nodes"]["slow"]["duration_ms"] >= 1000
    assert [e["event"] for e in p["events"] if e["node_id"] == "slow"] == ["started", "completed"]


async def test_search_attributes_and_activity_ids(run, http_sink, temporal_env):
    d = defn([node("start", "start"), node("ping", "http.request", url=http_sink.url + "/p"),
              node("end", "end")], ["start->ping", "ping->end"])
    h = await run(d, None, workflow_id="wf-123", version=7, trigger="webhook")
    await result_of(h)
    desc = await h.describe()
    sa = {k.name: v for k, v in desc.typed_search_attributes}
    assert sa["WfoWorkflowId"] == "wf-123" and sa["WfoWorkflowVersion"] == 7 and sa["WfoTrigger"] == "webhook"
    ids = []
    async for ev in h.fetch_history_events():
        if ev.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            ids.append(ev.activity_task_scheduled_event_attributes.activity_id)
    assert ids == ["ping#2"]


async def test_secrets_resolved_in_activity_not_in_history(run, http_sink, settings, temporal_env):
    import os

    os.environ["WFO_SECRET_ERP_TOKEN"] = "s3cr3t-value"
    d = defn([node("start", "start"),
              node("call", "http.request", url=http_sink.url + "/auth",
                   headers={"Authorization": "Bearer secret://ERP_TOKEN"}),
              node("end", "end", output="{{ nodes.call.status }}")], ["start->call", "call->end"])
    h = await run(d)
    assert await result_of(h) == 200
    assert http_sink.requests[-1]["headers"]["Authorization"] == "Bearer s3cr3t-value"
    history = json.dumps([ev.SerializeToString().decode("latin-1") async for ev in h.fetch_history_events()])
    assert "s3cr3t-value" not in history


async def test_continue_as_new_keeps_state(temporal_env, settings):
    # a tiny history budget forces several continue-as-new runs in the middle of a loop with activities
    client = temporal_env.client
    d = defn(
        [node("start", "start"), node("init", "set", values={"i": 0}),
         node("loop", "loop", condition="vars.i < 12", max_iterations=100),
         node("tick", "util.noop", value="{{ vars.i }}"),
         node("inc", "set", values={"i": "{{ vars.i + 1 }}"}),
         node("end", "end", output={"i": "{{ vars.i }}", "last": "{{ nodes.tick }}"})],
        ["start->init", "init->loop", "loop:body->tick", "tick->inc", "inc->loop", "loop:done->end"],
    )
    async with build_worker(client, settings):
        h = await start_execution(client, definition=d, input=None, task_queue=settings.temporal_task_queue,
                                  options=ExecutionOptions(max_history_events=25))
        assert await result_of(h) == {"i": 12, "last": 11}
        p = await get_progress(h)
    assert p["runs"] > 2
    runs = [w async for w in client.list_workflows(f"WorkflowId = '{h.id}'")]
    assert len(runs) == p["runs"]


async def test_activity_timeout_then_error_port(run, http_sink):
    d = defn([node("start", "start"),
              node("slow", "http.request", url=http_sink.url + "/slow?s=5", timeout="PT0.5S",
                   retry={"max_attempts": 2, "initial_interval": "PT0.1S"}),
              node("late", "end", output="{{ nodes.slow.error }}"), node("end", "end")],
             ["start->slow", "slow:error->late", "slow->end"])
    err = await result_of(await run(d))
    assert err["type"] == "Timeout" and "timed out" in err["message"]
    assert len([r for r in http_sink.requests if r["path"] == "/slow"]) == 2


async def test_stored_workflow_as_subworkflow_and_map(run, settings):
    """`workflow_id` children load the stored definition (current or pinned version) within the tenant."""
    import uuid as _uuid

    import asyncpg

    child_v1 = defn([node("start", "start"), node("end", "end", output="{{ 'v1:' & $string(input) }}")],
                    ["start->end"])
    child_v2 = defn([node("start", "start"), node("end", "end", output="{{ 'v2:' & $string(input) }}")],
                    ["start->end"])
    tenant, wf = _uuid.uuid4(), _uuid.uuid4()
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute("INSERT INTO tenants (id, name) VALUES ($1, $2)", tenant, f"t-{tenant.hex[:6]}")
        await conn.execute(
            "INSERT INTO workflows (id, tenant_id, name, status, current_version, tags) "
            "VALUES ($1, $2, 'child', 'active', 2, '[]'::jsonb)", wf, tenant)
        for version, d in ((1, child_v1), (2, child_v2)):
            await conn.execute("INSERT INTO workflow_versions (workflow_id, version, definition) "
                               "VALUES ($1, $2, $3::jsonb)", wf, version, json.dumps(d))
    finally:
        await conn.close()
    parent = defn([node("start", "start"),
                   node("one", "subworkflow", workflow_id=str(wf), input="{{ input.x }}"),
                   node("pinned", "map", workflow_id=str(wf), version=1, items="input.list"),
                   node("end", "end", output={"one": "{{ nodes.one }}", "pinned": "{{ nodes.pinned }}"})],
                  ["start->one", "one->pinned", "pinned->end"])
    out = await result_of(await run(parent, {"x": 7, "list": [1, 2]}, tenant_id=str(tenant)))
    assert out == {"one": "v2:7", "pinned": ["v1:1", "v1:2"]}
    # another tenant cannot load it
    missing = defn([node("start", "start"), node("one", "subworkflow", workflow_id=str(wf)),
                    node("end", "end", output="{{ nodes.one.error.type }}")],
                   ["start->one", "one:error->end"])
    assert await result_of(await run(missing, None, tenant_id=str(_uuid.uuid4()))) == "DefinitionNotFound"


async def test_large_rendered_configs(temporal_env, settings, http_sink):
    """A config rendered over Temporal's payload limit from data kept inline (high threshold): rendered by the
    activity from the (smaller) context it reads; when that would not be smaller, a clear node error
    instead of a workflow task that can never complete."""
    client = temporal_env.client
    big = "$join([1..8000].('" + "z" * 99 + "'))"  # 792 KB of text, computed inside the workflow
    d = defn([node("start", "start"), node("a", "transform", expression=big),
              node("b", "transform", expression=big.replace("z", "y")),
              node("twice", "http.request", method="POST", url=http_sink.url + "/twice",
                   json="{{ [nodes.a, nodes.a] }}"),
              node("both", "http.request", method="POST", url=http_sink.url + "/both",
                   json="{{ [nodes.a, nodes.b] }}"),
              node("too_big", "end", output="{{ nodes.both.error }}"), node("end", "end")],
             ["start->a", "a->b", "b->twice", "twice->both", "both:error->too_big", "both->end"])
    async with build_worker(client, settings):
        h = await start_execution(client, definition=d, input=None, task_queue=settings.temporal_task_queue,
                                  options=ExecutionOptions(payload_threshold_bytes=10_000_000))
        err = await result_of(h)
    twice = next(r["body"] for r in http_sink.requests if r["path"] == "/twice")
    assert len(twice) == 2 and len(twice[0]) == 792_000
    async for ev in h.fetch_history_events():
        if (ev.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
                and ev.activity_task_scheduled_event_attributes.activity_id.startswith("twice#")):
            payload = ev.activity_task_scheduled_event_attributes.input.payloads[0].data
            assert b"{{ [nodes.a, nodes.a] }}" in payload and len(payload) < 900_000
    assert err["type"] == "PayloadTooLarge" and "payload limit" in err["message"]
    assert not [r for r in http_sink.requests if r["path"] == "/both"]


async def test_current_details_show_what_runs(run, http_sink):
    """The Temporal UI's "current details" name the running nodes (metadata, not history)."""
    d = defn([node("start", "start"), node("slow", "http.request", name="Slow call", url=http_sink.url + "/slow?s=2"),
              node("end", "end")], ["start->slow", "slow->end"])
    h = await run(d)
    details = ""
    for _ in range(40):
        meta = await h.query("__temporal_workflow_metadata")
        details = meta.current_details if hasattr(meta, "current_details") else meta.get("currentDetails", "")
        if "Slow call" in details:
            break
        await asyncio.sleep(0.1)
    assert "**Slow call** (`http.request`) running" in details
    await result_of(h)
