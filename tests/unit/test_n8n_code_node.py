"""n8n Code nodes -> `code.javascript`: the generated function body, run in V8 (mini-racer) the way the
`code.javascript` component runs it (`(function (input, nodes, vars, execution, params) {code})(...)`),
gives n8n's items. Expected outputs are n8n's."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from py_mini_racer import MiniRacer

from workflows.definition import load_definition
from workflows.engine import Done, Engine, Outcome, RunActivity, new_state
from workflows.expressions import EvalEnv, render
from workflows.graph import analyze
from workflows.n8n_import import import_n8n


def workflow(code: str, mode: str = "runOnceForAllItems", extra_nodes=(), before="Start") -> dict:
    nodes = [{"id": "1", "name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1,
              "position": [0, 0], "parameters": {}},
             *extra_nodes,
             {"id": "9", "name": "Code", "type": "n8n-nodes-base.code", "typeVersion": 2, "position": [300, 0],
              "parameters": {"mode": mode, "jsCode": code}}]
    chain = ["Start", *[n["name"] for n in extra_nodes], "Code"]
    conns = {a: {"main": [[{"node": b, "type": "main", "index": 0}]]} for a, b in zip(chain, chain[1:])}
    return {"name": "code", "nodes": nodes, "connections": conns}


def run_code(wf: dict, node_outputs: dict) -> list:
    result = import_n8n(wf)
    assert result.untranslatable == [], result.untranslatable
    call = next(n for n in result.definition["nodes"] if n["type"] == "code.javascript")
    assert set(call["config"]) == {"code", "params"}  # the component's schema allows only these (and limits)
    context = {"input": None, "nodes": node_outputs, "vars": {}, "execution": {"id": "exec-1"}}
    params = render(call["config"]["params"], context, EvalEnv())
    js = (f"JSON.stringify((function (input, nodes, vars, execution, params) {{{call['config']['code']}\n}})"
          f"(null, {{}}, {{}}, {{\"id\": \"exec-1\"}}, {json.dumps(params)}))")
    return json.loads(MiniRacer().eval(js))


def test_run_once_for_all_items():
    code = ("const out = [];\nfor (const item of $input.all()) {\n  out.push({ json: { name: item.json.name.toUpperCase(),"
            " n: items.length } });\n}\nout.push({ total: $input.all().reduce((s, i) => s + i.json.v, 0) });\n"
            "return out;")
    out = run_code(workflow(code), {"Start": [{"name": "a", "v": 1}, {"name": "b", "v": 2}]})
    # {json} items and plain objects are both accepted, as in n8n's Code node
    assert out == [{"name": "A", "n": 2}, {"name": "B", "n": 2}, {"total": 3}]


def test_run_once_for_each_item_with_paired_reference():
    setn = {"id": "2", "name": "Prices", "type": "n8n-nodes-base.set", "typeVersion": 3.4, "position": [150, 0],
            "parameters": {"includeOtherFields": True, "assignments": {"assignments": [
                {"name": "price", "value": "={{ $json.qty * 2 }}", "type": "number"}]}}}
    code = ("return { json: { i: $itemIndex, price: $json.price, qty: $('Start').item.json.qty,"
            " first: $input.first().json.price, id: $execution.id } };")
    out = run_code(workflow(code, "runOnceForEachItem", [setn]),
                   {"Start": [{"qty": 1}, {"qty": 5}], "Prices": [{"qty": 1, "price": 2}, {"qty": 5, "price": 10}]})
    assert out == [{"i": 0, "price": 2, "qty": 1, "first": 2, "id": "exec-1"},
                   {"i": 1, "price": 10, "qty": 5, "first": 2, "id": "exec-1"}]


def test_each_item_must_return_an_object():
    with pytest.raises(Exception, match="Code doesn't return an object"):
        run_code(workflow("return 5;", "runOnceForEachItem"), {"Start": [{"a": 1}]})


@pytest.mark.parametrize("code, reason", [
    ("const r = await fetch('x'); return r;", "await"),
    ("return [{ json: { at: $now.toISO() } }];", "Luxon"),
    ("const s = $getWorkflowStaticData('global'); return [];", "bindings this import does not provide"),
    ("return $('Nowhere').all();", "'Nowhere'"),
    ("return this.helpers.httpRequest({});", "HTTP helpers"),
])
def test_code_without_a_translation_is_reported(code, reason):
    result = import_n8n(workflow(code))
    (u,) = result.untranslatable
    assert u["node"] == "Code" and reason in u["reason"]


def run_with_v8(definition: dict, input) -> list:
    """Run a definition on the engine core; `code.javascript` steps are evaluated in V8 exactly as the
    component does (rendered params, the function-body wrapper)."""
    d = load_definition(definition)
    info = analyze(d)
    now = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
    state = new_state(d, input, {"id": "exec-1", "workflow_id": None, "started_at": now.isoformat()}, info.start)
    engine = Engine(d, info, state, "exec-1")
    env = EvalEnv(now_millis=int(now.timestamp() * 1000))
    while not engine.finished and engine.has_pending():
        for act in engine.take_ready(now):
            step = engine.plan(act, now, env, 10**9)
            if isinstance(step, RunActivity):
                assert step.activity == "code.javascript", step.activity
                cfg = step.config
                if step.render_context is not None:  # as the component activity does: render with the context
                    cfg = render(cfg, step.render_context, env, tuple(step.skip_fields))
                js = (f"JSON.stringify((function (input, nodes, vars, execution, params) {{{cfg['code']}\n}})"
                      f"(null, {{}}, {{}}, {{\"id\": \"exec-1\"}}, {json.dumps(cfg['params'])}))")
                engine.complete(act, Outcome(output=json.loads(MiniRacer().eval(js))), now)
            else:
                assert isinstance(step, Done), act["node"]
                engine.complete(act, step.outcome, now)
    assert state["failure"] is None, state["failure"]
    return state["result"]


def test_expressions_without_a_jsonata_form_are_evaluated_by_javascript():
    setn = {"id": "2", "name": "Clean", "type": "n8n-nodes-base.set", "typeVersion": 3.4, "position": [150, 0],
            "parameters": {"includeOtherFields": False, "assignments": {"assignments": [
                {"name": "slug", "value": "={{ $json.title.toLowerCase().replace(/[^a-z0-9]+/g, '-') }}",
                 "type": "string"},
                {"name": "kind", "value": "=type: {{ typeof $json.n }}", "type": "string"},
                {"name": "n", "value": "={{ $json.n }}", "type": "number"},
                {"name": "src", "value": "={{ $('Start').item.json.title?.length }}", "type": "number"}]}}}
    wf = {"name": "js", "nodes": [{"id": "1", "name": "Start", "type": "n8n-nodes-base.manualTrigger",
                                   "typeVersion": 1, "position": [0, 0], "parameters": {}}, setn],
          "connections": {"Start": {"main": [[{"node": "Clean", "type": "main", "index": 0}]]}}}
    result = import_n8n(wf)
    assert result.untranslatable == []
    js_nodes = [n for n in result.definition["nodes"] if n["type"] == "code.javascript"]
    assert [n["id"] for n in js_nodes] == ["Clean__js"]
    assert sum("evaluated with JavaScript" in w["message"] for w in result.warnings) == 3
    out = run_with_v8(result.definition, [{"title": "Hello, World!", "n": 2}, {"title": "A+B", "n": 7}])
    assert out == [{"slug": "hello-world-", "kind": "type: number", "n": 2, "src": 13},
                   {"slug": "a-b", "kind": "type: number", "n": 7, "src": 3}]
    # without the fallback, the same parameters are untranslatable
    strict = import_n8n(wf, js_fallback=False)
    assert [u["node"] for u in strict.untranslatable] == ["Clean"]


def test_js_fallback_still_refuses_what_javascript_here_lacks():
    wf = workflow("return [];")
    wf["nodes"][1] = {"id": "9", "name": "Code", "type": "n8n-nodes-base.set", "typeVersion": 3.4, "position": [0, 0],
                      "parameters": {"assignments": {"assignments": [
                          {"name": "t", "value": "={{ $now.plus(1, 'day').toISO() }}", "type": "string"}]}}}
    (u,) = import_n8n(wf).untranslatable
    assert "Luxon" in u["reason"]
