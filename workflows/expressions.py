"""JSONata expressions and `{{ }}` templates, deterministic and bounded.

- `$now()`, `$millis()`, `$random()` and `$shuffle()` are bound to the values the caller passes in
  (workflow time and workflow randomness), so evaluation replays identically.
- Every evaluation runs under a step budget and a depth budget. Steps, not wall-clock time, so a
  runaway expression fails the same way on every replay; the default budget is well under a second
  of CPU, far below Temporal's deadlock detector.
- With `EvalEnv.limits` on (the default; the interpreter turns it off only when replaying histories
  recorded before the limits existed, see `EXPRESSION_LIMITS_PATCH`), every evaluation is also bounded
  in work and allocation, counted in data units, never in time (so the same way on every replay):
  * a range `[a..b]` has at most `max_range` items;
  * no string is longer than `max_string` characters (checked on every value an expression produces,
    and before `$pad` allocates);
  * `max_items` bounds the work units of the evaluation: one per array item and object entry its nodes
    produce and in the value returned, more per item every built-in function is handed (walked deeply:
    `$sum`, `$string`, `$sort`... do work in proportion to what they receive); about `$sum` of 14,000
    numbers at the default, ~0.5 s inside the sandbox on a busy machine, where
    Temporal's deadlock detector fires at 2 s. (Nested values are walked only for the built-ins that
    walk them, `$string`, `$distinct`, `$keys`...; the others are charged one level.) `max_chars` bounds
    string characters the same way;
  * values nest at most `max_nesting` levels.
  Over a limit, evaluation stops with `BudgetExceeded` (an `ExpressionError`: the node fails, with
  no retry since the same evaluation fails the same way again). Known gap: regular expressions use
  Python's backtracking `re`, so a pathological pattern is bounded only by the string limits.

Pure code: no I/O, safe inside the workflow sandbox.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from jsonata import Jsonata
from jsonata.jexception import JException
from jsonata.utils import Utils

from workflows.errors import InvalidInput

DEFAULT_MAX_STEPS = 300_000
DEFAULT_MAX_DEPTH = 120
DEFAULT_MAX_RANGE = 100_000
DEFAULT_MAX_ITEMS = 200_000
BUILTIN_ITEM_WEIGHT = 2
TYPED_ARRAY_ITEM_WEIGHT = 12
"""An item handed to a built-in costs BUILTIN_ITEM_WEIGHT units, or TYPED_ARRAY_ITEM_WEIGHT when the function's
signature types its array items (`$sum`, `$max`, `$join`...): JSONata checks each item's type in Python, about
40 µs an item inside the workflow sandbox (an import statement per item goes through the sandbox's importer)."""
DEFAULT_MAX_STRING = 5_000_000
DEFAULT_MAX_CHARS = 50_000_000
DEFAULT_MAX_NESTING = 200

_SCALARS = frozenset({int, float, bool, type(None)})

EXPRESSION_LIMITS_PATCH = "expression-limits"
"""The `workflow.patched` id under which the interpreter evaluates with `EvalEnv.limits` on."""

_TEMPLATE_RE = re.compile(r"\{\{(.*?)\}\}", re.S)
_EXACT_RE = re.compile(r"^\s*\{\{(.*?)\}\}\s*$", re.S)


class ExpressionError(InvalidInput):
    """An expression failed to parse or evaluate. `expression` is the offending source text."""

    def __init__(self, message: str, expression: str | None = None):
        super().__init__(message)
        self.expression = expression


class BudgetExceeded(ExpressionError):
    pass


@dataclass
class EvalEnv:
    """Everything non-deterministic an expression may use, supplied by the caller.

    One env may serve many evaluations (update `now_millis` between them); budgets apply per evaluation.
    """

    now_millis: int = 0
    random: Callable[[], float] = field(default=lambda: 0.5)
    max_steps: int = DEFAULT_MAX_STEPS
    max_depth: int = DEFAULT_MAX_DEPTH
    limits: bool = True
    """Work and allocation limits (module docstring). Off only to replay pre-limit histories."""
    max_range: int = DEFAULT_MAX_RANGE
    max_items: int = DEFAULT_MAX_ITEMS
    max_string: int = DEFAULT_MAX_STRING
    max_chars: int = DEFAULT_MAX_CHARS
    max_nesting: int = DEFAULT_MAX_NESTING
    _bindings: dict[str, Any] | None = field(default=None, init=False, repr=False)
    _counters: list[int] = field(default_factory=lambda: [0, 0, 0, 0], init=False, repr=False)
    """[steps, depth, items, chars] of the running evaluation."""

    def bindings(self) -> dict[str, Any]:
        if self._bindings is None:
            self._bindings = _bindings(self)
        self._counters[:] = [0, 0, 0, 0]
        return self._bindings

    def charge(self, value: Any, deep: bool = True, weight: int = 1) -> None:
        """Count `value` (deeply: every nested item, entry and character) against the budgets.

        The walk stops as soon as a budget is exceeded, so charging costs at most the budget left.
        """
        counters = self._counters
        stack: list[tuple[Any, int]] = [(value, 0)]
        while stack:
            v, level = stack.pop()
            if isinstance(v, str):
                if len(v) > self.max_string:
                    raise BudgetExceeded(f"expression built a string of {len(v)} characters; the limit is "
                                         f"{self.max_string}")
                counters[3] += len(v)
                if counters[3] > self.max_chars:
                    raise BudgetExceeded(f"expression exceeded its budget of {self.max_chars} string "
                                         "characters produced or processed")
                continue
            if isinstance(v, (list, dict)):
                if level >= self.max_nesting:
                    raise BudgetExceeded(f"expression built values nested deeper than {self.max_nesting} levels")
                counters[2] += (len(v) + 1) * weight
                if counters[2] > self.max_items:
                    raise BudgetExceeded(f"expression exceeded its budget of {self.max_items} work units (array "
                                         "items and object entries produced, or handed to functions; array too large?)")
                if deep and not isinstance(v, Utils.RangeList):  # a range holds numbers only
                    for x in (v.values() if isinstance(v, dict) else v):
                        if x.__class__ not in _SCALARS:
                            stack.append((x, level + 1))


def _message(err: BaseException) -> str:
    if isinstance(err, JException):
        msg = str(err) or err.get_error()
        return msg.replace("\n", " ")
    return f"{type(err).__name__}: {err}"


@lru_cache(maxsize=4096)
def compile_expression(text: str) -> Jsonata:
    """Parse a JSONata expression (cached). Raises ExpressionError with the parser's message."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("empty expression", text)
    try:
        compiled = Jsonata(text)
    except JException as err:
        raise ExpressionError(f"cannot parse expression: {_message(err)}", text) from None
    except RecursionError:
        raise ExpressionError("cannot parse expression: nested too deeply", text) from None
    except Exception as err:  # noqa: BLE001 - the parser's own crashes on odd input (IndexError, KeyError...)
        raise ExpressionError(f"cannot parse expression: {type(err).__name__} near the end of the input",
                              text) from None
    if compiled.errors:
        raise ExpressionError(f"cannot parse expression: {_message(compiled.errors[0])}", text)
    compiled.set_validate_input(False)  # our contexts are JSON data already; validating them costs O(size)
    return compiled


def syntax_error(text: str) -> str | None:
    """The parse error of `text`, or None if it parses."""
    try:
        compile_expression(text)
    except ExpressionError as err:
        return err.message
    return None


class _Fn:
    """A JSONata-callable wrapper for our deterministic built-ins."""

    def __init__(self, fn: Callable[..., Any]):
        self.fn = fn

    def call(self, input: Any, args: Any) -> Any:
        return self.fn(*(args or []))


def _bindings(env: EvalEnv) -> dict[str, Any]:
    from jsonata.functions import Functions

    def now(picture: str | None = None, timezone: str | None = None) -> str | None:
        return Functions.datetime_from_millis(env.now_millis, picture, timezone)

    def shuffle(arr: Any) -> Any:
        if arr is None:
            return None
        items = list(arr) if isinstance(arr, list) else [arr]
        for i in range(len(items) - 1, 0, -1):
            j = int(env.random() * (i + 1))
            items[i], items[j] = items[j], items[i]
        return items

    counters = env._counters  # [steps, depth], reset before each evaluation

    def on_entry(expr: Any, input: Any, frame: Any) -> None:
        counters[0] += 1
        counters[1] += 1
        if counters[0] > env.max_steps:
            raise BudgetExceeded(f"expression exceeded its budget of {env.max_steps} evaluation steps "
                                 "(runaway loop or recursion?)")
        if counters[1] > env.max_depth:
            raise BudgetExceeded(f"expression nested deeper than {env.max_depth} levels")

    def on_exit(expr: Any, input: Any, frame: Any, result: Any) -> None:
        counters[1] -= 1

    def on_exit_limited(expr: Any, input: Any, frame: Any, result: Any) -> None:
        counters[1] -= 1
        kind = getattr(expr, "type", None)
        if kind in _LOOKUPS:  # a reference to a value that exists already: no work, no allocation
            return
        if isinstance(result, Utils.RangeList) and result.b - result.a > env.max_range:  # (its len() is one more)
            raise BudgetExceeded(f"range of {result.b - result.a} items; the limit is {env.max_range}")
        if isinstance(result, (str, list, dict)):
            env.charge(result, deep=False)

    fns: dict[str, Any] = {
        "now": _jfunction(_Fn(now), "<s?s?:s>"),
        "millis": _jfunction(_Fn(lambda: env.now_millis), "<:n>"),
        "random": _jfunction(_Fn(lambda: env.random()), "<:n>"),
        "shuffle": _jfunction(_Fn(shuffle), "<a:a>"),
    }
    if not env.limits:
        return {**fns, "__evaluate_entry": on_entry, "__evaluate_exit": on_exit}
    natives = {name: fn for name, fn in Jsonata.static_frame.bindings.items()
               if isinstance(fn, Jsonata.JFunction) and name not in fns}
    metered = {name: _Metered(fn, env, static_name=name) for name, fn in natives.items()}
    metered.update((name, _Metered(fn, env)) for name, fn in fns.items())
    return {**metered, "__evaluate_entry": on_entry, "__evaluate_exit": on_exit_limited}


_DEEP_FUNCTIONS = frozenset({"string", "distinct", "keys", "lookup", "spread", "merge", "each", "sift"})
"""Built-ins that walk their arguments' nested values (charged deeply); the others touch one level."""

_LOOKUPS = frozenset({"variable", "name", "parent", "string", "number", "value", "regex", "lambda"})


_SIGNATURES: dict[str, Any] = {}
"""Parsed JSONata signatures of our own functions, by text: parsing one costs more than a whole short
expression, and a parsed signature is never changed by validation, so one copy serves every environment."""


def _jfunction(fn: Any, signature: str) -> Any:
    """`Jsonata.JFunction(fn, signature)` with the signature parsed once per process."""
    parsed = _SIGNATURES.get(signature)
    if parsed is None:
        parsed = _SIGNATURES[signature] = Jsonata.JFunction(fn, signature).signature
    jfn = Jsonata.JFunction(fn, None)
    jfn.signature = parsed
    return jfn


_WEIGHTS: dict[str, int] = {}
"""Item weight of each JSONata built-in by name, computed once per process rather than for every evaluation
environment (one per execution). Only the static built-ins are cached (their signatures never change); the
per-environment functions (`$now`, `$random`...) are computed each time."""


def _weight_of(inner: Any, cache_as: str | None = None) -> int:
    weight = _WEIGHTS.get(cache_as) if cache_as else None
    if weight is None:
        params = getattr(inner.signature, "_params", None) or []
        typed = any(getattr(p, "subtype", None) for p in params)
        weight = TYPED_ARRAY_ITEM_WEIGHT if typed else BUILTIN_ITEM_WEIGHT
        if cache_as:
            _WEIGHTS[cache_as] = weight
    return weight


class _Metered(Jsonata.JFunction):
    """A built-in function that first charges its arguments (deeply) to the evaluation's budgets.

    Same signature and arity as the wrapped function, so JSONata validates and calls it the same way.
    """

    def __init__(self, inner: Any, env: EvalEnv, static_name: str | None = None):  # no super().__init__
        self.function = inner.function
        self.signature = inner.signature
        self.function_name = inner.function_name
        self._inner = inner
        self._env = env
        self._deep = inner.function_name in _DEEP_FUNCTIONS
        self._weight = _weight_of(inner, cache_as=static_name)

    def call(self, input: Any, args: Any) -> Any:
        args = args or []
        if self._deep:
            self._env.charge(list(args), weight=self._weight)
        else:  # one level: the items of each array argument, the characters of each string
            for arg in args:
                if isinstance(arg, (str, list, dict)):
                    self._env.charge(arg, deep=False, weight=self._weight)
        if self.function_name == "pad" and len(args) > 1 and isinstance(args[1], (int, float)) \
                and abs(args[1]) > self._env.max_string:
            raise BudgetExceeded(f"$pad to {int(abs(args[1]))} characters; the limit is {self._env.max_string}")
        return self._inner.call(input, args)

    def get_number_of_args(self) -> int:
        return self._inner.get_number_of_args()


def to_json_value(value: Any) -> Any:
    """Plain JSON types (JSONata returns sequence subclasses, floats for integers, and functions)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            return int(value)
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_value(v) for v in value]
    return None  # functions, lambdas and other evaluator objects have no JSON form


def evaluate(text: str, data: Any, env: EvalEnv, variables: Mapping[str, Any] | None = None) -> Any:
    """Evaluate JSONata `text` against `data`. Raises ExpressionError (BudgetExceeded on runaway)."""
    compiled = compile_expression(text)
    bindings = env.bindings()
    if variables:
        bindings = {**bindings, **variables}
    Jsonata.CURRENT.jsonata = compiled
    try:
        result = compiled.evaluate(data, bindings)
    except ExpressionError as err:
        if env.limits and err.expression is None:
            err.expression = text
        raise
    except JException as err:
        raise ExpressionError(f"expression failed: {_message(err)}", text) from None
    except RecursionError:
        raise BudgetExceeded("expression nested too deeply (recursion limit)", text) from None
    except MemoryError:
        raise BudgetExceeded("expression ran out of memory", text) from None
    except Exception as err:  # noqa: BLE001 - the evaluator's own bugs must still fail the node, not the worker
        raise ExpressionError(f"expression failed: {_message(err)}", text) from None
    if env.limits:
        try:
            env.charge(result)  # the result is walked (to_json_value, then serialized): bound it first
        except BudgetExceeded as err:
            raise BudgetExceeded(err.message, text) from None
    return to_json_value(result)


def evaluate_condition(text: str, data: Any, env: EvalEnv, variables: Mapping[str, Any] | None = None) -> bool:
    """JSONata truthiness of `text` (undefined is false)."""
    value = evaluate(text, data, env, variables)
    return bool(Jsonata.boolize(value)) if value is not None else False


def _stringify(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def render(value: Any, data: Any, env: EvalEnv, skip: tuple[str, ...] = ()) -> Any:
    """Render `{{ }}` templates in a config value (recursively). Keys in `skip` (top level) stay as they are."""
    if isinstance(value, str):
        if "{{" not in value:
            return value
        exact = _EXACT_RE.match(value)
        if exact and "{{" not in exact.group(1):
            return evaluate(exact.group(1), data, env)
        return _TEMPLATE_RE.sub(lambda m: _stringify(evaluate(m.group(1), data, env)), value)
    if isinstance(value, dict):
        return {k: (v if k in skip else render(v, data, env)) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, data, env) for v in value]
    return value


def template_expressions(value: Any, skip: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """Every `{{ }}` expression in a config value, as (field path, expression)."""
    found: list[tuple[str, str]] = []

    def walk(v: Any, path: str) -> None:
        if isinstance(v, str):
            exact = _EXACT_RE.match(v)
            if exact and "{{" not in exact.group(1):  # same reading as render(): one whole expression
                found.append((path, exact.group(1)))
                return
            for m in _TEMPLATE_RE.finditer(v):
                found.append((path, m.group(1)))
        elif isinstance(v, dict):
            for k, item in v.items():
                if path == "config" and k in skip:
                    continue
                walk(item, f"{path}.{k}")
        elif isinstance(v, list):
            for i, item in enumerate(v):
                walk(item, f"{path}[{i}]")

    walk(value, "config")
    return found
