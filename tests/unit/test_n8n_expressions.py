"""n8n expression (JavaScript) -> JSONata: each translation evaluated, expected values are JavaScript's."""

from __future__ import annotations

import pytest

from workflows.expressions import EvalEnv, ExpressionError, evaluate
from workflows.n8n_expressions import Scope, Untranslatable, luxon_to_picture, translate_value, with_helpers

NOW = 1_780_000_000_123  # 2026-05-28T20:26:40.123Z
CONTEXT = {"nodes": {"Fetch": [{"id": 1, "name": "Ann"}, {"id": 2, "name": "Bob"}]}, "execution": {"id": "exec-9"}}
ITEM = {"name": "Ann", "n": 3, "zero": 0, "empty": "", "tags": ["a", "b"], "none": None, "obj": {"k": 1},
        "arr0": [], "s": "  hi  there ", "price": "12.50", "when": "2026-02-20T09:15:00.000+00:00"}


def _items(name: str) -> str:
    if name != "Fetch":
        raise Untranslatable(f"unknown node {name}")
    return "nodes.Fetch"


def scope() -> Scope:
    return Scope(node_items=_items, paired=lambda name: f"{_items(name)}[$i]")


def ev(value, item=ITEM, index=0):
    s = scope()
    expr = translate_value(value, s)
    full = with_helpers(f"($in := [$json, {{'name': 'Second'}}]; {expr})", s.used)
    return evaluate(full, CONTEXT, EvalEnv(now_millis=NOW), {"json": item, "i": index})


@pytest.mark.parametrize("src, expected", [
    ("={{ $json.name }}", "Ann"),
    ("={{ $json['name'] }}", "Ann"),
    ("={{ $json.tags[1] }}", "b"),
    ("={{ $json.tags[5] }}", None),
    ("={{ $json.tags.length }}", 2),
    ("={{ $json.name.length }}", 3),
    ("={{ $json.obj.k }}", 1),
    ("={{ $json.tags.k }}", None),  # a property of an array is undefined in JS (JSONata would map)
    ("={{ $json.n + 1 }}", 4),
    ("={{ $json.name + $json.n }}", "Ann3"),
    ("={{ 'v' + 1 + 2 }}", "v12"),
    ("={{ 1 + 2 + 'v' }}", "3v"),
    ("={{ $json.n * 2 - 1 }}", 5),
    ("={{ -7 % 3 }}", -1),
    ("={{ $json.missing || 'dflt' }}", "dflt"),
    ("={{ $json.zero || 'dflt' }}", "dflt"),
    ("={{ $json.name || 'dflt' }}", "Ann"),
    ("={{ $json.name && $json.n }}", 3),
    ("={{ $json.empty && $json.n }}", ""),
    ("={{ $json.zero ?? 5 }}", 0),
    ("={{ $json.none ?? 5 }}", 5),
    ("={{ $json.arr0 ? 'truthy' : 'falsy' }}", "truthy"),  # [] is truthy in JS
    ("={{ $json.obj ? 1 : 2 }}", 1),
    ("={{ $json.empty ? 1 : 2 }}", 2),
    ("={{ !$json.arr0 }}", False),
    ("={{ !$json.zero }}", True),
    ("={{ $json.none == null }}", True),
    ("={{ $json.missing == null }}", True),
    ("={{ $json.missing === null }}", False),
    ("={{ $json.missing === undefined }}", True),
    ("={{ $json.n === 3 && $json.name !== 'Bob' }}", True),
    ("={{ $json.n > 2 || $json.n < 0 }}", True),
    ("={{ `${$json.name} has ${$json.tags.length} tags` }}", "Ann has 2 tags"),
    ("={{ $json.name.toUpperCase() }}", "ANN"),
    ("={{ $json.s.trim() }}", "hi  there"),
    ("={{ $json.tags.includes('b') }}", True),
    ("={{ $json.name.includes('nn') }}", True),
    ("={{ $json.name.startsWith('An') }}", True),
    ("={{ $json.name.endsWith('x') }}", False),
    ("={{ 'a,b,,c'.split(',') }}", ["a", "b", "", "c"]),
    ("={{ $json.tags.join('-') }}", "a-b"),
    ("={{ 'aXbX'.replace('X', '_') }}", "a_bX"),
    ("={{ Math.round(2.5) }}", 3),
    ("={{ Math.round(-2.5) }}", -2),
    ("={{ Math.max(1, $json.n, 2) }}", 3),
    ("={{ JSON.stringify($json.obj) }}", '{"k":1}'),
    ("={{ Object.keys($json.obj) }}", ["k"]),
    ("={{ $json.tags.map(t => t + '!') }}", ["a!", "b!"]),
    ("={{ [1, 2, 3, 4].filter(x => x % 2 === 0) }}", [2, 4]),
    ("={{ [1, 2].some(x => x > 1) }}", True),
    ("={{ ({a: $json.n, b: [1, 'x']}) }}", {"a": 3, "b": [1, "x"]}),
    ("={{ $('Fetch').item.json.name }}", "Ann"),
    ("={{ $('Fetch').first().json.id }}", 1),
    ("={{ $('Fetch').last().json.name }}", "Bob"),
    ("={{ $('Fetch').all().length }}", 2),
    ("={{ $('Fetch').all().map(i => i.json.id) }}", [1, 2]),
    ("={{ $node['Fetch'].json.name }}", "Ann"),
    ("={{ $input.first().json.name }}", "Ann"),
    ("={{ $input.last().json.name }}", "Second"),
    ("={{ $input.all().length }}", 2),
    ("={{ $input.item.json.n }}", 3),
    ("={{ $itemIndex }}", 0),
    ("={{ $execution.id }}", "exec-9"),
    ("={{ $now.toISO() }}", "2026-05-28T20:26:40.123+00:00"),
    ("={{ $now.toMillis() }}", NOW),
    ("={{ $now.toFormat('yyyy-MM-dd HH:mm') }}", "2026-05-28 20:26"),
    ("=Hello {{ $json.name }}!", "Hello Ann!"),
    ("=a{{ $json.missing }}b{{ $json.none }}c", "abc"),  # undefined/null render as nothing
    ("=n={{ $json.n }} ok={{ $json.n > 1 }}", "n=3 ok=true"),
    ("={{ $json.n }}", 3),  # a whole expression keeps its type
    ("plain text", "plain text"),
    (42, 42),
])
def test_translation_gives_javascripts_value(src, expected):
    assert ev(src) == expected


def test_paired_item_uses_the_item_index():
    assert ev("={{ $('Fetch').item.json.name }}", index=1) == "Bob"


@pytest.mark.parametrize("src, message", [
    ("={{ $json.obj + 'x' }}", "string concatenation of an object"),
    ("={{ $json.n + $json.none }}", "+ on number and null"),
    ("=a {{ $json.obj }}", "object or array inside a text template"),
    ("={{ $json.n == '3' }}", "== between number and string"),
    ("={{ $json.none.k }}", "cannot read property k of null"),
    ("={{ $json.n.toUpperCase() }}", "expected a string, got number"),
])
def test_ambiguous_values_fail_loudly_at_run_time(src, message):
    with pytest.raises(ExpressionError) as info:
        ev(src)
    assert message in info.value.message


@pytest.mark.parametrize("src, reason", [
    ("={{ $vars.region }}", "'$vars' has no exact translation"),
    ("={{ $env.HOME }}", "'$env'"),
    ("={{ $json.name.replace(/a/g, 'b') }}", "unsupported syntax"),
    ("={{ typeof $json.n }}", "'typeof'"),
    ("={{ $json.obj?.k }}", "optional chaining"),
    ("={{ $('Nowhere').item.json.x }}", "unknown node Nowhere"),
    ("={{ $json.tags.map(t => { return t }) }}", "statement body"),
    ("={{ Number($json.price) }}", "Number() is not translated"),
    ("={{ $json.x = 1 }}", "cannot read the expression"),
    ("={{ $now.plus(1, 'day') }}", "$now.plus() is not translated"),
    ("={{ $runIndex }}", "'$runIndex'"),
    ("={{ $('Fetch').first(0, 1).json }}", "run/branch arguments"),
])
def test_untranslatable_says_why(src, reason):
    with pytest.raises(Untranslatable) as info:
        translate_value(src, scope())
    assert reason in info.value.reason


def test_dates_outside_utc_are_untranslatable():
    s = scope()
    s.timezone = "Europe/Berlin"
    with pytest.raises(Untranslatable, match="only UTC"):
        translate_value("={{ $now.toISO() }}", s)


def test_luxon_formats():
    assert luxon_to_picture("dd/MM/yyyy HH:mm:ss") == "[D01]/[M01]/[Y0001] [H01]:[m01]:[s01]"
    assert luxon_to_picture("'Week' yyyy") == "Week [Y0001]"
    with pytest.raises(Untranslatable):
        luxon_to_picture("kkkk")
