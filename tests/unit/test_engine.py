"""The interpreter's pure core (workflows/engine.py), driven by hand: no Temporal, a fixed clock."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest

from tests.helpers import defn, node
from workflows.definition import load_definition
from workflows.engine import (
    Done,
    Engine,
    Outcome,
    RunActivity,
    RunChildren,
    Sleep,
    compute_pure,
    new_state,
)
from workflows.expressions import EvalEnv
from workflows.graph import analyze
from workflows.types import EVALUATE_ACTIVITY

NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
THRESHOLD = 256 * 1024
EXEC_ID = "exec-42"

Handler = Callable[[dict[str, Any], Any], Outcome]


def make_engine(d: dict[str, Any], input: Any = None, execution_id: str = EXEC_ID) -> Engine:
    definition = load_definition(d)
    info = analyze(definition)
    assert info.start is not None
    state = new_state(definition, input, {"id": execution_id, "workflow_id": "wf-1",
                                          "started_at": NOW.isoformat()}, info.start)
    return Engine(definition, info, state, execution_id)


def echo_activity(act: dict[str, Any], step: Any) -> Outcome:
    """Default stand-in for activities/timers/children: the rendered config (or a marker)."""
    if isinstance(step, RunActivity):
        return Outcome(output={"activity": step.activity, "config": step.config})
    if isinstance(step, Sleep):
        return Outcome(output={"waited_until": step.until})
    if isinstance(step, RunChildren):
        return Outcome(output=[{"child": i} for i in step.inputs])
    raise AssertionError(f"unexpected step {step!r}")


class Driver:
    """Carries out an engine's plan like the interpreter does, deterministically: every ready activation is
    planned; Done steps complete at once; other steps queue and complete one at a time, oldest first,
    only when nothing is pending (so pure work always outruns activities)."""

    def __init__(self, engine: Engine, handler: Handler = echo_activity, env: EvalEnv | None = None,
                 now: datetime = NOW):
        self.engine = engine
        self.handler = handler
        self.env = env or EvalEnv(now_millis=int(now.timestamp() * 1000))
        self.now = now
        self.queue: list[tuple[dict[str, Any], Any]] = []
        self.planned: list[tuple[str, Any]] = []  # (node id, step) in planning order

    def pump(self) -> None:
        """Run everything pending (pure work) until only outstanding steps remain."""
        e = self.engine
        while not e.finished and e.has_pending():
            for act in e.take_ready(self.now):
                step = e.plan(act, self.now, self.env, THRESHOLD)
                self.planned.append((act["node"], step))
                if isinstance(step, Done):
                    e.complete(act, step.outcome, self.now)
                    if e.finished:
                        return
                else:
                    self.queue.append((act, step))

    def finish_one(self, outcome: Outcome | None = None) -> tuple[dict[str, Any], Any]:
        act, step = self.queue.pop(0)
        self.engine.complete(act, outcome if outcome is not None else self.handler(act, step), self.now)
        return act, step

    def run(self, max_rounds: int = 10_000) -> Engine:
        for _ in range(max_rounds):
            self.pump()
            if self.engine.finished or not self.queue:
                return self.engine
            self.finish_one()
        raise AssertionError("execution did not settle")

    def ran(self, node_id: str) -> list[Any]:
        return [s for n, s in self.planned if n == node_id]


def run(d: dict[str, Any], input: Any = None, handler: Handler = echo_activity) -> Engine:
    return Driver(make_engine(d, input), handler).run()


def statuses(engine: Engine) -> dict[str, str]:
    return {nid: st["status"] for nid, st in engine.state["nodes"].items()}


# ---------------------------------------------------------------- pure components


def _pure(type_: str, **config: Any):
    return load_definition(defn([node("start", "start"), node("n", type_, **config)], ["start->n"])).nodes["n"]


def test_compute_pure_transform_set_filter_end():
    env = EvalEnv()
    ctx = {"input": {"items": [{"p": 5}, {"p": 50}, {"p": 1}], "name": "Ada"}, "nodes": {}, "vars": {"k": 2},
           "execution": {}}
    assert compute_pure(_pure("transform", expression="$sum(input.items.p) * vars.k"), ctx, env).output == 112
    out = compute_pure(_pure("set", values={"who": "Hi {{ input.name }}", "n": "{{ $count(input.items) }}"}),
                       ctx, env)
    assert out.output == {"who": "Hi Ada", "n": 3} and out.port == "out"
    kept = compute_pure(_pure("filter", items="input.items", condition="item.p < 10 and index > 0"), ctx, env)
    assert kept.output == [{"p": 1}]
    single = compute_pure(_pure("filter", items="input.name", condition="true"), ctx, env)
    assert single.output == ["Ada"]  # a single value is a one-item list
    none = compute_pure(_pure("filter", items="input.missing", condition="true"), ctx, env)
    assert none.output == []
    end = compute_pure(_pure("end", output={"n": "{{ vars.k }}"}), ctx, env)
    assert end.output == {"n": 2} and end.port == ""


def test_compute_pure_switch_by_value_and_condition():
    env = EvalEnv()
    ctx = {"input": {"c": "DE", "t": 50}, "nodes": {}, "vars": {}, "execution": {}}
    by_value = _pure("switch", expression="input.c", cases=[{"port": "fr", "value": "FR"},
                                                            {"port": "de", "value": "DE"}])
    assert compute_pure(by_value, ctx, env).port == "de"
    by_cond = _pure("switch", cases=[{"port": "gold", "condition": "input.t > 100"},
                                     {"port": "silver", "condition": "input.t > 10"},
                                     {"port": "bronze", "condition": "input.t > 1"}])
    out = compute_pure(by_cond, ctx, env)
    assert (out.port, out.output) == ("silver", {"port": "silver"})  # first matching case wins


# ---------------------------------------------------------------- routing


def test_linear_flow_completes_with_end_output():
    d = defn([node("start", "start"), node("t", "transform", expression="input.a + 1"),
              node("end", "end", output={"t": "{{ nodes.t }}", "exec": "{{ execution.id }}"})],
             ["start->t", "t->end"])
    e = run(d, {"a": 41})
    assert e.finished and e.state["failure"] is None
    assert e.state["result"] == {"t": 42, "exec": EXEC_ID}
    assert e.progress()["status"] == "completed"
    assert statuses(e) == {"start": "completed", "t": "completed", "end": "completed"}
    kinds = [(ev["node_id"], ev["event"]) for ev in e.state["events"]]
    assert kinds == [("start", "started"), ("start", "completed"), ("t", "started"), ("t", "completed"),
                     ("end", "started"), ("end", "completed")]


@pytest.mark.parametrize("amount, expected, skipped", [(2000, "big", "small"), (5, "small", "big")])
def test_decision_routes_by_condition(amount, expected, skipped):
    d = defn([node("start", "start"), node("dec", "decision", condition="input.amount > 1000"),
              node("big", "end", output="big"), node("small", "end", output="small")],
             ["start->dec", "dec:true->big", "dec:false->small"])
    e = run(d, {"amount": amount})
    assert e.state["result"] == expected
    assert e.context["nodes"]["dec"] == {"result": amount > 1000}
    assert statuses(e)[skipped] == "skipped"
    assert e.state["nodes"][expected]["activations"] == 1


def test_switch_falls_back_to_default_port():
    d = defn([node("start", "start"),
              node("sw", "switch", cases=[{"port": "a", "condition": "input.k = 'a'"},
                                          {"port": "b", "condition": "input.k = 'b'"}]),
              node("ea", "end", output="A"), node("eb", "end", output="B"), node("ed", "end", output="D")],
             ["start->sw", "sw:a->ea", "sw:b->eb", "sw:default->ed"])
    assert run(d, {"k": "b"}).state["result"] == "B"
    e = run(d, {"k": "zzz"})
    assert e.state["result"] == "D"
    assert e.context["nodes"]["sw"] == {"port": "default"}
    assert statuses(e)["ea"] == statuses(e)["eb"] == "skipped"


def test_exclusive_merge_runs_node_once_per_arriving_path():
    d = defn([node("start", "start"), node("fan", "transform", expression="1"),
              node("a", "transform", expression="'a'"), node("b", "transform", expression="'b'"),
              node("hit", "transform", expression="$count($keys(nodes))")],
             ["start->fan", "fan->a", "fan->b", "a->hit", "b->hit"])
    drv = Driver(make_engine(d))
    e = drv.run()
    assert e.state["nodes"]["hit"]["activations"] == 2
    assert e.state["nodes"]["a"]["activations"] == e.state["nodes"]["b"]["activations"] == 1
    starts = [ev for ev in e.state["events"] if ev["node_id"] == "hit" and ev["event"] == "started"]
    assert len({ev["seq"] for ev in starts}) == 2  # two distinct activations
    # no end reached: every token ended, the execution is not marked finished by the engine
    assert not e.finished and not e.has_pending() and not e.has_running()


def test_merge_into_activity_gets_distinct_idempotency_keys():
    d = defn([node("start", "start"), node("p", "parallel"),
              node("a", "transform", expression="'a'"), node("b", "transform", expression="'b'"),
              node("hit", "util.noop", value="{{ $keys(nodes) }}")],
             ["start->p", "p->a", "p->b", "a->hit", "b->hit"])
    drv = Driver(make_engine(d))
    drv.run()
    steps = drv.ran("hit")
    assert len(steps) == 2 and all(isinstance(s, RunActivity) for s in steps)
    keys = [s.idempotency_key for s in steps]
    assert len(set(keys)) == 2 and all(k.startswith(f"{EXEC_ID}:hit:") for k in keys)


# ---------------------------------------------------------------- parallel / join


def _parallel_defn(b_condition: str = "true", slow_a: bool = True) -> dict[str, Any]:
    a = node("a", "util.noop", value="A") if slow_a else node("a", "transform", expression="'A'")
    return defn([node("start", "start"), node("p", "parallel"), a,
                 node("b", "decision", condition=b_condition), node("b2", "transform", expression="'B2'"),
                 node("j", "join"), node("end", "end", output="{{ nodes.j }}")],
                ["start->p", "p->a", "p->b", "b:true->b2", "a->j", "b2->j", "j->end"])


def test_join_waits_for_every_branch_and_keys_results_by_branch():
    drv = Driver(make_engine(_parallel_defn()))
    drv.pump()
    e = drv.engine
    # branch b finished inline, branch a (an activity) is still out: the join must not fire yet
    assert e.state["nodes"]["b2"]["status"] == "completed"
    assert e.state["nodes"]["j"]["activations"] == 0 and not e.finished
    assert [s.activity for _, s in drv.queue] == ["util.noop"]
    drv.finish_one(Outcome(output="A-out"))
    drv.run()
    assert e.finished and e.state["failure"] is None
    # keyed by the first node of each branch, holding the branch's last output
    assert e.state["result"] == {"a": "A-out", "b": "B2"}
    assert e.state["nodes"]["j"]["activations"] == 1
    assert e.state["groups"] == {}


def test_branch_that_dies_counts_as_finished_without_result():
    drv = Driver(make_engine(_parallel_defn(b_condition="false")))
    e = drv.run()
    assert e.finished and e.state["failure"] is None
    assert e.state["result"] == {"a": {"activity": "util.noop", "config": {"value": "A"}}, "b": None}
    assert statuses(e)["b2"] == "skipped"


def test_join_fires_when_last_branch_dies_after_others_arrived():
    # the dying branch is the slow one: the join must fire when its token dies, not before
    d = defn([node("start", "start"), node("p", "parallel"), node("a", "transform", expression="'A'"),
              node("slow", "util.noop", value=1), node("gate", "decision", condition="false"),
              node("j", "join"), node("end", "end", output="{{ nodes.j }}")],
             ["start->p", "p->a", "p->slow", "slow->gate", "gate:true->j", "a->j", "j->end"])
    drv = Driver(make_engine(d))
    drv.pump()
    assert drv.engine.state["nodes"]["j"]["activations"] == 0
    drv.run()
    assert drv.engine.state["result"] == {"a": "A", "slow": None}


def test_parallel_whose_branches_all_die_ends_quietly():
    d = defn([node("start", "start"), node("p", "parallel"),
              node("x", "decision", condition="false"), node("y", "decision", condition="false"),
              node("j", "join"), node("end", "end")],
             ["start->p", "p->x", "p->y", "x:true->j", "y:true->j", "j->end"])
    e = run(d)
    assert not e.finished and e.state["groups"] == {} and not e.has_pending()
    assert e.state["nodes"]["j"]["activations"] == 0


def _nested_defn(slow: str) -> dict[str, Any]:
    """p1 -> {p2 -> {c, dd} -> j2, b} -> j1; `slow` names the one branch node that is an activity."""
    def leaf(nid: str, value: str) -> dict[str, Any]:
        return node(nid, "util.noop", value=value) if nid == slow else node(nid, "transform", expression=f"'{value}'")
    return defn([node("start", "start"), node("p1", "parallel"), node("p2", "parallel"),
                 leaf("c", "C"), leaf("dd", "D"), node("j2", "join"), leaf("b", "B"), node("j1", "join"),
                 node("end", "end", output="{{ nodes.j1 }}")],
                ["start->p1", "p1->p2", "p1->b", "p2->c", "p2->dd", "c->j2", "dd->j2", "j2->j1", "b->j1",
                 "j1->end"])


def _value(act: dict[str, Any], step: Any) -> Outcome:
    return Outcome(output=step.config["value"])


def test_nested_parallels_inner_join_first():
    # the outer branch `b` is the slow one: the inner join fires first, then the outer one
    e = run(_nested_defn(slow="b"), handler=_value)
    assert e.state["failure"] is None
    assert e.state["result"] == {"p2": {"c": "C", "dd": "D"}, "b": "B"}


def test_nested_parallels_inner_join_last():
    # an inner branch is the slow one: the inner join fires last, while the outer branch `b` already arrived
    e = run(_nested_defn(slow="dd"), handler=_value)
    assert e.state["failure"] is None
    assert e.state["result"] == {"p2": {"c": "C", "dd": "D"}, "b": "B"}


def test_two_edges_to_same_branch_node_get_distinct_branch_keys():
    d = defn([node("start", "start"), node("p", "parallel"), node("x", "transform", expression="'X'"),
              node("j", "join"), node("end", "end", output="{{ nodes.j }}")],
             ["start->p", "p->x", "p->x", "x->j", "j->end"])
    assert run(d).state["result"] == {"x": "X", "x#2": "X"}


# ---------------------------------------------------------------- failures


def test_failing_node_follows_error_edge_and_exposes_error():
    d = defn([node("start", "start"), node("t", "transform", expression="$error('boom')"),
              node("fix", "transform", expression="nodes.t.error"),
              node("ok", "end", output="ok"), node("bad", "end", output="{{ nodes.fix.message }}")],
             ["start->t", "t->ok", "t:error->fix", "fix->bad"])
    e = run(d)
    assert e.finished and e.state["failure"] is None
    err = e.context["nodes"]["t"]["error"]
    assert err["type"] == "ExpressionError" and "boom" in err["message"]
    assert e.context["nodes"]["fix"]["type"] == "ExpressionError"
    assert "boom" in e.state["result"]
    assert e.state["nodes"]["t"]["status"] == "failed" and e.state["nodes"]["t"]["error"] == err
    assert statuses(e)["ok"] == "skipped"


def test_failing_activity_with_error_edge_routes_there():
    d = defn([node("start", "start"), node("call", "http.request", url="http://peer/x"),
              node("ok", "end", output="ok"),
              node("bad", "end", output="{{ nodes.call.error.type & ':' & nodes.call.error.message }}")],
             ["start->call", "call->ok", "call:error->bad"])
    e = run(d, handler=lambda act, step: Outcome.failed("503 from peer", type="HttpError", attempts=3))
    assert e.state["failure"] is None and e.state["result"] == "HttpError:503 from peer"
    assert e.state["nodes"]["call"]["attempts"] == 3
    assert e.context["nodes"]["call"] == {"error": {"message": "503 from peer", "type": "HttpError",
                                                    "attempts": 3}}


def test_failing_node_without_error_edge_fails_execution_naming_node():
    d = defn([node("start", "start"), node("p", "parallel"), node("slow", "util.noop", value=1),
              node("t", "transform", expression="$error('kaput')"), node("j", "join"), node("end", "end")],
             ["start->p", "p->slow", "p->t", "slow->j", "t->j", "j->end"])
    drv = Driver(make_engine(d))
    e = drv.run()
    assert e.finished
    f = e.state["failure"]
    assert f["node_id"] == "t" and f["node_type"] == "transform" and f["type"] == "ExpressionError"
    assert f["message"].startswith("node 't' (transform) failed:") and "kaput" in f["message"]
    assert e.progress()["status"] == "failed"
    st = statuses(e)
    assert st["slow"] == "cancelled"  # the running sibling branch is cancelled
    assert st["j"] == st["end"] == "skipped"
    # an outcome arriving late for the cancelled sibling changes nothing
    drv.finish_one(Outcome(output="late"))
    assert "slow" not in e.context["nodes"] and e.state["failure"] == f


def test_terminate_fails_with_its_message():
    d = defn([node("start", "start"), node("stop", "terminate", message="bad input {{ input.x }}")],
             ["start->stop"])
    e = run(d, {"x": 7})
    assert e.state["failure"]["message"] == "bad input 7"
    assert e.state["failure"]["type"] == "Terminated" and e.state["failure"]["node_id"] == "stop"


# ---------------------------------------------------------------- loops


def test_loop_runs_body_until_condition_false():
    d = defn([node("start", "start"), node("init", "set", values={"n": 0}),
              node("L", "loop", condition="vars.n < 3", max_iterations=3),
              node("inc", "set", values={"n": "{{ vars.n + 1 }}"}),
              node("end", "end", output={"n": "{{ vars.n }}", "it": "{{ nodes.L.iteration }}"})],
             ["start->init", "init->L", "L:body->inc", "inc->L", "L:done->end"])
    e = run(d)
    assert e.state["failure"] is None
    assert e.state["result"] == {"n": 3, "it": 3}
    assert e.state["nodes"]["L"]["activations"] == 4 and e.state["nodes"]["inc"]["activations"] == 3
    assert e.state["loops"] == {}


def test_loop_fails_past_max_iterations():
    d = defn([node("start", "start"), node("L", "loop", condition="true", max_iterations=3),
              node("b", "transform", expression="1"), node("end", "end")],
             ["start->L", "L:body->b", "b->L", "L:done->end"])
    e = run(d)
    f = e.state["failure"]
    assert f["node_id"] == "L" and f["type"] == "LoopLimitExceeded" and "max_iterations=3" in f["message"]
    assert e.state["nodes"]["b"]["activations"] == 3 and e.state["nodes"]["L"]["activations"] == 4


def test_loop_limit_error_follows_error_edge():
    d = defn([node("start", "start"), node("L", "loop", condition="true", max_iterations=2),
              node("b", "transform", expression="1"), node("end", "end", output="done"),
              node("oops", "end", output="{{ nodes.L.error.type }}")],
             ["start->L", "L:body->b", "b->L", "L:done->end", "L:error->oops"])
    e = run(d)
    assert e.state["failure"] is None and e.state["result"] == "LoopLimitExceeded"


def test_loop_counter_resets_when_entered_from_outside():
    # `x` sends one token straight into the loop and one through an activity `w`. The first stays two
    # iterations (the limit) and leaves by a break in its body (counter left at 2); the second enters from
    # outside later and must start from 0 again, not trip max_iterations.
    d = defn([node("start", "start"), node("x", "transform", expression="1"), node("w", "util.noop"),
              node("L", "loop", condition="true", max_iterations=2),
              node("inc", "set", values={"n": "{{ $exists(vars.n) ? vars.n + 1 : 1 }}"}),
              node("brk", "decision", condition="vars.n % 2 = 0"),
              node("gate", "decision", condition="vars.n >= 4"),
              node("end", "end", output="{{ vars.n }}")],
             ["start->x", "x->L", "x->w", "w->L", "L:body->inc", "inc->brk", "brk:false->L",
              "brk:true->gate", "gate:true->end"])
    drv = Driver(make_engine(d))
    drv.pump()
    e = drv.engine
    assert e.context["vars"]["n"] == 2 and list(e.state["loops"].values()) == [2]
    e = drv.run()
    assert e.state["failure"] is None, e.state["failure"]
    assert e.state["result"] == 4
    assert e.state["nodes"]["L"]["activations"] == 4


# ---------------------------------------------------------------- end, activities, timers, children


def test_end_finishes_and_skips_unvisited_nodes():
    d = defn([node("start", "start"), node("p", "parallel"), node("slow", "util.noop", value=1),
              node("after", "transform", expression="1"), node("end", "end", output="first")],
             ["start->p", "p->slow", "p->end", "slow->after"])
    drv = Driver(make_engine(d))
    drv.pump()
    e = drv.engine
    assert e.finished and e.state["result"] == "first" and e.state["failure"] is None
    st = statuses(e)
    assert st["after"] == "skipped" and st["slow"] == "cancelled" and st["end"] == "completed"
    drv.finish_one(Outcome(output=1))  # the cancelled branch's late outcome changes nothing
    assert e.state["result"] == "first" and not e.has_pending() and statuses(e)["after"] == "skipped"


def test_activity_node_plans_run_activity_with_rendered_config_and_stable_key():
    d = defn([node("start", "start"),
              node("call", "http.request", method="POST", url="{{ input.base }}/orders",
                   json={"id": "{{ input.id }}", "tags": ["{{ input.tag }}", "x"]},
                   headers={"X-Exec": "{{ execution.id }}"}),
              node("end", "end", output="{{ nodes.call }}")],
             ["start->call", "call->end"])
    e = make_engine(d, {"base": "http://peer", "id": 7, "tag": "t1"})
    drv = Driver(e)
    drv.pump()
    (act, step), = drv.queue
    assert isinstance(step, RunActivity) and step.activity == "http.request"
    assert step.config == {"method": "POST", "url": "http://peer/orders", "json": {"id": 7, "tags": ["t1", "x"]},
                           "headers": {"X-Exec": EXEC_ID}}
    assert step.render_context is None
    assert step.idempotency_key == f"{EXEC_ID}:call:{act['seq']}"
    assert step.activity_id == f"call#{act['seq']}"
    again = e.plan(act, NOW + timedelta(hours=1), EvalEnv(now_millis=1), THRESHOLD)
    assert again.idempotency_key == step.idempotency_key and again.config == step.config
    # the same activation planned by an engine rebuilt from serialised state keeps its key
    e2 = Engine(e.defn, e.info, json.loads(json.dumps(e.state)), EXEC_ID)
    act2 = e2.state["running"][str(act["seq"])]
    assert e2.plan(act2, NOW, EvalEnv(), THRESHOLD).idempotency_key == step.idempotency_key
    drv.finish_one(Outcome(output={"status": 201}))
    drv.run()
    assert e.state["result"] == {"status": 201}


def test_wait_plans_sleep_from_duration_and_until():
    d = defn([node("start", "start"), node("w", "wait", duration="PT90S"),
              node("u", "wait", until="{{ input.at }}"), node("end", "end", output="{{ nodes.u }}")],
             ["start->w", "w->u", "u->end"])
    drv = Driver(make_engine(d, {"at": "2024-05-06T08:00:00Z"}))
    drv.pump()
    (_, step), = drv.queue
    assert isinstance(step, Sleep) and step.seconds == 90 and step.until == (NOW + timedelta(seconds=90)).isoformat()
    drv.finish_one()
    drv.pump()
    (_, step), = drv.queue
    assert step.until == "2024-05-06T08:00:00+00:00"
    assert step.seconds == (datetime(2024, 5, 6, 8, tzinfo=timezone.utc) - NOW).total_seconds()


def test_map_plans_children_per_item():
    sub = defn([node("start", "start"), node("end", "end", output="{{ input }}")], ["start->end"])
    d = defn([node("start", "start"), node("m", "map", items="input.xs", definition=sub, concurrency=2),
              node("end", "end", output="{{ nodes.m }}")], ["start->m", "m->end"])
    drv = Driver(make_engine(d, {"xs": [1, 2, 3]}))
    drv.pump()
    (act, step), = drv.queue
    assert isinstance(step, RunChildren) and step.kind == "map"
    assert step.inputs == [1, 2, 3] and step.concurrency == 2 and step.definition == sub
    assert step.child_id_prefix == f"{EXEC_ID}/m/{act['seq']}"


# ---------------------------------------------------------------- state is JSON


def _roundtrip_defn() -> dict[str, Any]:
    return defn([node("start", "start"), node("init", "set", values={"n": 0, "acc": []}),
                 node("L", "loop", condition="vars.n < 3", max_iterations=5),
                 node("p", "parallel"),
                 node("call", "util.noop", value="{{ vars.n }}"),
                 node("calc", "transform", expression="vars.n * 10"),
                 node("j", "join"),
                 node("inc", "set", values={"n": "{{ vars.n + 1 }}",
                                            "acc": "{{ $append(vars.acc, [nodes.j]) }}"}),
                 node("end", "end", output={"acc": "{{ vars.acc }}", "it": "{{ nodes.L }}"})],
                ["start->init", "init->L", "L:body->p", "p->call", "p->calc", "call->j", "calc->j",
                 "j->inc", "inc->L", "L:done->end"])


def _activity(act: dict[str, Any], step: Any) -> Outcome:
    return Outcome(output={"got": step.config["value"], "key": step.idempotency_key})


def test_state_survives_json_round_trip_mid_execution():
    d = _roundtrip_defn()
    ref = Driver(make_engine(d, {"k": 1}), _activity).run()
    assert ref.state["failure"] is None
    acc = ref.state["result"]["acc"]
    assert [x["calc"] for x in acc] == [0, 10, 20] and [x["call"]["got"] for x in acc] == [0, 1, 2]
    assert ref.state["result"]["it"] == {"iteration": 3}

    # same run, but after each activity completes the state is serialised and a fresh engine takes over
    # (continue-as-new carries the state over when nothing is running)
    drv = Driver(make_engine(d, {"k": 1}), _activity)
    roundtrips = 0
    while True:
        drv.pump()
        if drv.engine.finished or not drv.queue:
            break
        drv.finish_one()
        if not drv.queue and drv.engine.has_pending():
            mid = drv.engine.state
            assert mid["groups"] or mid["loops"]  # genuinely mid-execution
            state = json.loads(json.dumps(mid))
            assert state == mid
            drv.engine = Engine(drv.engine.defn, drv.engine.info, state, EXEC_ID)
            roundtrips += 1
    assert roundtrips == 3
    assert drv.engine.state["result"] == ref.state["result"]
    assert drv.engine.state == ref.state


def test_state_round_trip_with_outstanding_activity_continues():
    # a round trip while an activity is out: the running activation from the new state completes it
    d = _parallel_defn()
    drv = Driver(make_engine(d))
    drv.pump()
    (act, _), = drv.queue
    e2 = Engine(drv.engine.defn, drv.engine.info, json.loads(json.dumps(drv.engine.state)), EXEC_ID)
    e2.complete(e2.state["running"][str(act["seq"])], Outcome(output="A!"), NOW)
    drv2 = Driver(e2)
    drv2.run()
    assert e2.state["result"] == {"a": "A!", "b": "B2"}


# ---------------------------------------------------------------- stored payload references


def test_transform_reading_a_stored_payload_is_evaluated_in_an_activity():
    ref = {"$ref": "payload:x", "size": 1}
    d = defn([node("start", "start"), node("t", "transform", expression="$count(input.items)"),
              node("other", "transform", expression="1 + 1"), node("end", "end", output="{{ nodes.t }}")],
             ["start->other", "other->t", "t->end"])
    drv = Driver(make_engine(d, ref))
    drv.pump()
    e = drv.engine
    assert e.context["nodes"]["other"] == 2  # does not read the payload: computed inline
    (act, step), = drv.queue
    assert isinstance(step, RunActivity) and step.activity == EVALUATE_ACTIVITY == "wfo.evaluate"
    assert step.node.id == "t" and step.config == {"expression": "$count(input.items)"}
    assert step.render_context["input"] == ref
    assert "expression" in step.skip_fields
    assert step.idempotency_key == f"{EXEC_ID}:t:{act['seq']}"
    drv.finish_one(Outcome(output=3))
    drv.run()
    assert e.state["result"] == 3


def test_node_output_reference_only_affects_nodes_that_read_it():
    ref = {"$ref": "payload:big", "size": 1}
    d = defn([node("start", "start"), node("big", "util.noop"),
              node("reads", "decision", condition="nodes.big.ok"),
              node("ignores", "transform", expression="input.a"),
              node("end", "end")],
             ["start->big", "big->ignores", "ignores->reads", "reads:true->end"])
    drv = Driver(make_engine(d, {"a": 5}))
    drv.pump()
    drv.finish_one(Outcome(output=ref))
    drv.pump()
    e = drv.engine
    assert e.context["nodes"]["ignores"] == 5
    (_, step), = drv.queue
    assert step.activity == EVALUATE_ACTIVITY and step.node.id == "reads"
    assert step.render_context["nodes"] == {"big": ref}
    drv.finish_one(Outcome(output={"result": True}, port="true"))
    drv.run()
    assert e.finished and e.state["failure"] is None


def test_large_pure_output_is_moved_to_an_activity():
    d = defn([node("start", "start"), node("t", "transform", expression="$pad('', 2000, 'x')"),
              node("end", "end")], ["start->t", "t->end"])
    e = make_engine(d)
    [act] = e.take_ready(NOW)
    e.complete(act, e.plan(act, NOW, EvalEnv(), THRESHOLD).outcome, NOW)
    [act] = e.take_ready(NOW)
    step = e.plan(act, NOW, EvalEnv(), threshold=100)
    assert isinstance(step, RunActivity) and step.activity == EVALUATE_ACTIVITY
    assert step.render_context is not None and step.render_context["input"] is None


def test_expression_env_time_is_the_callers():
    d = defn([node("start", "start"), node("t", "transform", expression="{'now': $now(), 'ms': $millis()}"),
              node("end", "end", output="{{ nodes.t }}")], ["start->t", "t->end"])
    ms = int(NOW.timestamp() * 1000)
    e = Driver(make_engine(d), env=EvalEnv(now_millis=ms)).run()
    assert e.state["result"] == {"now": "2024-05-06T07:08:09.000Z", "ms": ms}


def test_transform_returning_a_function_keeps_state_json():
    d = defn([node("start", "start"), node("t", "transform", expression="function($x){ $x }"),
              node("end", "end", output="{{ nodes.t }}")], ["start->t", "t->end"])
    e = run(d)
    assert json.loads(json.dumps(e.state))["result"] is None


def test_parser_crash_fails_the_node_not_the_engine():
    d = defn([node("start", "start"), node("t", "transform", expression="input.a /"),
              node("end", "end", output="handled"), node("ok", "end")],
             ["start->t", "t:error->end", "t->ok"])
    e = run(d, {"a": 1})
    assert e.state["result"] == "handled"
    assert e.context["nodes"]["t"]["error"]["type"] == "ExpressionError"
