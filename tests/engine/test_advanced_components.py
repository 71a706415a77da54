"""Advanced components in real executions: code steps, and `temporal.workflow` with hand-written workflows."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.worker import Worker

from connectors.registry import default_registry
from tests.engine.handwritten import GreetWorkflow, OutOfStockWorkflow, SlowReportWorkflow
from tests.helpers import defn, node
from wfo.executions import start_execution
from worker.main import build_worker
from workflows.validation import validate_definition as _validate


def validate_definition(data):
    return _validate(data, default_registry())


@pytest_asyncio.fixture
async def run(temporal_env, settings):
    client = temporal_env.client

    async def _start(definition, input=None, **kw):
        assert validate_definition(definition) == []
        return await start_execution(client, definition=definition, input=input,
                                     task_queue=settings.temporal_task_queue, **kw)

    async with build_worker(client, settings, workflows=[GreetWorkflow, OutOfStockWorkflow, SlowReportWorkflow]):
        yield _start


async def result_of(handle):
    return await asyncio.wait_for(handle.result(), timeout=60)


async def events(handle, kind) -> list:
    return [ev async for ev in handle.fetch_history_events() if ev.event_type == kind]


# ------------------------------------------------------------------------------------------------ code steps


CODE_FLOW = defn([
    node("start", "start"),
    node("prep", "transform", expression="{ 'xs': input.xs }"),
    node("py", "code.python", code="total = sum(nodes['prep']['xs']) + params['add']\n"
                                   "return {'total': total, 'name': input['name']}",
         params={"add": "{{ input.add }}"}),
    node("js", "code.javascript", code="const o = {a: {b: 1}};\n"
                                       "return {double: nodes.py.total * 2, lit: '{{ not a template }}', b: o.a.b}"),
    node("slow", "code.python", code="while True:\n    pass", timeout_seconds=1),
    node("after", "code.javascript", code="return 'healthy after ' + nodes.slow.error.type"),
    node("end", "end", output={"py": "{{ nodes.py }}", "js": "{{ nodes.js }}", "after": "{{ nodes.after }}",
                               "slow": "{{ nodes.slow.error }}"}),
], ["start->prep", "prep->py", "py->js", "js->slow", "slow:error->after", "after->end", "slow->end"])


async def test_code_steps_read_context_and_a_runaway_goes_to_the_error_port(run):
    handle = await run(CODE_FLOW, {"xs": [1, 2, 3], "add": 10, "name": "Ann"})
    out = await result_of(handle)
    assert out["py"] == {"total": 16, "name": "Ann"}
    assert out["js"] == {"double": 32, "lit": "{{ not a template }}", "b": 1}  # code is never a template
    assert out["slow"]["type"] == "CodeTimeout" and out["slow"]["attempts"] == 1  # not retried
    assert out["after"] == "healthy after CodeTimeout"  # the worker ran the next code step right after
    scheduled = await events(handle, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    names = [e.activity_task_scheduled_event_attributes.activity_type.name for e in scheduled]
    assert names == ["code.python", "code.javascript", "code.python", "code.javascript"]
    # the Python step named only nodes['prep']: that is all the interpreter sent it, and its code raw
    req = json.loads(scheduled[0].activity_task_scheduled_event_attributes.input.payloads[0].data)
    assert sorted(req["render_context"]["nodes"]) == ["prep"] and req["render_context"]["input"]["name"] == "Ann"
    assert req["config"]["params"] == {"add": "{{ input.add }}"} and req["skip_fields"] == ["code"]


async def test_code_step_reading_nodes_dynamically_gets_them_all(run):
    flow = defn([node("start", "start"), node("a", "transform", expression="1"), node("b", "transform", expression="2"),
                 node("py", "code.python", code="return {k: nodes.get(k) for k in ('a', 'b')}"),
                 node("end", "end", output="{{ nodes.py }}")],
                ["start->a", "a->b", "b->py", "py->end"])
    assert await result_of(await run(flow)) == {"a": 1, "b": 2}


async def test_code_step_reads_a_large_stored_output(run, http_sink):
    """A 600 kB node output lives in the payload store, not in history: the code step still gets it whole."""
    flow = defn([node("start", "start"), node("big", "http.request", url=http_sink.url + "/big?size=600000"),
                 node("js", "code.javascript", code="const items = nodes.big.body.items;\n"
                                                    "return {n: items.length, last: items[items.length - 1].i}"),
                 node("end", "end", output="{{ nodes.js }}")], ["start->big", "big->js", "js->end"])
    handle = await run(flow)
    assert await result_of(handle) == {"n": 6000, "last": 5999}
    [_, js] = await events(handle, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    req = json.loads(js.activity_task_scheduled_event_attributes.input.payloads[0].data)
    assert "$ref" in req["render_context"]["nodes"]["big"]  # a reference in history, resolved in the activity


async def test_code_error_fails_the_execution_with_the_users_line(run):
    from temporalio.client import WorkflowFailureError

    flow = defn([node("start", "start"), node("js", "code.javascript", code="const a = 1;\nreturn a.b.c"),
                 node("end", "end")], ["start->js", "js->end"])
    handle = await run(flow)
    try:
        await result_of(handle)
    except WorkflowFailureError as err:
        assert err.cause.type == "CodeError"
        assert "node 'js' (code.javascript) failed: line 2: TypeError" in err.cause.message
    else:
        raise AssertionError("the execution should have failed")


# ------------------------------------------------------------------------------------------------ temporal.workflow


async def test_child_workflow_result_and_failure_to_error_port(run):
    flow = defn([
        node("start", "start"),
        node("greet", "temporal.workflow", workflow_type="Greet", args=["{{ input.name }}", "?"]),
        node("stock", "temporal.workflow", workflow_type="OutOfStock", input="{{ input.sku }}"),
        node("end", "end", output={"greet": "{{ nodes.greet }}", "stock": "{{ nodes.stock.error }}"}),
    ], ["start->greet", "greet->stock", "stock:error->end", "stock->end"])
    handle = await run(flow, {"name": "Ann", "sku": "A-1"})
    out = await result_of(handle)
    assert out["greet"]["result"] == {"greeting": "Hello, Ann?", "parent": handle.id}
    assert out["greet"]["workflow_id"] == f"{handle.id}/greet/2" and out["greet"]["run_id"]
    assert out["stock"]["type"] == "OutOfStock" and "no stock for A-1" in out["stock"]["message"]
    started = await events(handle, EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)
    assert [e.start_child_workflow_execution_initiated_event_attributes.workflow_type.name for e in started] == \
        ["Greet", "OutOfStock"]


async def test_child_on_another_task_queue(run, temporal_env):
    queue = f"hand-{uuid.uuid4().hex[:8]}"
    async with Worker(temporal_env.client, task_queue=queue, workflows=[GreetWorkflow]):
        flow = defn([node("start", "start"),
                     node("greet", "temporal.workflow", workflow_type="Greet", task_queue=queue, input="Bo",
                          workflow_id="greet-{{ input.n }}"),
                     node("end", "end", output="{{ nodes.greet }}")], ["start->greet", "greet->end"])
        n = uuid.uuid4().hex[:6]
        handle = await run(flow, {"n": n})
        out = await result_of(handle)
    assert out["workflow_id"] == f"greet-{n}" and out["result"]["greeting"] == "Hello, Bo!"
    desc = await temporal_env.client.get_workflow_handle(f"greet-{n}").describe()
    assert desc.task_queue == queue


async def test_fire_and_forget_starts_an_independent_workflow(run, temporal_env):
    flow = defn([node("start", "start"),
                 node("fire", "temporal.workflow", workflow_type="SlowReport", mode="start",
                      input={"name": "{{ input.report }}"}),
                 node("end", "end", output="{{ nodes.fire }}")], ["start->fire", "fire->end"])
    handle = await run(flow, {"report": "q3"})
    out = await result_of(handle)
    assert out["workflow_id"] == f"{handle.id}/fire/2" and out["run_id"]
    started = temporal_env.client.get_workflow_handle(out["workflow_id"])
    # the designed workflow finished first; the started one is no child of it and finishes on its own
    assert (await started.describe()).status.name == "RUNNING"
    assert await asyncio.wait_for(started.result(), 30) == {"report": "q3", "done": True, "parent": None}
    assert await events(handle, EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED) == []
    scheduled = await events(handle, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    assert [e.activity_task_scheduled_event_attributes.activity_type.name for e in scheduled] == ["temporal.workflow"]


async def test_fire_and_forget_is_idempotent_per_workflow_id(temporal_env, settings):
    """A retried start activity (same workflow id) reports the run already started instead of failing."""
    from connectors.base import NodeContext
    from connectors.temporal_workflow import TemporalWorkflowStart

    async with build_worker(temporal_env.client, settings, workflows=[SlowReportWorkflow]):
        starter = TemporalWorkflowStart(temporal_env.client)
        wid = f"report-{uuid.uuid4().hex[:8]}"
        cfg = {"workflow_type": "SlowReport", "args": [{"name": "x"}], "workflow_id": wid,
               "task_queue": settings.temporal_task_queue}
        ctx = NodeContext(execution_id="e", node_id="fire", attempt=1, idempotency_key="k")
        first = await starter.run(cfg, ctx)
        again = await starter.run(cfg, NodeContext(execution_id="e", node_id="fire", attempt=2, idempotency_key="k"))
        assert first == again and first["workflow_id"] == wid
        await temporal_env.client.get_workflow_handle(wid).result()


def test_temporal_workflow_config_is_validated():
    problems = validate_definition(defn([node("start", "start"), node("t", "temporal.workflow", mode="later"),
                                         node("end", "end")], ["start->t", "t->end"]))
    fields = {(p.node_id, p.field) for p in problems}
    assert ("t", "config") in fields or any(p.node_id == "t" for p in problems)
    assert any("workflow_type" in p.message for p in problems)
    assert any("later" in p.message for p in problems)
