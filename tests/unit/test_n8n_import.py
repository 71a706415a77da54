"""The n8n importer: what it reports as untranslatable, shape errors, ports, triggers and config shapes."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from api.routes.triggers import TriggerCreate
from connectors.registry import default_registry
from workflows.definition import load_definition
from workflows.engine import Done, Engine, new_state
from workflows.expressions import EvalEnv
from workflows.graph import analyze
from workflows.n8n_import import N8nFormatError, import_n8n
from workflows.validation import validate_definition

REGISTRY = default_registry()
FIXTURES = Path(__file__).resolve().parents[1] / "n8n" / "fixtures"


def node(name, type_, params=None, pos=(0, 0), **extra):
    return {"id": name, "name": name, "type": f"n8n-nodes-base.{type_}", "typeVersion": extra.pop("tv", 1),
            "position": list(pos), "parameters": params or {}, **extra}


def chain(*names, conns=None):
    c = {a: {"main": [[{"node": b, "type": "main", "index": 0}]]} for a, b in zip(names, names[1:])}
    c.update(conns or {})
    return c


def wf(nodes, connections):
    return {"name": "t", "nodes": nodes, "connections": connections, "settings": {"executionOrder": "v1"}}


def by_name(result):
    return {n.get("name"): n for n in result.definition["nodes"] if n.get("name")}


def test_every_fixture_translates_and_validates():
    files = sorted(FIXTURES.glob("*.json"))
    assert len(files) >= 10
    for f in files:
        result = import_n8n(json.loads(f.read_text()))
        assert result.untranslatable == [], f.name
        assert validate_definition(result.definition, REGISTRY) == [], f.name


def test_untranslatable_items_name_node_type_and_reason():
    nodes = [
        node("Manual", "manualTrigger"),
        node("Sheets", "googleSheets", {"operation": "append"}),
        node("Py", "code", {"language": "python", "pythonCode": "return []"}, tv=2),
        node("Vars", "set", {"assignments": {"assignments": [{"name": "x", "value": "={{ $vars.x }}",
                                                             "type": "string"}]}}, tv=3.4),
        node("Authed", "httpRequest", {"method": "GET", "url": "https://x.test", "authentication":
                                       "predefinedCredentialType"}, tv=4.2),
        node("Old If", "if", {"conditions": {"string": []}}, tv=1),
        node("Call", "executeWorkflow", {"source": "database", "workflowId": {"__rl": True, "value": "abc"}}, tv=1.1),
        node("Agent", "noOp"),
    ]
    conns = {"Manual": {"main": [[{"node": n, "type": "main", "index": 0}
                                  for n in ("Sheets", "Py", "Vars", "Authed", "Old If", "Call")]]},
             "Agent": {"ai_languageModel": [[{"node": "Sheets", "type": "ai_languageModel", "index": 0}]]}}
    result = import_n8n(wf(nodes, conns))
    got = {(u["node"], u["type"]): u["reason"] for u in result.untranslatable}
    assert "not translated" in got[("Sheets", "n8n-nodes-base.googleSheets")] or \
        "ai_languageModel" in got[("Sheets", "n8n-nodes-base.googleSheets")]
    assert any("ai_languageModel" in u["reason"] for u in result.untranslatable)
    assert "Python" in got[("Py", "n8n-nodes-base.code")]
    assert "assignment 'x'" in got[("Vars", "n8n-nodes-base.set")] and "$vars" in got[("Vars", "n8n-nodes-base.set")]
    assert "credential" in got[("Authed", "n8n-nodes-base.httpRequest")]
    assert "IF v1" in got[("Old If", "n8n-nodes-base.if")]
    assert "'abc'" in got[("Call", "n8n-nodes-base.executeWorkflow")]
    # non-strict: each becomes a terminate node that says why; the rest stays valid
    nodes_out = by_name(result)
    for name in ("Sheets", "Py", "Vars", "Authed", "Old If", "Call"):
        assert nodes_out[name]["type"] == "terminate"
        assert "was not imported" in nodes_out[name]["config"]["message"]
    assert validate_definition(result.definition, REGISTRY) == []


def test_downstream_of_an_untranslatable_node_is_dropped_with_a_warning():
    nodes = [node("Manual", "manualTrigger"), node("X", "airtable"), node("After", "noOp")]
    result = import_n8n(wf(nodes, chain("Manual", "X", "After")))
    assert [u["node"] for u in result.untranslatable] == ["X"]
    assert "After" not in by_name(result)
    assert {"node": "After", "type": "n8n-nodes-base.noOp",
            "message": "not imported: it runs only after an untranslatable node"} in result.warnings


@pytest.mark.parametrize("data, problem", [
    ([], "JSON object"),
    ({"nodes": {}}, "'nodes' must be a list"),
    ({"nodes": [{"name": "A", "type": "n8n-nodes-base.noOp"}, {"name": "A", "type": "n8n-nodes-base.noOp"}]},
     "'A' is used twice"),
    ({"nodes": [{"type": "x"}]}, "nodes[0].name"),
    ({"nodes": [{"name": "A", "type": "x", "position": "here"}]}, "'position' must be [x, y]"),
    ({"nodes": [{"name": "A", "type": "x"}], "connections": {"B": {}}}, "source 'B' is not a node"),
    ({"nodes": [{"name": "A", "type": "x"}], "connections": {"A": {"main": [[{"node": "Z"}]]}}},
     "target 'Z' is not a node"),
    ({"nodes": [{"name": "A", "type": "n8n-nodes-base.noOp"}], "connections": {}}, "no trigger node"),
])
def test_shape_problems_are_reported(data, problem):
    with pytest.raises(N8nFormatError) as info:
        import_n8n(data)
    assert any(problem in p for p in info.value.problems), info.value.problems


def test_positions_notes_and_sticky_notes():
    nodes = [node("Manual", "manualTrigger", pos=(10, 20)), node("Step", "noOp", pos=(250, -40), notes="explain"),
             node("Note", "stickyNote", {"content": "# Hi", "width": 300, "height": 90, "color": 5}, pos=(0, -200))]
    result = import_n8n(wf(nodes, chain("Manual", "Step")))
    assert by_name(result)["Step"]["position"] == {"x": 250, "y": -40}
    assert by_name(result)["Step"]["description"] == "explain"
    assert result.definition["notes"] == [{"id": "note_Note", "text": "# Hi", "position": {"x": 0, "y": -200},
                                           "width": 300, "height": 90, "color": 5}]


def test_if_ports_by_index_and_error_output():
    cond = {"conditions": {"options": {"caseSensitive": True, "typeValidation": "strict"}, "combinator": "and",
                           "conditions": [{"leftValue": "={{ $json.ok }}", "rightValue": "",
                                           "operator": {"type": "boolean", "operation": "true"}}]}}
    nodes = [node("Manual", "webhook", {"path": "x"}, tv=2), node("If", "if", cond, tv=2), node("Yes", "noOp"),
             node("No", "noOp"),
             node("Call", "httpRequest", {"method": "GET", "url": "https://x.test"}, tv=4.2,
                  onError="continueErrorOutput", retryOnFail=True, maxTries=4, waitBetweenTries=2000),
             node("Failed", "noOp")]
    conns = {"Manual": {"main": [[{"node": "If", "type": "main", "index": 0}]]},
             "If": {"main": [[{"node": "Yes", "type": "main", "index": 0}], [{"node": "No", "type": "main", "index": 0}]]},
             "Yes": {"main": [[{"node": "Call", "type": "main", "index": 0}]]},
             "Call": {"main": [[], [{"node": "Failed", "type": "main", "index": 0}]]}}
    result = import_n8n(wf(nodes, conns))
    edges = result.definition["edges"]
    # output 0 of IF (true) -> Yes, output 1 (false) -> No, each behind a router that stops on zero items
    assert {"source": "If__has0", "target": "Yes", "source_port": "true"} in edges
    assert {"source": "If__has1", "target": "No", "source_port": "true"} in edges
    # continueErrorOutput: the error output is the activity's `error` port
    assert {"source": "Call__call", "target": "Failed", "source_port": "error"} in edges
    call = next(n for n in result.definition["nodes"] if n["id"] == "Call__call")
    assert call["type"] == "http.request"
    assert call["retry"] == {"max_attempts": 4, "initial_interval": "PT2S", "backoff_coefficient": 1.0}
    assert validate_definition(result.definition, REGISTRY) == []


def test_side_effects_of_a_multi_item_input_run_once_per_item_in_a_map():
    nodes = [node("Manual", "manualTrigger"),
             node("Post", "httpRequest", {"method": "POST", "url": "={{ $json.url }}"}, tv=4.2,
                  onError="continueErrorOutput"),
             node("Failed", "noOp")]
    result = import_n8n(wf(nodes, {"Manual": {"main": [[{"node": "Post", "type": "main", "index": 0}]]},
                                   "Post": {"main": [[], [{"node": "Failed", "type": "main", "index": 0}]]}}))
    call = next(n for n in result.definition["nodes"] if n["id"] == "Post__call")
    assert call["type"] == "map" and call["config"]["concurrency"] == 1  # in item order, like n8n
    child = call["config"]["definition"]
    assert [n["type"] for n in child["nodes"]] == ["start", "http.request", "end", "end"]
    # each child gets its own item (and every item only when an expression reads $input)
    assert child["nodes"][1]["config"]["url"] == '{{ ($i := input.i; $json := input.json; $lookup($json, "url")) }}'
    assert "'items': $in" not in call["config"]["items"]
    assert {"source": "call", "source_port": "error", "target": "failed"} in child["edges"]
    # the error output: the items whose call failed, after a router
    assert {"source": "Post__has1", "target": "Failed", "source_port": "true"} in result.definition["edges"]
    assert validate_definition(result.definition, REGISTRY) == []


def test_activities_do_not_retry_unless_asked():
    nodes = [node("Manual", "manualTrigger"), node("Get", "httpRequest", {"url": "https://x.test"}, tv=4.2)]
    result = import_n8n(wf(nodes, chain("Manual", "Get")))
    call = next(n for n in result.definition["nodes"] if n["id"] == "Get__call")
    assert call["type"] == "map"
    assert call["config"]["definition"]["nodes"][1]["retry"] == {"max_attempts": 1}


def test_trigger_specs_fit_the_triggers_api():
    rules = [({"field": "minutes", "minutesInterval": 15}, {"interval_seconds": 900}),
             ({"field": "hours", "hoursInterval": 2, "triggerAtMinute": 5}, {"cron": "5 */2 * * *"}),
             ({"field": "weeks", "triggerAtDay": [1, 5], "triggerAtHour": 8}, {"cron": "0 8 * * 1,5"}),
             ({"field": "cronExpression", "expression": "*/10 * * * 1-5"}, {"cron": "*/10 * * * 1-5"})]
    for rule, expected in rules:
        nodes = [node("Tick", "scheduleTrigger", {"rule": {"interval": [rule]}}, tv=1.2), node("S", "noOp")]
        (spec,) = import_n8n(wf(nodes, chain("Tick", "S"))).triggers
        assert {k: v for k, v in spec.items() if k in expected} == expected
        TriggerCreate(**{k: v for k, v in spec.items() if k != "n8n_node"})
    nodes = [node("Tick", "scheduleTrigger", {"rule": {"interval": [{"field": "cronExpression",
                                                                     "expression": "0 */5 * * * *"}]}}, tv=1.2)]
    result = import_n8n(wf(nodes, {}))
    assert result.triggers == [] and "5-field cron" in result.untranslatable[0]["reason"]
    hook = [node("Hook", "webhook", {"httpMethod": "POST", "path": "p", "responseMode": "responseNode"}, tv=2),
            node("Reply", "respondToWebhook", {"respondWith": "json", "responseBody": "={{ { ok: $json.body.a } }}",
                                               "options": {"responseCode": 201}}, tv=1.1)]
    result = import_n8n(wf(hook, chain("Hook", "Reply")))
    (spec,) = result.triggers
    assert spec["response_mode"] == "sync"
    TriggerCreate(**{k: v for k, v in spec.items() if k != "n8n_node"})
    reply = next(n for n in result.definition["nodes"] if n["id"] == "Reply__call")
    assert reply["type"] == "webhook.respond" and reply["config"]["status"] == 201
    assert reply["config"]["body"].startswith("{{ ") and "'ok'" not in reply["config"]["body"]


def test_config_shapes_for_components_being_added():
    nodes = [node("Manual", "manualTrigger"),
             node("Js", "code", {"mode": "runOnceForEachItem", "jsCode": "return {json: {x: $json.a}}"}, tv=2),
             node("My", "mySql", {"operation": "executeQuery", "query": "SELECT ?",
                                  "options": {"queryReplacement": "={{ $json.x }}"}}, tv=2.4,
                  credentials={"mySql": {"id": "1", "name": "shop"}}),
             node("Cache", "redis", {"operation": "set", "key": "k1", "value": "={{ $json.x }}", "expire": True,
                                     "ttl": 30}, credentials={"redis": {"id": "2", "name": "cache"}})]
    result = import_n8n(wf(nodes, chain("Manual", "Js", "My", "Cache")))
    nodes[0] = node("Manual", "webhook", {"path": "x"}, tv=2)  # one item: direct calls, no per-item map
    result = import_n8n(wf(nodes, chain("Manual", "Js", "Cache", "My")))
    assert result.untranslatable == []
    cfg = {n["id"]: n for n in result.definition["nodes"]}
    js = cfg["Js__call"]
    assert js["type"] == "code.javascript" and set(js["config"]) == {"code", "params"}
    assert "return {json: {x: $json.a}}" in js["config"]["code"]  # wrapped with n8n's bindings
    assert js["config"]["params"]["items"].startswith("{{ ")
    my = cfg["My__call"]
    assert my["type"] == "mysql.query" and my["config"]["credential"] == "shop" and my["config"]["query"] == "SELECT ?"
    assert my["config"]["params"].startswith("{{ ")  # one expression: a list, or a string split at commas
    redis = cfg["Cache__call"]
    assert redis["type"] == "redis.command" and redis["config"]["credential"] == "cache"
    assert redis["config"]["command"] == "SET" and redis["config"]["args"][0] == "k1"
    assert redis["config"]["args"][2:] == ["EX", 30]


def test_second_trigger_with_other_nodes_is_reported():
    nodes = [node("Hook", "webhook", {"path": "a"}, tv=2), node("Manual", "manualTrigger"), node("A", "noOp"),
             node("B", "noOp")]
    result = import_n8n(wf(nodes, chain("Hook", "A", conns=chain("Manual", "B"))))
    assert [u["node"] for u in result.untranslatable] == ["Manual"]
    assert "second trigger" in result.untranslatable[0]["reason"]


def run_pure(definition, input):
    """Run a definition made only of pure/control nodes on the engine core, in-process."""
    d = load_definition(definition)
    info = analyze(d)
    now = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
    state = new_state(d, input, {"id": "x", "workflow_id": None, "started_at": now.isoformat()}, info.start)
    engine = Engine(d, info, state, "x")
    env = EvalEnv(now_millis=int(now.timestamp() * 1000))
    while not engine.finished and engine.has_pending():
        for act in engine.take_ready(now):
            step = engine.plan(act, now, env, 10**9)
            assert isinstance(step, Done), act["node"]
            engine.complete(act, step.outcome, now)
    assert state["failure"] is None, state["failure"]
    return state["result"]


def test_set_converts_expression_values_like_n8n():
    def a(name, value, type_):
        return {"name": name, "value": value, "type": type_}

    nodes = [node("M", "manualTrigger"), node("S", "set", {"assignments": {"assignments": [
        a("s_obj", "={{ $json.o }}", "string"), a("s_num", "={{ $json.n }}", "string"),
        a("s_missing", "={{ $json.nope }}", "string"), a("n_str", "={{ $json.ns }}", "number"),
        a("n_empty", "={{ $json.e }}", "number"), a("b_str", "={{ $json.bs }}", "boolean"),
        a("b_one", "={{ 1 }}", "boolean"), a("nested.x", "={{ $json.n }}", "number"),
        a("lit_num", "7", "number"), a("lit_arr", "[1, 2]", "array")]}}, tv=3.4)]
    result = import_n8n(wf(nodes, chain("M", "S")))
    out = run_pure(result.definition, {"o": {"k": [1, 2]}, "n": 3, "ns": " 4.5 ", "e": "", "bs": "TRUE"})
    assert out == [{"s_obj": '{"k":[1,2]}', "s_num": "3", "s_missing": None, "n_str": 4.5, "n_empty": 0,
                    "b_str": True, "b_one": True, "nested": {"x": 3}, "lit_num": 7, "lit_arr": [1, 2]}]
    bad = [node("M", "manualTrigger"), node("S", "set", {"assignments": {"assignments": [
        a("n", "={{ $json.word }}", "number")]}}, tv=3.4)]
    result = import_n8n(wf(bad, chain("M", "S")))
    try:
        run_pure(result.definition, {"word": "abc"})
    except AssertionError as err:
        assert "cannot be converted to number" in str(err)
    else:
        raise AssertionError("a non-numeric string must fail a number assignment")
