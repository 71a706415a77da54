"""n8n Code nodes -> `code.javascript`: the generated function body, run in V8 (mini-racer) the way the
`code.javascript` component runs it (`(function (input, nodes, vars, execution, params) {code})(...)`),
gives n8n's items. Expected outputs are n8n's."""

from __future__ import annotations

import json

import pytest
from py_mini_racer import MiniRacer

from workflows.expressions import EvalEnv, render
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
