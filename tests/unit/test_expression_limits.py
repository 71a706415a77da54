"""Issue 10 item 3: work and allocation limits of expressions (pure, no server)."""

from __future__ import annotations

import time

import pytest

from workflows.expressions import BudgetExceeded, EvalEnv, evaluate

DOUBLING = '($s := function($x, $n){ $n = 0 ? $x : $s($x & $x, $n - 1) }; $length($s("ab", 30)))'
NESTED = ('($a := [1..1000]; $b := [$a,$a,$a,$a,$a,$a,$a,$a]; $c := [$b,$b,$b,$b,$b,$b,$b,$b];'
          ' $d := [$c,$c,$c,$c,$c,$c,$c,$c]; $string([$d,$d,$d,$d,$d,$d,$d,$d]))')


@pytest.mark.parametrize("expression, words", [
    ("$sum([1..1000000])", "range of 1000000 items"),
    ("[1..100001]", "range of 100001 items"),
    ("$sum([1..100000])", "work units"),
    (DOUBLING, "string of"),
    ('$pad("x", 1000000000)', "$pad to 1000000000"),
    (NESTED, "work units"),
    ("$reduce([1..300], function($a, $b){ {\"x\": $a} }, {})", "nested deeper"),
    ('$map([1..2000], function($i){ $join($map([1..100], function($j){ "0123456789" }), "") })', "work units"),
])
def test_abuse_fails_fast_with_a_clear_budget_error(expression, words):
    started = time.perf_counter()
    with pytest.raises(BudgetExceeded) as info:
        evaluate(expression, {}, EvalEnv())
    assert time.perf_counter() - started < 2.0  # Temporal's deadlock detector fires at 2 s (busy CI: generous)
    assert words in info.value.message, info.value.message
    assert info.value.expression == expression


@pytest.mark.parametrize("expression, expected", [
    ("$sum([1..14000])", 98007000),
    ("$count([1..40000])", 40000),
    ("$length($pad('', 1000000))", 1000000),
    ("$map([1..3], $string)", ["1", "2", "3"]),
    ("$substring(?, 0, 2)('hello')", "he"),
    ("$join(['a', 'b'], '-')", "a-b"),
    ("$sort([3, 1, 2])", [1, 2, 3]),
    ("[1..5][$ > 2]", [3, 4, 5]),
    ("$string({'a': [1, 2]})", '{"a":[1,2]}'),
])
def test_ordinary_expressions_are_unchanged_under_limits(expression, expected):
    assert evaluate(expression, {}, EvalEnv()) == expected
    assert evaluate(expression, {}, EvalEnv(limits=False)) == expected


def test_limits_off_is_the_old_behaviour_for_replay():
    # a pre-limit history replays with limits off: the same value as before, not a budget failure
    assert evaluate("$sum([1..100001])", {}, EvalEnv(limits=False)) == 100001 * 100002 // 2


def test_budgets_are_per_evaluation():
    env = EvalEnv()
    for _ in range(5):
        assert evaluate("$sum([1..10000])", {}, env) == 50005000
