"""Record interpreter histories for the replay test.

Run `python -m tests.engine.histories.record` after an *intended* change to the interpreter that is
guarded with `workflow.patched` and add the new files next to the old ones (never overwrite old ones:
they are what running executions look like).
"""

from __future__ import annotations

import asyncio
import sys
import threading
import uuid
from http.server import ThreadingHTTPServer

from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from tests.engine.conftest import Sink, _Handler
from tests.engine.handwritten import GreetWorkflow
from tests.engine.histories.recording import DEFAULT_PG_ADMIN_URL, save_history
from tests.engine.test_workflow_constructs import ISSUE_EXAMPLE
from tests.helpers import defn, node
from wfo.executions import start_execution
from wfo.settings import Settings
from wfo.temporal import SEARCH_ATTRIBUTES, temporal_cli_path
from worker.main import build_worker
from workflows.types import ExecutionOptions


def cases(url: str) -> dict[str, tuple[dict, object, dict]]:
    sub = defn([node("start", "start"), node("end", "end", output="{{ input * 2 }}")], ["start->end"])
    stored_approval = (defn(
        [node("start", "start"),
         node("ask", "approval", title="Ship {{ input.n }}", assignees={"users": ["a@x.io"]}),
         node("sum", "transform", expression="$sum([1..10]) + input.n"),
         node("notify", "http.request", method="POST", url=url + "/shipped", json="{{ nodes.sum }}"),
         node("yes", "end", output="{{ nodes.notify.status }}"), node("no", "end")],
        ["start->ask", "ask:approved->sum", "sum->notify", "notify->yes", "ask:rejected->no"]), {"n": 3},
        {"workflow_id": str(uuid.UUID(int=1)), "tenant_id": str(uuid.UUID(int=2)), "version": 1})
    return {
        "issue_example": (ISSUE_EXAMPLE, {"items": [{"price": 600, "qty": 2}], "callback_url": url + "/erp"}, {}),
        "parallel_join_switch_filter": (defn(
            [node("start", "start"), node("fork", "parallel"),
             node("a", "http.request", url=url + "/a"), node("b", "transform", expression="input.n + 1"),
             node("join", "join"),
             node("sw", "switch", cases=[{"port": "big", "condition": "nodes.join.b > 5"}]),
             node("f", "filter", items="[1,2,3,4]", condition="item > nodes.join.b - 3"),
             node("s", "set", values={"r": "{{ nodes.f }}"}),
             node("end", "end", output="{{ vars }}")],
            ["start->fork", "fork->a", "fork->b", "a->join", "b->join", "join->sw", "sw:big->f",
             "sw:default->s", "f->s", "s->end"]), {"n": 5}, {}),
        "retry_error_port": (defn(
            [node("start", "start"),
             node("call", "http.request", url=url + "/flaky?fail=5&tag=rec",
                  retry={"max_attempts": 2, "initial_interval": "PT0.1S"}),
             node("fb", "end", output="{{ nodes.call.error.message }}"), node("end", "end")],
            ["start->call", "call:error->fb", "call->end"]), None, {}),
        "loop_continue_as_new": (defn(
            [node("start", "start"), node("init", "set", values={"i": 0}),
             node("loop", "loop", condition="vars.i < 6", max_iterations=10),
             node("tick", "util.noop", value="{{ vars.i }}"), node("inc", "set", values={"i": "{{ vars.i + 1 }}"}),
             node("end", "end", output="{{ vars.i }}")],
            ["start->init", "init->loop", "loop:body->tick", "tick->inc", "inc->loop", "loop:done->end"]),
            None, {"options": ExecutionOptions(max_history_events=25)}),
        "map_children": (defn(
            [node("start", "start"), node("m", "map", items="input", definition=sub, concurrency=2),
             node("end", "end", output="{{ nodes.m }}")], ["start->m", "m->end"]), [1, 2, 3], {}),
        "wait_and_terminate": (defn(
            [node("start", "start"), node("w", "wait", duration="PT1S"),
             node("stop", "terminate", message="stopped after {{ nodes.w.waited_until }}")],
            ["start->w", "w->stop"]), None, {}),
        "approval_two_votes": (defn(
            [node("start", "start"),
             node("ask", "approval", title="Pay {{ input.n }}", required_approvals=2,
                  assignees={"users": ["a@x.io", "b@x.io"]}, due="PT1H"),
             node("yes", "end", output="{{ nodes.ask.votes.user }}"), node("no", "end")],
            ["start->ask", "ask:approved->yes", "ask:rejected->no"]), {"n": 1}, {}),
        "approval_then_http_patched": (defn(
            [node("start", "start"),
             node("ask", "approval", title="Ship {{ input.n }}", assignees={"users": ["a@x.io"]}),
             node("notify", "http.request", method="POST", url=url + "/shipped", json="{{ nodes.ask.decision }}"),
             node("yes", "end", output="{{ nodes.notify.status }}"), node("no", "end")],
            ["start->ask", "ask:approved->notify", "notify->yes", "ask:rejected->no"]), {"n": 2}, {}),
        "node_runs_recorded_patched": (defn(
            [node("start", "start"), node("call", "http.request", url=url + "/a"),
             node("end", "end", output="{{ nodes.call.status }}")], ["start->call", "call->end"]), None,
            {"workflow_id": str(uuid.UUID(int=1)), "tenant_id": str(uuid.UUID(int=2)), "version": 1}),
        "redrive_resume": (defn(
            [node("start", "start"), node("a", "http.request", url=url + "/a"),
             node("ok", "decision", condition="nodes.a.status = 200"),
             node("b", "http.request", url=url + "/b"), node("end", "end", output="{{ nodes.a.body }}"),
             node("no", "end")],
            ["start->a", "a->ok", "ok:true->b", "ok:false->no", "b->end"]), None,
            {"workflow_id": str(uuid.UUID(int=1)), "tenant_id": str(uuid.UUID(int=2)), "version": 1,
             "resume": {"completed": {"a": {"output": {"status": 200, "body": {"kept": True}}, "port": "out"},
                                      "ok": {"output": {"result": True}, "port": "true"}},
                        "redrive_of": "replay-original"}}),
        "large_payload": (defn(
            [node("start", "start"), node("fetch", "http.request", url=url + "/big?size=400000"),
             node("n", "transform", expression="$count(nodes.fetch.body.items)"),
             node("end", "end", output="{{ nodes.n }}")], ["start->fetch", "fetch->n", "n->end"]), None, {}),
        "advanced_components": (defn(
            [node("start", "start"),
             node("py", "code.python", code="return {'n': input['n'] * 2}", params={"k": "{{ input.n }}"}),
             node("js", "code.javascript", code="return nodes.py.n + 1"),
             node("child", "temporal.workflow", workflow_type="Greet", input="{{ input.name }}"),
             node("fire", "temporal.workflow", workflow_type="Greet", mode="start", args=["later"]),
             node("end", "end", output={"js": "{{ nodes.js }}", "child": "{{ nodes.child.result.greeting }}"})],
            ["start->py", "py->js", "js->child", "child->fire", "fire->end"]), {"n": 4, "name": "Ann"}, {}),
        # the interpreter's features at the time (ExecutionInput.features): no patch markers, then (the same
        # flow) no node-runs local activity either
        "approval_features_no_markers": stored_approval,
        "approval_closed_outside_history": stored_approval,
        "expression_limits_patched": (defn(
            [node("start", "start"), node("ok", "transform", expression="$sum([1..1000])"),
             node("big", "transform", expression="$sum([1..1000000])"),
             node("fb", "end", output="{{ nodes.big.error.message }}"), node("end", "end")],
            ["start->ok", "ok->big", "big:error->fb", "big->end"]), None, {}),
    }


async def _vote(handle, users: list[str]) -> None:
    from workflows.types import APPROVALS_QUERY, DECIDE_UPDATE, Decision

    for _ in range(100):
        tasks = await handle.query(APPROVALS_QUERY)
        if tasks:
            break
        await asyncio.sleep(0.1)
    for user in users:
        await handle.execute_update(DECIDE_UPDATE, Decision(task_id=tasks[0]["task_id"], decision="approved",
                                                            user_email=user), result_type=dict)


async def main(database_url: str, only: set[str] | None = None) -> None:
    sink = Sink()
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("H", (_Handler,), {"sink": sink}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=temporal_cli_path(),
                                                search_attributes=SEARCH_ATTRIBUTES)
    settings = Settings(environment="test", database_url=database_url, http_allow_private_networks=True,
                        temporal_task_queue=f"rec-{uuid.uuid4().hex[:8]}")
    try:
        async with build_worker(env.client, settings, workflows=[GreetWorkflow]):
            for name, (definition, inp, kw) in cases(url).items():
                if only and name not in only:
                    continue
                h = await start_execution(env.client, definition=definition, input=inp,
                                          task_queue=settings.temporal_task_queue,
                                          execution_id=f"replay-{name}", **kw)
                if name.startswith("approval"):
                    await _vote(h, ["a@x.io", "b@x.io"] if name == "approval_two_votes" else ["a@x.io"])
                try:
                    await h.result()
                except WorkflowFailureError:
                    pass
                # the first run (continue-as-new chains: the first link)
                first = env.client.get_workflow_handle(h.id, run_id=h.first_execution_run_id)
                save_history(await first.fetch_history(), name)
    finally:
        await env.shutdown()
        server.shutdown()


if __name__ == "__main__":
    # python -m tests.engine.histories.record DATABASE_URL [CASE ...]  (a migrated database; default: all cases)
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_PG_ADMIN_URL,
                     set(sys.argv[2:]) or None))
