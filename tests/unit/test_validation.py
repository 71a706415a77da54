"""Whole-definition validation (workflows/validation.py): every problem, located at its node/edge/field."""

from __future__ import annotations

import ast
import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.registry import default_registry
from tests.helpers import defn, node
from workflows.definition import Problem
from workflows.validation import validate_definition


def _issue_example() -> dict[str, Any]:
    """ISSUE_EXAMPLE from the engine tests, read as a literal: importing that module would pull in the worker
    and Temporal, which these unit tests must not need."""
    source = (Path(__file__).parents[1] / "engine" / "test_workflow_constructs.py").read_text()
    for stmt in ast.parse(source).body:
        if isinstance(stmt, ast.Assign) and any(getattr(t, "id", None) == "ISSUE_EXAMPLE" for t in stmt.targets):
            return ast.literal_eval(stmt.value)
    raise AssertionError("ISSUE_EXAMPLE not found")


ISSUE_EXAMPLE = _issue_example()


def problems(d: Any) -> list[Problem]:
    out = validate_definition(d, default_registry())
    assert isinstance(out, list) and all(isinstance(p, Problem) for p in out)
    return out


def codes(d: Any) -> list[str]:
    return [p.code for p in problems(d)]


def only(d: Any, code: str) -> list[Problem]:
    """The problems of `d`, asserting they are all of kind `code` (and there is at least one)."""
    found = problems(d)
    assert found and {p.code for p in found} == {code}, [str(p) for p in found]
    return found


def linear(*middle: dict[str, Any]) -> dict[str, Any]:
    """start -> middle... -> end."""
    ids = ["start"] + [n["id"] for n in middle] + ["end"]
    return defn([node("start", "start"), *middle, node("end", "end")],
                [f"{a}->{b}" for a, b in zip(ids, ids[1:])])


# ---------------------------------------------------------------- valid definitions


def test_issue_example_is_valid():
    assert [n["id"] for n in ISSUE_EXAMPLE["nodes"]] == ["start", "total", "big", "notify", "end"]
    assert problems(ISSUE_EXAMPLE) == []


def test_a_rich_valid_definition_has_no_problems():
    sub = defn([node("start", "start"), node("t", "transform", expression="input * 2"),
                node("end", "end", output="{{ nodes.t }}")], ["start->t", "t->end"])
    d = defn([node("start", "start"),
              node("s", "set", values={"greeting": "Hi {{ input.name }}"}),
              node("sw", "switch", cases=[{"port": "a", "condition": "input.k = 'a'"}]),
              node("f", "filter", items="input.items", condition="item.p > 1"),
              node("m", "map", items="nodes.f", definition=sub, concurrency=4),
              node("w", "wait", duration="PT5M"),
              node("call", "http.request", url="{{ input.url }}", method="POST", json="{{ nodes.m }}",
                   retry={"max_attempts": 2, "initial_interval": "PT2S", "maximum_interval": "PT1M",
                          "non_retryable_errors": ["HttpError"]}, timeout="PT10S"),
              node("end", "end", output="{{ vars }}")],
             ["start->s", "s->sw", "sw:a->f", "sw:default->f", "f->m", "m->w", "w->call", "call->end",
              "call:error->end"])
    assert problems(d) == []


# ---------------------------------------------------------------- one test per problem kind


def test_duplicate_ids():
    d = linear(node("a", "transform", expression="1"))
    d["nodes"].append(node("a", "transform", expression="2"))
    [p] = only(d, "duplicate_id")
    assert p.node_id == "a" and "more than once" in p.message


def test_bad_node_id():
    d = linear(node("9 bad id", "transform", expression="1"))
    found = problems(d)
    assert any(p.code == "bad_node_id" and p.field == "nodes[1].id" for p in found)


def test_unknown_component_type():
    [p] = only(linear(node("x", "no.such.thing")), "unknown_type")
    assert p.node_id == "x" and p.field == "type" and "'no.such.thing'" in p.message
    assert "http.request" in p.message  # lists the known types


def test_missing_type():
    d = linear({"id": "x"})
    [p] = only(d, "missing_type")
    assert p.node_id == "x"


@pytest.mark.parametrize("bad, field, fragment", [
    (node("x", "transform"), "config", "'expression' is a required property"),
    (node("x", "transform", expression=""), "config.expression", "should be non-empty"),
    (node("x", "http.request", method="GET"), "config", "'url' is a required property"),
    (node("x", "http.request", url="http://a", verb="GET"), "config", "allowed: "),
    (node("x", "http.request", url="http://a", method="FETCH"), "config.method", "is not one of"),
    (node("x", "http.request", url="http://a", json={}, body="b"), "config", "should not be valid"),
    (node("x", "decision", condition="true", extra=1), "config", "Additional properties"),
    (node("x", "loop", condition="true", max_iterations=0), "config.max_iterations", "less than the minimum"),
    (node("x", "wait"), "config", "exactly one of: duration, until"),
    (node("x", "set", values={}), "config.values", "should be non-empty"),
    (node("x", "switch", cases=[]), "config.cases", "should be non-empty"),
    (node("x", "switch", cases=[{"condition": "true"}]), "config.cases[0]", "'port' is a required property"),
])
def test_bad_config_per_component_schema(bad, field, fragment):
    found = [p for p in problems(linear(bad)) if p.code == "bad_config"]
    assert len(found) == 1, [str(p) for p in found]
    assert found[0].node_id == "x" and found[0].field == field and fragment in found[0].message


def test_additional_property_message_lists_allowed_fields():
    [p] = [p for p in problems(linear(node("x", "transform", expression="1", expr="2"))) if p.code == "bad_config"]
    assert "'expr'" in p.message and "(allowed: expression)" in p.message


def test_template_values_are_not_checked_against_the_schema():
    # a `{{ }}` template stands for a value of any type, checked when rendered
    d = linear(node("x", "http.request", url="http://a", timeout_seconds="{{ input.t }}",
                    method="{{ input.m }}"))
    assert problems(d) == []


def test_bad_config_shape_and_name():
    d = linear({"id": "x", "type": "transform", "config": [1], "name": 5})
    found = {(p.code, p.field) for p in problems(d) if p.node_id == "x"}
    assert ("bad_config", "config") in found and ("bad_name", "name") in found


def test_edge_to_missing_node():
    d = linear(node("a", "transform", expression="1"))
    d["edges"].append({"source": "a", "target": "ghost"})
    d["edges"].append({"source": "nobody", "target": "end"})
    found = only(d, "missing_node")
    assert [(p.edge_index, p.field) for p in found] == [(2, "target"), (3, "source")]
    assert "'ghost'" in found[0].message and "'nobody'" in found[1].message


def test_bad_edge_shapes():
    d = linear()
    d["edges"] += ["start->end", {"source": 1, "target": "end"}, {"source": "start", "target": "end",
                                                                   "source_port": 3}]
    found = [(p.code, p.edge_index, p.field) for p in problems(d)]
    assert ("bad_edge", 1, None) in found and ("bad_edge", 2, "source") in found
    assert ("bad_edge", 3, "source_port") in found


@pytest.mark.parametrize("n, port, allowed", [
    (node("x", "decision", condition="true"), "maybe", "true, false, error"),
    (node("x", "transform", expression="1"), "body", "out, error"),
    (node("x", "switch", cases=[{"port": "a", "condition": "true"}]), "b", "a, default, error"),
    (node("x", "parallel"), "error", "out"),
    (node("x", "loop", condition="true"), "out", "body, done, error"),
])
def test_unknown_port(n, port, allowed):
    d = defn([node("start", "start"), n, node("end", "end")], ["start->x", f"x:{port}->end"])
    [p] = only(d, "unknown_port")
    assert p.node_id == "x" and p.edge_index == 1 and p.field == "source_port"
    assert f"no port '{port}'" in p.message and f"(ports: {allowed})" in p.message


def test_edge_out_of_end_node():
    d = defn([node("start", "start"), node("end", "end"), node("after", "end")], ["start->end", "end->after"])
    [p] = only(d, "unknown_port")
    assert p.node_id == "end" and "this node ends the execution" in p.message


def test_sourcehandle_alias_is_a_port():
    d = defn([node("start", "start"), node("x", "decision", condition="true"), node("end", "end")],
             ["start->x"])
    d["edges"] += [{"source": "x", "sourceHandle": "true", "target": "end"},
                   {"source": "x", "sourceHandle": "nope", "target": "end"}]
    [p] = only(d, "unknown_port")
    assert p.edge_index == 2


def test_no_start():
    d = defn([node("a", "transform", expression="1"), node("end", "end")], ["a->end"])
    [p] = only(d, "no_start")
    assert p.node_id is None


def test_several_starts():
    d = defn([node("s1", "start"), node("s2", "start"), node("end", "end")], ["s1->end", "s2->end"])
    found = only(d, "several_starts")
    assert sorted(p.node_id for p in found) == ["s1", "s2"] and "2 'start' nodes" in found[0].message


def test_edge_into_start():
    d = defn([node("start", "start"), node("a", "transform", expression="1"), node("end", "end")],
             ["start->a", "a->start", "a->end"])
    found = [p for p in problems(d) if p.code == "edge_into_start"]
    assert [(p.node_id, p.edge_index) for p in found] == [("start", 1)]


def test_no_end():
    d = defn([node("start", "start"), node("a", "transform", expression="1")], ["start->a"])
    [p] = only(d, "no_end")
    assert p.node_id is None


def test_unreachable_node():
    d = linear(node("a", "transform", expression="1"))
    d["nodes"] += [node("island", "transform", expression="2"), node("island2", "end")]
    d["edges"].append({"source": "island", "target": "island2"})
    found = only(d, "unreachable")
    assert sorted(p.node_id for p in found) == ["island", "island2"]


def test_cycle_without_loop():
    d = defn([node("start", "start"), node("a", "transform", expression="1"),
              node("b", "decision", condition="true"), node("end", "end")],
             ["start->a", "a->b", "b:true->a", "b:false->end"])
    [p] = only(d, "cycle_without_loop")
    assert p.node_id == "a" and "a -> b" in p.message


def test_self_loop_is_a_cycle():
    d = defn([node("start", "start"), node("a", "decision", condition="true"), node("end", "end")],
             ["start->a", "a:true->a", "a:false->end"])
    [p] = only(d, "cycle_without_loop")
    assert p.node_id == "a"


def test_cycle_through_a_loop_is_accepted():
    d = defn([node("start", "start"), node("L", "loop", condition="vars.n < 3"),
              node("b", "set", values={"n": "{{ vars.n + 1 }}"}), node("c", "transform", expression="1"),
              node("end", "end")],
             ["start->L", "L:body->b", "b->c", "c->L", "L:done->end"])
    assert problems(d) == []


def test_join_without_parallel():
    d = defn([node("start", "start"), node("a", "transform", expression="1"), node("j", "join"),
              node("end", "end")], ["start->a", "a->j", "j->end"])
    [p] = only(d, "join_without_parallel")
    assert p.node_id == "j" and "no parallel" in p.message


def _two_parallels(join_config: dict[str, Any] | None = None) -> dict[str, Any]:
    return defn([node("start", "start"), node("p1", "parallel"), node("p2", "parallel"),
                 node("a", "transform", expression="1"), node("b", "transform", expression="2"),
                 node("c", "transform", expression="3"), node("dd", "transform", expression="4"),
                 node("j", "join", **(join_config or {})), node("end", "end")],
                ["start->p1", "start->p2", "p1->a", "p1->b", "p2->c", "p2->dd",
                 "a->j", "b->j", "c->j", "dd->j", "j->end"])


def test_ambiguous_join():
    [p] = only(_two_parallels(), "join_without_parallel")
    assert p.node_id == "j" and "several parallels" in p.message and "p1, p2" in p.message


def test_explicit_join_parallel_is_accepted():
    assert problems(_two_parallels({"parallel": "p2"})) == []


@pytest.mark.parametrize("target, fragment", [("ghost", "not a node"), ("a", "is a 'transform' node")])
def test_explicit_join_parallel_must_be_a_parallel(target, fragment):
    [p] = only(_two_parallels({"parallel": target}), "join_without_parallel")
    assert p.node_id == "j" and fragment in p.message


def test_parallel_join_pairs_inferred():
    d = defn([node("start", "start"), node("p", "parallel"), node("a", "transform", expression="1"),
              node("b", "transform", expression="2"), node("j", "join"), node("end", "end")],
             ["start->p", "p->a", "p->b", "a->j", "b->j", "j->end"])
    assert problems(d) == []


@pytest.mark.parametrize("n, field", [
    (node("x", "transform", expression="1 +"), "config.expression"),
    (node("x", "decision", condition="(a"), "config.condition"),
    (node("x", "filter", items="items[", condition="true"), "config.items"),
    (node("x", "loop", condition="'open"), "config.condition"),
    (node("x", "switch", cases=[{"port": "a", "condition": "true"}, {"port": "b", "condition": "x ="}]),
     "config.cases[1].condition"),
    (node("x", "switch", expression="a..b", cases=[{"port": "a", "value": 1}]), "config.expression"),
])
def test_bare_expression_that_does_not_parse(n, field):
    d = defn([node("start", "start"), n, node("end", "end")], ["start->x", "x:error->end"])
    [p] = only(d, "bad_expression")
    assert p.node_id == "x" and p.field == field and "cannot parse expression" in p.message


@pytest.mark.parametrize("n, field", [
    (node("x", "http.request", url="http://h/{{ input.id + }}"), "config.url"),
    (node("x", "http.request", url="http://h", json={"a": ["ok", "{{ foo( }}"]}), "config.json.a[1]"),
    (node("x", "set", values={"v": "{{ [1, 2 }}"}), "config.values.v"),
    (node("x", "end", output="{{ }}"), "config.output"),
])
def test_template_expression_that_does_not_parse(n, field):
    d = defn([node("start", "start"), n], ["start->x"]) if n["type"] == "end" else linear(n)
    [p] = only(d, "bad_expression")
    assert p.node_id == "x" and p.field == field and p.message.startswith("in {{")


def test_skipped_template_fields_are_not_parsed():
    # an inline definition's templates are checked as part of that definition, not the parent's config
    sub = defn([node("start", "start"), node("end", "end", output="{{ input }}")], ["start->end"])
    assert problems(linear(node("x", "subworkflow", definition=sub, input="{{ input.a }}"))) == []


@pytest.mark.parametrize("raw, field", [
    ({"max_attempts": 0}, "retry.max_attempts"),
    ({"max_attempts": True}, "retry.max_attempts"),
    ({"initial_interval": "1s"}, "retry.initial_interval"),
    ({"maximum_interval": "P1M"}, "retry.maximum_interval"),  # months are not allowed
    ({"backoff_coefficient": 0.5}, "retry.backoff_coefficient"),
    ({"non_retryable_errors": "HttpError"}, "retry.non_retryable_errors"),
    ({"attempts": 3}, "retry.attempts"),
])
def test_bad_retry(raw, field):
    [p] = only(linear(node("x", "http.request", url="http://h", retry=raw)), "bad_retry")
    assert p.node_id == "x" and p.field == field


def test_retry_must_be_an_object():
    [p] = only(linear(node("x", "http.request", url="http://h", retry=[1])), "bad_retry")
    assert p.field == "retry"


@pytest.mark.parametrize("timeout", ["30s", "PT", "P", "PT0S", 30, "P1Y"])
def test_bad_timeout(timeout):
    [p] = only(linear(node("x", "http.request", url="http://h", timeout=timeout)), "bad_timeout")
    assert p.node_id == "x" and p.field == "timeout"


@pytest.mark.parametrize("timeout", ["PT30S", "P1D", "P1DT2H", "PT1.5S", "P2W", "PT1H30M"])
def test_good_timeout(timeout):
    assert problems(linear(node("x", "http.request", url="http://h", timeout=timeout))) == []


def test_retry_on_a_pure_node_is_not_applicable():
    [p] = only(linear(node("x", "transform", expression="1", retry={"max_attempts": 2})), "retry_not_applicable")
    assert p.node_id == "x" and p.field == "retry"


@pytest.mark.parametrize("kind, extra", [("map", {"items": "input"}), ("subworkflow", {})])
def test_problems_inside_inline_definition(kind, extra):
    sub = defn([node("start", "start"), node("t", "transform", expression="1 +"), node("q", "bogus")],
               ["start->t"])  # bad expression, unknown type, no end, unreachable q
    found = [p for p in problems(linear(node("outer", kind, definition=sub, **extra)))]
    assert {p.code for p in found} == {"bad_expression", "unknown_type", "no_end", "unreachable"}
    assert all(p.node_id == "outer" and p.field == "config.definition" for p in found)
    assert all(p.message.startswith("in the inline definition: ") for p in found)
    assert any("node 't'" in p.message for p in found) and any("node 'q'" in p.message for p in found)


def test_inline_definition_without_nodes_and_edges():
    found = problems(linear(node("outer", "subworkflow", definition={"nodes": []})))
    assert all(p.node_id == "outer" and p.field == "config.definition" for p in found)
    [p] = [p for p in found if p.code == "bad_config"]
    assert "'edges' is a required property" in p.message
    # and the inline definition is still checked as far as it goes
    assert {p.code for p in found} == {"bad_config", "no_nodes", "no_start"}


def test_deeply_nested_inline_definitions_are_bounded():
    d = defn([node("start", "start"), node("end", "end")], ["start->end"])
    for _ in range(7):
        d = linear(node("sub", "subworkflow", definition=d))
    found = problems(d)
    assert [p.code for p in found] == ["too_deep"]


def test_many_problems_reported_at_once():
    d = defn([node("start", "start"),
              node("t", "transform", expression="1 +"),                 # bad_expression
              node("h", "http.request", method="GET"),                   # bad_config (no url)
              node("u", "nope"),                                         # unknown_type
              node("dec", "decision", condition="true"),                 # unknown_port (maybe)
              node("r", "http.request", url="http://x", retry={"max_attempts": 0}, timeout="soon"),
              node("j", "join"),                                         # join_without_parallel
              node("c1", "transform", expression="1"), node("c2", "transform", expression="2"),  # cycle
              node("lost", "transform", expression="3"),                 # unreachable
              node("t", "transform", expression="4"),                    # duplicate_id
              node("end", "end")],
             ["start->t", "t->h", "h->u", "u->dec", "dec:maybe->r", "dec:true->j", "r->c1", "c1->c2",
              "c2->c1", "j->end", "t->ghost"])
    found = problems(d)
    got = {(p.code, p.node_id) for p in found}
    expected = {("bad_expression", "t"), ("bad_config", "h"), ("unknown_type", "u"), ("unknown_port", "dec"),
                ("bad_retry", "r"), ("bad_timeout", "r"), ("join_without_parallel", "j"),
                ("cycle_without_loop", "c1"), ("unreachable", "lost"), ("duplicate_id", "t"),
                ("missing_node", None)}
    assert got == expected, sorted(got ^ expected)
    assert next(p for p in found if p.code == "unknown_port").edge_index == 4
    assert next(p for p in found if p.code == "missing_node").edge_index == 10
    assert all(p.to_dict()["code"] == p.code for p in found)


@pytest.mark.parametrize("data, code", [
    (None, "not_an_object"), ([], "not_an_object"), ("defn", "not_an_object"),
    ({}, "no_nodes"), ({"nodes": {}}, "no_nodes"), ({"nodes": [], "edges": []}, "no_nodes"),
    ({"nodes": [], "edges": {}}, "no_edges"), ({"schema_version": 2, "nodes": []}, "schema_version"),
    ({"nodes": [5]}, "bad_node"),
])
def test_top_level_shape_problems(data, code):
    assert code in codes(data)


def test_problem_str_and_dict():
    p = Problem("bad_config", "oops", node_id="n", edge_index=2, field="config.x")
    assert str(p) == "node 'n', edge #2, config.x: oops"
    assert p.to_dict() == {"code": "bad_config", "message": "oops", "node_id": "n", "edge_index": 2,
                           "field": "config.x", "severity": "error"}
    assert str(Problem("no_start", "none")) == "none"


# ---------------------------------------------------------------- bugs found


@pytest.mark.parametrize("cases", [5, True, 2.5])
def test_switch_cases_not_a_list_is_reported_not_raised(cases):
    d = linear(node("x", "switch", cases=cases))
    assert any(p.code == "bad_config" and p.node_id == "x" for p in problems(d))


@pytest.mark.parametrize("port", [["a"], 1, {"a": 1}])
def test_switch_case_port_not_a_string_is_reported_not_raised(port):
    d = defn([node("start", "start"), node("x", "switch", cases=[{"port": port, "condition": "true"}]),
              node("end", "end")], ["start->x", "x:zzz->end"])
    found = problems(d)
    assert any(p.code == "bad_config" and p.node_id == "x" for p in found)
    assert any(p.code == "unknown_port" and p.node_id == "x" for p in found)


def test_exact_template_with_nested_object_is_valid():
    from workflows.expressions import EvalEnv, render

    value = "{{ {'amount': {'value': input.n}} }}"
    assert render(value, {"input": {"n": 1}}, EvalEnv()) == {"amount": {"value": 1}}
    assert problems(linear(node("x", "http.request", url="http://h", json=value))) == []


@pytest.mark.parametrize("text", ["input.a /", "!", "input.a !"])
def test_expression_crashing_the_parser_is_reported(text):
    d = defn([node("start", "start"), node("x", "decision", condition=text), node("end", "end")],
             ["start->x", "x:true->end"])
    [p] = only(d, "bad_expression")
    assert p.node_id == "x" and p.field == "config.condition"


# ---------------------------------------------------------------- property: never raises

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False, width=32)
    | st.sampled_from(["", "start", "end", "a", "out", "true", "body", "{{ x }}", "{{", "1 +", "P1D", "PT1S"])
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["id", "type", "config", "nodes", "edges", "source", "target",
                                       "source_port", "retry", "timeout", "name", "expression", "cases",
                                       "definition", "parallel", "condition", "items", "x"]) | st.text(max_size=5),
                      children, max_size=5),
    max_leaves=25,
)

_VALID = defn(
    [node("start", "start"), node("p", "parallel"), node("a", "transform", expression="input.a"),
     node("b", "http.request", url="{{ input.u }}", retry={"max_attempts": 2}, timeout="PT5S"),
     node("j", "join"), node("L", "loop", condition="vars.n < 2", max_iterations=3),
     node("s", "set", values={"n": "{{ vars.n + 1 }}"}),
     node("sw", "switch", cases=[{"port": "x", "condition": "true"}]),
     node("m", "map", items="input.xs", definition=defn([node("start", "start"), node("end", "end")],
                                                        ["start->end"])),
     node("end", "end", output="{{ nodes.j }}")],
    ["start->p", "p->a", "p->b", "a->j", "b->j", "j->L", "L:body->s", "s->L", "L:done->sw", "sw:x->m",
     "sw:default->end", "m->end"],
)


def test_valid_seed_for_mutation_is_valid():
    assert problems(_VALID) == []


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, prefix + (i,))
    return out


@st.composite
def _mutated(draw) -> Any:
    data = copy.deepcopy(_VALID)
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(data) if p]
        path = draw(st.sampled_from(paths))
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "delete", "duplicate"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[path[-1]]))
        else:
            parent[path[-1]] = draw(_json)
    return data


@settings(max_examples=200, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.one_of(_json, _mutated()))
def test_validate_never_raises(data):
    found = validate_definition(data, default_registry())
    assert isinstance(found, list) and all(isinstance(p, Problem) for p in found)
    assert all(isinstance(p.code, str) and isinstance(p.message, str) for p in found)
