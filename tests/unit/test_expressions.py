"""JSONata expressions and `{{ }}` templates (workflows/expressions.py): typed, deterministic, bounded."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflows.expressions import (
    BudgetExceeded,
    EvalEnv,
    ExpressionError,
    compile_expression,
    evaluate,
    evaluate_condition,
    render,
    syntax_error,
    template_expressions,
)

DATA = {"input": {"n": 3, "name": "Ada", "obj": {"a": 1, "b": [1, 2]}, "items": [{"p": 2}, {"p": 5}],
                  "flag": False, "none": None},
        "nodes": {"t": {"amount": 1200}}, "vars": {}, "execution": {"id": "e1"}}


@pytest.fixture
def env() -> EvalEnv:
    return EvalEnv(now_millis=1_700_000_000_123, random=lambda: 0.25)


# ---------------------------------------------------------------- templates


@pytest.mark.parametrize("template, expected", [
    ("{{ input.n }}", 3),
    ("  {{ input.n * 2 }}  ", 6),  # surrounding whitespace still means "exact"
    ("{{ input.obj }}", {"a": 1, "b": [1, 2]}),
    ("{{ input.items.p }}", [2, 5]),
    ("{{ input.flag }}", False),
    ("{{ input.n > 2 }}", True),
    ("{{ input.none }}", None),
    ("{{ input.missing }}", None),
    ("{{ 2.5 }}", 2.5),
    ("{{ {'x': input.name} }}", {"x": "Ada"}),
])
def test_exact_template_keeps_the_type(env, template, expected):
    out = render(template, DATA, env)
    assert out == expected and type(out) is type(expected)


@pytest.mark.parametrize("template, expected", [
    ("n={{ input.n }}", "n=3"),
    ("{{ input.name }} has {{ $count(input.items) }} items", "Ada has 2 items"),
    ("obj: {{ input.obj }}", 'obj: {"a":1,"b":[1,2]}'),
    ("list {{ input.items }}", 'list [{"p":2},{"p":5}]'),
    ("flag={{ input.flag }}/{{ input.n > 1 }}", "flag=false/true"),
    ("[{{ input.missing }}]", "[]"),  # undefined renders as empty text
    ("{{ input.name }}{{ input.n }}", "Ada3"),  # two templates are interpolation, not exact
    ("no templates here", "no templates here"),
    ("ünï {{ 'çödé' }}", "ünï çödé"),
])
def test_interpolated_template_renders_text(env, template, expected):
    assert render(template, DATA, env) == expected


def test_render_walks_dicts_and_lists_and_honours_skip(env):
    cfg = {"url": "http://x/{{ input.n }}", "json": {"who": "{{ input.name }}", "items": ["{{ input.n }}", 7]},
           "definition": {"keep": "{{ input.n }}"}, "n": 1, "b": True, "z": None}
    out = render(cfg, DATA, env, skip=("definition",))
    assert out == {"url": "http://x/3", "json": {"who": "Ada", "items": [3, 7]},
                   "definition": {"keep": "{{ input.n }}"}, "n": 1, "b": True, "z": None}
    # skip applies only at the top level
    assert render({"a": {"definition": "{{ input.n }}"}}, DATA, env, skip=("definition",)) == {"a": {"definition": 3}}


def test_template_expressions_lists_paths_and_skips_fields():
    cfg = {"url": "{{ a }}/{{ b }}", "json": {"x": ["{{ c }}"]}, "definition": {"y": "{{ d }}"}}
    assert template_expressions(cfg, ("definition",)) == [
        ("config.url", " a "), ("config.url", " b "), ("config.json.x[0]", " c ")]


def test_render_error_in_template_raises_expression_error(env):
    with pytest.raises(ExpressionError) as info:
        render("x {{ input.n + }}", DATA, env)
    assert "cannot parse" in info.value.message and info.value.expression.strip() == "input.n +"


# ---------------------------------------------------------------- evaluation


def test_evaluate_returns_plain_json_types(env):
    assert evaluate("input.n / 3", DATA, env) == 1 and type(evaluate("input.n / 3", DATA, env)) is int
    assert evaluate("input.n / 2", DATA, env) == 1.5
    assert evaluate("input.items.p", DATA, env) == [2, 5]
    out = evaluate("input.items[p > 1]", DATA, env)
    assert out == [{"p": 2}, {"p": 5}] and type(out) is list
    assert json.loads(json.dumps(evaluate("$", DATA, env))) == DATA
    assert evaluate("$uppercase", DATA, env) is None  # a built-in function has no JSON form
    assert evaluate("{'f': $uppercase, 'n': 1}", DATA, env) == {"f": None, "n": 1}


@pytest.mark.parametrize("expr", ["function($x){ $x }", "{'f': function($x){ $x }}", "[1, function(){ 2 }]"])
def test_lambda_values_become_json(env, expr):
    json.dumps(evaluate(expr, DATA, env))  # must not raise


def test_variables_are_bound(env):
    assert evaluate("$item.p * $index", DATA, env, {"item": {"p": 4}, "index": 3}) == 12


@pytest.mark.parametrize("expr, expected", [
    ("input.n > 2", True), ("input.n > 5", False), ("input.missing", False), ("input.name", True),
    ("''", False), ("[]", False), ("0", False), ("input.items", True), ("input.none", False),
])
def test_evaluate_condition_truthiness(env, expr, expected):
    assert evaluate_condition(expr, DATA, env) is expected


def test_now_and_millis_use_env_time(env):
    assert evaluate("$millis()", DATA, env) == 1_700_000_000_123
    assert evaluate("$now()", DATA, env) == "2023-11-14T22:13:20.123Z"
    env.now_millis = 0
    assert evaluate("$now()", DATA, env) == "1970-01-01T00:00:00.000Z"
    assert evaluate("$millis()", DATA, env) == 0
    assert evaluate("$now('[Y0001]-[M01]-[D01]')", DATA, EvalEnv(now_millis=86_400_000 * 31)) == "1970-02-01"


def test_random_and_shuffle_use_env_random():
    draws = iter([0.1, 0.7, 0.3])
    env = EvalEnv(random=lambda: next(draws))
    assert evaluate("[$random(), $random(), $random()]", DATA, env) == [0.1, 0.7, 0.3]
    assert evaluate("$random()", DATA, EvalEnv(random=lambda: 0.99)) == 0.99
    # Fisher-Yates driven by env.random: with 0 every element swaps with the first
    assert evaluate("$shuffle([1,2,3,4])", DATA, EvalEnv(random=lambda: 0.0)) == [2, 3, 4, 1]
    assert evaluate("$shuffle([1,2,3,4])", DATA, EvalEnv(random=lambda: 0.999)) == [1, 2, 3, 4]


def test_evaluation_is_deterministic_for_the_same_env():
    expr = "{'s': $shuffle([1,2,3,4,5,6,7,8]), 'r': $random(), 'now': $now(), 'ms': $millis()}"

    def once(seed: int):
        rng = random.Random(seed)
        return evaluate(expr, DATA, EvalEnv(now_millis=42_000, random=rng.random))

    first = once(7)
    assert first == once(7) == once(7)
    assert sorted(first["s"]) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert first["now"] == "1970-01-01T00:00:42.000Z" and first["ms"] == 42_000
    assert any(once(s)["s"] != first["s"] for s in range(8))  # the shuffle really depends on the seed


def test_one_env_serves_many_evaluations(env):
    # budgets are per evaluation: many small evaluations on one env never add up to a budget failure
    small = EvalEnv(max_steps=200)
    for _ in range(50):
        assert evaluate("[1..20].($ * 2) ~> $sum()", DATA, small) == 420


# ---------------------------------------------------------------- budgets and errors


def test_runaway_expression_exceeds_step_budget():
    env = EvalEnv(max_steps=5_000)
    with pytest.raises(BudgetExceeded) as info:
        evaluate("($f := function($n){ $f($n + 1) }; $f(0))", DATA, env)  # tail call: no depth growth
    assert "5000 evaluation steps" in info.value.message
    with pytest.raises(BudgetExceeded):
        evaluate("[1..1000000].($ * 2)", DATA, env)
    # the same env still works after a budget failure
    assert evaluate("1 + 1", DATA, env) == 2


def test_deep_recursion_exceeds_depth_budget():
    env = EvalEnv(max_depth=60)
    with pytest.raises(BudgetExceeded) as info:
        evaluate("($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(500))", DATA, env)
    assert "deeper than 60" in info.value.message
    assert evaluate("($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(5))", DATA, env) == 5


def test_budget_failures_are_expression_errors():
    assert issubclass(BudgetExceeded, ExpressionError)
    with pytest.raises(ExpressionError):
        evaluate("$map([1..100], function($v){ $v })", DATA, EvalEnv(max_steps=50))


@pytest.mark.parametrize("text, fragment", [
    ("1 +", "Unexpected end of expression"),
    ("foo(", "Expected )"),
    ("[1, 2", "Expected ]"),
    ("'abc", "String literal must be terminated"),
    ("a..b", "Syntax error"),
])
def test_syntax_errors_carry_a_message(env, text, fragment):
    with pytest.raises(ExpressionError) as info:
        evaluate(text, DATA, env)
    assert info.value.message.startswith("cannot parse expression:") and fragment in info.value.message
    assert info.value.expression == text
    assert syntax_error(text) == info.value.message


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_expression_is_an_error(text):
    assert syntax_error(text) == "empty expression"
    with pytest.raises(ExpressionError):
        compile_expression(text)


_PARSER_CRASHES = ["!", "/", "a /", "input.a !", '"\\']


@pytest.mark.parametrize("text", _PARSER_CRASHES)
def test_parser_crashes_become_expression_errors(text):
    assert syntax_error(text) is not None
    with pytest.raises(ExpressionError):
        evaluate(text, DATA, EvalEnv())


_EXPR_ALPHABET = "ab$.()[]{}:,'\"0123 +-*/?=<>&|~^%@#!`\\\n"


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(st.text(alphabet=_EXPR_ALPHABET, max_size=20))
def test_syntax_error_never_raises(text):
    err = syntax_error(text)
    assert err is None or isinstance(err, str)


def test_valid_expression_has_no_syntax_error():
    assert syntax_error("{ 'amount': $sum(input.items.(price * qty)) }") is None
    assert syntax_error("$shuffle([1,2]) ~> $count()") is None


def test_runtime_error_is_expression_error(env):
    with pytest.raises(ExpressionError) as info:
        evaluate("$error('custom failure')", DATA, env)
    assert "custom failure" in info.value.message and not isinstance(info.value, BudgetExceeded)
    with pytest.raises(ExpressionError):
        evaluate("input.name + 1", DATA, env)  # string in arithmetic
