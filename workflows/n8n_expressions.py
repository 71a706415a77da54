"""n8n expressions (JavaScript inside `{{ }}`) to JSONata, only where the mapping is exact.

Pure code (layer 0). The translator parses a small JavaScript subset (member access, calls of a known set
of methods, operators, literals, arrow functions in `.map`/`.filter`/...) and emits JSONata. Anything
outside that subset raises `Untranslatable` with the reason: the importer then lists the parameter
instead of guessing. Where JavaScript and JSONata differ on a value's type (``+`` on strings and numbers,
truthiness of ``[]``/``{}``, ``||`` returning an operand, a property of an array), the emitted JSONata
decides on the runtime type with small helper lambdas, or fails with ``$error`` naming the construct
(loudly, never a different value).

Scope: an n8n node evaluates its parameters once per input item; the caller supplies, as JSONata, the
current item's json (``$json``), its index (``$i``), the input items (``$in``) and how to reach another
node's items (`Scope.node_items`) and the item paired with the current one (`Scope.paired`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class Untranslatable(Exception):
    """The expression (or node) has no exact translation; `reason` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


HELPERS: dict[str, str] = {
    # JavaScript truthiness ([] and {} are truthy, unlike JSONata's $boolean)
    "jt": "function($v){ $exists($v) and ($type($v) in ['array', 'object'] or $boolean($v)) }",
    # String(v) for `+` concatenation
    "js": "function($v){ $type($v) = 'string' ? $v : $type($v) = 'number' ? $string($v) : "
          "$type($v) = 'boolean' ? ($v ? 'true' : 'false') : $type($v) = 'null' ? 'null' : "
          "$exists($v) ? $error('n8n expression: string concatenation of an object or array has no exact "
          "translation') : 'undefined' }",
    # rendering of a value inside a mixed text template ("Hi {{ $json.name }}")
    "ts": "function($v){ $type($v) = 'string' ? $v : $type($v) = 'number' ? $string($v) : "
          "$type($v) = 'boolean' ? ($v ? 'true' : 'false') : ($type($v) = 'null' or $not($exists($v))) ? '' : "
          "$error('n8n expression: an object or array inside a text template has no exact translation') }",
    # a + b with JavaScript's rule: string concatenation if either side is a string
    "plus": "function($a, $b){ ($type($a) = 'string' or $type($b) = 'string') ? $js($a) & $js($b) : "
            "($type($a) = 'number' and $type($b) = 'number') ? $a + $b : "
            "$error('n8n expression: + on ' & $type($a) & ' and ' & $type($b) & ' has no exact translation') }",
    # property of a value: only objects have named properties (JS: an array's `.x` is undefined)
    "g": "function($o, $k){ $type($o) = 'object' ? $lookup($o, $k) : $type($o) = 'null' ? "
         "$error('n8n expression: cannot read property ' & $k & ' of null') }",
    # o[k] for arrays (non-negative index), objects and strings
    "ix": "function($o, $k){ $type($o) = 'array' ? ($type($k) = 'number' and $k >= 0 ? $o[$k]) : "
          "$type($o) = 'object' ? $lookup($o, $string($k)) : $type($o) = 'string' ? "
          "($type($k) = 'number' and $k >= 0 and $k < $length($o) ? $substring($o, $k, 1)) }",
    # .length of strings and arrays
    "len": "function($o){ $type($o) = 'string' ? $length($o) : $type($o) = 'array' ? $count($o) : "
           "$error('n8n expression: .length of ' & $type($o)) }",
    # == with JavaScript's loose rules where they are unambiguous
    "leq": "function($a, $b){ ($not($exists($a)) or $type($a) = 'null') ? ($not($exists($b)) or $type($b) = 'null') : "
           "$type($a) = $type($b) ? $a = $b : ($not($exists($b)) or $type($b) = 'null') ? false : "
           "$error('n8n expression: == between ' & $type($a) & ' and ' & $type($b) & ' has no exact translation') }",
    # strict equality (=== treats undefined as a value)
    "seq": "function($a, $b){ $exists($a) ? ($exists($b) and $a = $b) : $not($exists($b)) }",
    # includes() of strings and arrays
    "inc": "function($o, $x){ $type($o) = 'string' ? $contains($o, $x) : $type($o) = 'array' ? $x in $o : "
           "$error('n8n expression: .includes() of ' & $type($o)) }",
}
_HELPER_DEPS = {"plus": ("js",), "leq": (), "js": (), "ts": ()}


def with_helpers(expr: str, used: set[str]) -> str:
    """Prefix `expr` with the helper lambdas it uses (a JSONata block)."""
    need: list[str] = []

    def add(name: str) -> None:
        for dep in _HELPER_DEPS.get(name, ()):
            add(dep)
        if name not in need:
            need.append(name)

    for name in sorted(used):
        add(name)
    if not need:
        return expr
    return "(" + "; ".join(f"${n} := {HELPERS[n]}" for n in need) + "; " + expr + ")"


@dataclass
class Scope:
    """How the n8n bindings of one node read our context (all values are JSONata expressions)."""

    json: str = "$json"
    index: str = "$i"
    input_items: str = "$in"
    node_items: Callable[[str], str] = field(default=lambda name: _no_node(name))
    """n8n node name -> JSONata yielding that node's output items (list of item json)."""
    paired: Callable[[str], str] = field(default=lambda name: _no_node(name))
    """n8n node name -> JSONata for that node's item paired with the current item."""
    timezone: str = "UTC"
    execution_id: str = "execution.id"
    """JSONata for n8n's `$execution.id` (inside a per-item child workflow: the parent's id, passed in)."""
    used: set[str] = field(default_factory=set)
    """Helper lambdas the emitted JSONata needs (see `with_helpers`)."""
    fallback: Callable[[str, str], str] | None = None
    """(parameter value, reason) -> JSONata reading the value computed elsewhere (a JavaScript evaluator);
    called when the value has no exact JSONata translation. May raise Untranslatable itself."""


def _no_node(name: str) -> str:
    raise Untranslatable(f"refers to node '{name}', which is not an upstream node here")


# ------------------------------------------------------------------ tokenizer

_TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<tpl>`(?:[^`\\]|\\.)*`)
  | (?P<name>[A-Za-z_$][A-Za-z0-9_$]*)
  | (?P<op>===|!==|==|!=|<=|>=|&&|\|\||\?\?|\?\.|=>|[.\[\](){},?:!<>+\-*/%])
""", re.X)


@dataclass
class Tok:
    kind: str
    text: str
    pos: int


def tokenize(src: str) -> list[Tok]:
    toks: list[Tok] = []
    pos = 0
    while pos < len(src):
        m = _TOKEN_RE.match(src, pos)
        if not m:
            raise Untranslatable(f"cannot read the expression at {src[pos:pos + 12]!r}")
        kind = m.lastgroup or ""
        if kind != "ws":
            toks.append(Tok(kind, m.group(0), pos))
        pos = m.end()
    toks.append(Tok("eof", "", pos))
    return toks


def _js_string(text: str) -> str:
    body = text[1:-1]
    out, i = [], 0
    esc = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "`": "`", "0": "\0"}
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt == "u" and re.match(r"[0-9a-fA-F]{4}", body[i + 2:i + 6]):
                out.append(chr(int(body[i + 2:i + 6], 16)))
                i += 6
                continue
            out.append(esc.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def jstr(value: str) -> str:
    """A JSONata string literal."""
    return json.dumps(value, ensure_ascii=False)


def field_name(name: str) -> str:
    """A JSONata path step for a field name."""
    if re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name) and name not in ("and", "or", "in", "true", "false", "null",
                                                                       "function"):
        return name
    if "`" in name:
        raise Untranslatable(f"field name {name!r} contains a backtick")
    return f"`{name}`"


# ------------------------------------------------------------------ values


@dataclass
class V:
    """A translated JavaScript value. kind: val (expr is JSONata), item (expr: the item's json),
    items (expr: list of item json), input ($input), node ($('Name'); name), now (expr: epoch millis),
    ns (a namespace object such as Math; name), fn (an arrow function)."""

    kind: str
    expr: str = ""
    type: str = "any"  # for val: str, num, bool, null, obj, arr, any
    name: str = ""
    params: tuple[str, ...] = ()
    body: Any = None


def _val(expr: str, type_: str = "any") -> V:
    return V("val", expr, type_)


_LUXON_TOKENS = [
    ("yyyy", "[Y0001]"), ("yy", "[Y01]"), ("MMMM", "[MNn]"), ("MMM", "[MNn,3-3]"), ("MM", "[M01]"), ("M", "[M1]"),
    ("dd", "[D01]"), ("d", "[D1]"), ("HH", "[H01]"), ("H", "[H1]"), ("hh", "[h01]"), ("h", "[h1]"), ("mm", "[m01]"),
    ("m", "[m1]"), ("ss", "[s01]"), ("s", "[s1]"), ("SSS", "[f001]"), ("EEEE", "[FNn]"), ("EEE", "[FNn,3-3]"),
    ("a", "[PN]"),
]


def luxon_to_picture(fmt: str) -> str:
    """A Luxon `toFormat` pattern as an XPath picture string (`$fromMillis`); Untranslatable otherwise."""
    out, i = [], 0
    while i < len(fmt):
        if fmt[i] == "'":
            j = fmt.find("'", i + 1)
            if j < 0:
                raise Untranslatable(f"unterminated quote in date format {fmt!r}")
            out.append(fmt[i + 1:j].replace("[", "[[").replace("]", "]]"))
            i = j + 1
            continue
        for tok, pic in _LUXON_TOKENS:
            if fmt.startswith(tok, i):
                out.append(pic)
                i += len(tok)
                break
        else:
            c = fmt[i]
            if c.isalpha():
                raise Untranslatable(f"date format token {c!r} in {fmt!r} has no exact translation")
            out.append(c.replace("[", "[[").replace("]", "]]"))
            i += 1
    return "".join(out)


def iso_picture(timezone: str) -> str:
    if timezone not in ("UTC", "Etc/UTC", "GMT"):
        raise Untranslatable(f"dates in time zone {timezone!r}: only UTC workflows translate exactly")
    return "[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001]+00:00"


# ------------------------------------------------------------------ parser / emitter


class _Parser:
    def __init__(self, src: str, scope: Scope, locals_: dict[str, V] | None = None):
        self.src = src
        self.toks = tokenize(src)
        self.i = 0
        self.scope = scope
        self.locals: dict[str, V] = dict(locals_ or {})

    # -------- token helpers
    def peek(self, k: int = 0) -> Tok:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def take(self, text: str | None = None) -> Tok:
        t = self.peek()
        if text is not None and t.text != text:
            raise Untranslatable(f"expected {text!r} at {self.src[t.pos:t.pos + 12]!r}")
        self.i += 1
        return t

    def at(self, *texts: str) -> bool:
        t = self.peek()
        return t.kind in ("op", "name") and t.text in texts

    # -------- entry
    def parse(self) -> V:
        v = self.ternary()
        if self.peek().kind != "eof":
            t = self.peek()
            raise Untranslatable(f"unsupported syntax at {self.src[t.pos:t.pos + 16]!r}")
        return v

    # -------- grammar
    def ternary(self) -> V:
        if self._arrow_ahead():
            return self.arrow()
        cond = self.nullish()
        if self.at("?"):
            self.take("?")
            a = self.ternary()
            self.take(":")
            b = self.ternary()
            self.scope.used.add("jt")
            return _val(f"($jt({self.value(cond).expr}) ? {self.value(a).expr} : {self.value(b).expr})",
                        a.type if a.type == b.type else "any")
        return cond

    def _arrow_ahead(self) -> bool:
        t = self.peek()
        if t.kind == "name" and self.peek(1).text == "=>":
            return True
        if t.text == "(":
            j = self.i + 1
            while self.toks[j].kind == "name" or self.toks[j].text == ",":
                j += 1
            return self.toks[j].text == ")" and self.toks[j + 1].text == "=>"
        return False

    def arrow(self) -> V:
        params: list[str] = []
        if self.at("("):
            self.take("(")
            while not self.at(")"):
                params.append(self.take().text)
                if self.at(","):
                    self.take(",")
            self.take(")")
        else:
            params.append(self.take().text)
        self.take("=>")
        if self.at("{"):
            raise Untranslatable("arrow functions with a statement body have no JSONata translation")
        start = self.i
        depth = 0
        while True:  # the body extends to the closing ')' or ',' of the call
            t = self.peek()
            if t.kind == "eof" or (depth == 0 and t.text in (")", ",", "]", "}")):
                break
            if t.text in ("(", "[", "{"):
                depth += 1
            elif t.text in (")", "]", "}"):
                depth -= 1
            self.i += 1
        return V("fn", params=tuple(params), body=(start, self.i))

    def nullish(self) -> V:
        left = self.logical_or()
        while self.at("??"):
            self.take()
            right = self.logical_or()
            left = _val(f"($a := {self.value(left).expr}; ($exists($a) and $type($a) != 'null') ? $a : "
                        f"{self.value(right).expr})")
        return left

    def logical_or(self) -> V:
        left = self.logical_and()
        while self.at("||"):
            self.take()
            right = self.logical_and()
            self.scope.used.add("jt")
            if left.type == "bool" and right.type == "bool":
                left = _val(f"({left.expr} or {right.expr})", "bool")
            else:
                left = _val(f"($a := {self.value(left).expr}; $jt($a) ? $a : {self.value(right).expr})")
        return left

    def logical_and(self) -> V:
        left = self.equality()
        while self.at("&&"):
            self.take()
            right = self.equality()
            self.scope.used.add("jt")
            if left.type == "bool" and right.type == "bool":
                left = _val(f"({left.expr} and {right.expr})", "bool")
            else:
                left = _val(f"($a := {self.value(left).expr}; $jt($a) ? {self.value(right).expr} : $a)")
        return left

    def equality(self) -> V:
        left = self.relational()
        while self.at("===", "!==", "==", "!="):
            op = self.take().text
            right = self.relational()
            lv, rv = self.value(left), self.value(right)
            if op in ("===", "!=="):
                if lv.expr == "$undefined" or rv.expr == "$undefined":
                    other = rv if lv.expr == "$undefined" else lv
                    expr = f"$not($exists({other.expr}))"
                elif lv.type in ("str", "num", "bool", "null") or rv.type in ("str", "num", "bool", "null"):
                    expr = f"({lv.expr} = {rv.expr})"
                else:
                    self.scope.used.add("seq")
                    expr = f"$seq({lv.expr}, {rv.expr})"
            else:
                if lv.expr == "$undefined" or rv.expr == "$undefined" or lv.type == "null" or rv.type == "null":
                    other = rv if (lv.expr == "$undefined" or lv.type == "null") else lv
                    expr = f"($o := {other.expr}; $not($exists($o)) or $type($o) = 'null')"
                elif lv.type == rv.type and lv.type in ("str", "num", "bool"):
                    expr = f"({lv.expr} = {rv.expr})"
                else:
                    self.scope.used.add("leq")
                    expr = f"$leq({lv.expr}, {rv.expr})"
            if op in ("!==", "!="):
                expr = f"$not({expr})"
            left = _val(expr, "bool")
        return left

    def relational(self) -> V:
        left = self.additive()
        while self.at("<", ">", "<=", ">="):
            op = self.take().text
            right = self.additive()
            left = _val(f"({self.value(left).expr} {op} {self.value(right).expr})", "bool")
        return left

    def additive(self) -> V:
        left = self.multiplicative()
        while self.at("+", "-"):
            op = self.take().text
            right = self.multiplicative()
            lv, rv = self.value(left), self.value(right)
            if op == "-":
                left = _val(f"({lv.expr} - {rv.expr})", "num")
            elif lv.type == "num" and rv.type == "num":
                left = _val(f"({lv.expr} + {rv.expr})", "num")
            elif lv.type == "str" and rv.type == "str":
                left = _val(f"({lv.expr} & {rv.expr})", "str")
            elif lv.type == "str" or rv.type == "str":
                self.scope.used.add("js")
                a = lv.expr if lv.type == "str" else f"$js({lv.expr})"
                b = rv.expr if rv.type == "str" else f"$js({rv.expr})"
                left = _val(f"({a} & {b})", "str")
            else:
                self.scope.used.add("plus")
                left = _val(f"$plus({lv.expr}, {rv.expr})")
        return left

    def multiplicative(self) -> V:
        left = self.unary()
        while self.at("*", "/", "%"):
            op = self.take().text
            right = self.unary()
            left = _val(f"({self.value(left).expr} {op} {self.value(right).expr})", "num")
        return left

    def unary(self) -> V:
        if self.at("!"):
            self.take()
            v = self.value(self.unary())
            if v.type == "bool":
                return _val(f"$not({v.expr})", "bool")
            self.scope.used.add("jt")
            return _val(f"$not($jt({v.expr}))", "bool")
        if self.at("-"):
            self.take()
            v = self.value(self.unary())
            return _val(f"-({v.expr})", "num")
        if self.at("+"):
            raise Untranslatable("unary + (number conversion) has no exact translation")
        if self.at("typeof", "new", "await", "delete", "void"):
            raise Untranslatable(f"'{self.peek().text}' has no JSONata translation")
        return self.postfix(self.primary())

    def args(self) -> list[V]:
        self.take("(")
        out: list[V] = []
        while not self.at(")"):
            out.append(self.ternary())
            if self.at(","):
                self.take(",")
            elif not self.at(")"):
                raise Untranslatable("expected ',' or ')' in a call")
        self.take(")")
        return out

    def primary(self) -> V:
        t = self.peek()
        if t.kind == "num":
            self.take()
            return _val(repr(float(t.text)) if "e" in t.text.lower() else t.text, "num")
        if t.kind == "str":
            self.take()
            return _val(jstr(_js_string(t.text)), "str")
        if t.kind == "tpl":
            self.take()
            return self.template_literal(t.text)
        if t.text == "(":
            self.take()
            v = self.ternary()
            self.take(")")
            if v.kind == "val":
                return _val(f"({v.expr})", v.type)
            return v
        if t.text == "[":
            self.take()
            items: list[str] = []
            while not self.at("]"):
                items.append(self.value(self.ternary()).expr)
                if self.at(","):
                    self.take(",")
            self.take("]")
            return _val("[" + ", ".join(items) + "]", "arr")
        if t.text == "{":
            self.take()
            pairs: list[str] = []
            while not self.at("}"):
                k = self.take()
                if k.kind == "str":
                    key = _js_string(k.text)
                elif k.kind in ("name", "num"):
                    key = k.text
                else:
                    raise Untranslatable("computed object keys have no exact translation")
                if self.at(":"):
                    self.take(":")
                    value = self.value(self.ternary()).expr
                elif k.kind == "name":
                    value = self.value(self.name_value(k.text)).expr
                else:
                    raise Untranslatable("expected ':' in an object literal")
                pairs.append(f"{jstr(key)}: {value}")
                if self.at(","):
                    self.take(",")
            self.take("}")
            return _val("{" + ", ".join(pairs) + "}", "obj")
        if t.kind == "name":
            self.take()
            if t.text == "$" and self.at("("):
                a = self.args()
                if len(a) != 1 or a[0].kind != "val" or a[0].type != "str" or not a[0].expr.startswith('"'):
                    raise Untranslatable("$() needs a node name as a string literal")
                return V("node", name=json.loads(a[0].expr))
            return self.name_value(t.text)
        raise Untranslatable(f"unsupported syntax at {self.src[t.pos:t.pos + 16]!r}")

    def template_literal(self, text: str) -> V:
        body = text[1:-1]
        parts: list[str] = []
        pos = 0
        for m in re.finditer(r"\$\{", body):
            if m.start() < pos:
                continue
            depth, j = 1, m.end()
            while j < len(body) and depth:
                depth += {"{": 1, "}": -1}.get(body[j], 0)
                j += 1
            if depth:
                raise Untranslatable("unterminated ${ } in a template literal")
            if m.start() > pos:
                parts.append(jstr(_js_string("`" + body[pos:m.start()] + "`")))
            inner = _Parser(body[m.end():j - 1], self.scope, self.locals).parse()
            iv = self.value(inner)
            self.scope.used.add("js")
            parts.append(iv.expr if iv.type == "str" else f"$js({iv.expr})")
            pos = j
        if pos < len(body):
            parts.append(jstr(_js_string("`" + body[pos:] + "`")))
        return _val("(" + " & ".join(parts or ['""']) + ")", "str")

    def name_value(self, name: str) -> V:
        if name in self.locals:
            return self.locals[name]
        s = self.scope
        if name == "$json":
            return _val(s.json, "obj")
        if name == "$input":
            return V("input")
        if name == "$itemIndex":
            return _val(s.index, "num")
        if name in ("$now", "$today"):
            if name == "$now":
                return V("now", "$millis()")
            return V("now", "($m := $millis(); $m - ($m % 86400000))")
        if name == "$node":
            return V("ns", name="$node")
        if name == "$execution":
            return V("ns", name="$execution")
        if name in ("true", "false"):
            return _val(name, "bool")
        if name == "null":
            return _val("null", "null")
        if name == "undefined":
            return _val("$undefined", "any")
        if name in ("Math", "JSON", "Object", "String", "Number", "Boolean", "Array", "parseInt", "parseFloat"):
            return V("ns", name=name)
        if name in ("$vars", "$env", "$workflow", "$prevNode", "$runIndex", "$binary", "$parameter", "$secrets",
                    "$jmespath", "$if", "$max", "$min", "$evaluateExpression", "$items", "items", "$position",
                    "$data", "$response", "$pageCount", "$request", "$fromAI", "$agentInfo", "$nodeVersion",
                    "$mode", "$webhookId"):
            raise Untranslatable(f"'{name}' has no exact translation")
        raise Untranslatable(f"unknown name '{name}'")

    # -------- postfix: member access, index, calls
    def postfix(self, v: V) -> V:
        while True:
            if self.at("?."):
                raise Untranslatable("optional chaining (?.) is not translated")
            if self.at("."):
                self.take(".")
                name = self.take().text
                if self.at("("):
                    v = self.method(v, name, self.args_raw())
                else:
                    v = self.member(v, name)
            elif self.at("["):
                self.take("[")
                key = self.value(self.ternary())
                self.take("]")
                v = self.index(v, key)
            elif self.at("(") and v.kind == "ns":
                v = self.ns_call(v.name, self.args())
            else:
                return v

    def args_raw(self) -> list[V]:
        return self.args()

    def member(self, v: V, name: str) -> V:
        s = self.scope
        if v.kind == "input":
            if name == "item":
                return V("item", s.json)
            raise Untranslatable(f"$input.{name} is not translated")
        if v.kind == "node":
            if name == "item":
                return V("item", s.paired(v.name))
            if name == "json":  # $node["X"].json: the paired item
                return _val(s.paired(v.name), "obj")
            if name == "isExecuted":
                return _val(f"$exists({s.node_items(v.name)})", "bool")
            raise Untranslatable(f"$('{v.name}').{name} is not translated")
        if v.kind == "item":
            if name == "json":
                return _val(v.expr, "obj")
            raise Untranslatable(f"item.{name} is not translated (only .json)")
        if v.kind == "items":
            if name == "length":
                return _val(f"$count({v.expr})", "num")
            raise Untranslatable(f"items.{name} is not translated")
        if v.kind == "ns":
            if v.name == "$execution" and name == "id":
                return _val(self.scope.execution_id, "str")
            if v.name == "Math" and name == "PI":
                return _val("3.141592653589793", "num")
            raise Untranslatable(f"{v.name}.{name} is not translated")
        if v.kind == "now":
            raise Untranslatable(f"$now.{name} is not translated")
        if v.kind == "fn":
            raise Untranslatable("a function used as a value")
        # plain value
        if name == "length":
            if v.type == "str":
                return _val(f"$length({v.expr})", "num")
            if v.type == "arr":
                return _val(f"$count({v.expr})", "num")
            s.used.add("len")
            return _val(f"$len({v.expr})", "num")
        if v.type == "obj" and v.expr in (s.json,) or v.expr.startswith("{"):
            return _val(f"$lookup({v.expr}, {jstr(name)})")
        s.used.add("g")
        return _val(f"$g({v.expr}, {jstr(name)})")

    def index(self, v: V, key: V) -> V:
        s = self.scope
        if v.kind == "ns" and v.name == "$node":
            if key.type != "str" or not key.expr.startswith('"'):
                raise Untranslatable("$node[...] needs a node name as a string literal")
            return V("node", name=json.loads(key.expr))
        if v.kind == "items":
            if key.type == "num" and re.fullmatch(r"\d+", key.expr):
                return V("item", f"{v.expr}[{key.expr}]")
            return V("item", f"($k := {key.expr}; $type($k) = 'number' and $k >= 0 ? {v.expr}[$k])")
        if v.kind != "val":
            raise Untranslatable("indexing this value is not translated")
        if key.type == "str" and key.expr.startswith('"'):
            return self.member(v, json.loads(key.expr))
        s.used.add("ix")
        return _val(f"$ix({v.expr}, {key.expr})")

    def _fn(self, f: V, kinds: tuple[str, ...]) -> tuple[list[str], str]:
        """Translate an arrow function's body with its params bound to JSONata variables."""
        if f.kind != "fn":
            raise Untranslatable("expected an arrow function")
        names = []
        locals_ = dict(self.locals)
        for p, kind in zip(f.params, kinds):
            var = "$" + re.sub(r"[^A-Za-z0-9_]", "_", p.lstrip("$")) + "_"
            names.append(var)
            locals_[p] = V("item", var) if kind == "item" else _val(var, "num" if kind == "num" else "any")
        if len(f.params) > len(kinds):
            raise Untranslatable("arrow function with too many parameters")
        start, end = f.body
        sub = _Parser("", self.scope, locals_)
        sub.toks = self.toks[start:end] + [Tok("eof", "", self.toks[end].pos)]
        sub.src = self.src
        body = sub.value(sub.parse())
        return names, body.expr

    def method(self, v: V, name: str, args: list[V]) -> V:
        s = self.scope
        if v.kind == "ns" and v.name not in ("$node", "$execution"):
            return _ns_method(self, v, name, args)
        if v.kind == "input":
            if args:
                raise Untranslatable(f"$input.{name}() with arguments is not translated")
            if name == "first":
                return V("item", f"{s.input_items}[0]")
            if name == "last":
                return V("item", f"{s.input_items}[-1]")
            if name == "all":
                return V("items", s.input_items)
            raise Untranslatable(f"$input.{name}() is not translated")
        if v.kind == "node":
            items = s.node_items(v.name)
            if args and name in ("first", "last", "all"):
                raise Untranslatable(f"$('{v.name}').{name}() with run/branch arguments is not translated")
            if name == "first":
                return V("item", f"{items}[0]")
            if name == "last":
                return V("item", f"{items}[-1]")
            if name == "all":
                return V("items", items)
            if name == "itemMatching":
                raise Untranslatable("itemMatching() is not translated")
            raise Untranslatable(f"$('{v.name}').{name}() is not translated")
        if v.kind == "now":
            if name == "toISO" and not args:
                return _val(f"$fromMillis({v.expr}, {jstr(iso_picture(s.timezone))})", "str")
            if name == "toMillis" and not args:
                return _val(v.expr, "num")
            if name == "toSeconds" and not args:
                return _val(f"({v.expr} / 1000)", "num")
            if name == "toFormat" and len(args) == 1 and args[0].type == "str" and args[0].expr.startswith('"'):
                iso_picture(s.timezone)
                return _val(f"$fromMillis({v.expr}, {jstr(luxon_to_picture(json.loads(args[0].expr)))})", "str")
            raise Untranslatable(f"$now.{name}() is not translated")
        if v.kind == "items":
            if name == "map" and len(args) == 1:
                (p,), body = self._fn(args[0], ("item",))
                return _val(f"$append([], $map({v.expr}, function({p}){{ {body} }}))", "arr")
            raise Untranslatable(f"items.{name}() is not translated")
        if v.kind in ("item", "fn", "ns"):
            raise Untranslatable(f".{name}() on this value is not translated")
        a = [self.value(x) if x.kind != "fn" else x for x in args]
        e = v.expr
        if name in ("toUpperCase", "toLowerCase", "trim") and not a:
            fn = {"toUpperCase": "$uppercase", "toLowerCase": "$lowercase", "trim": "$trim"}[name]
            if name == "trim":  # JS trim keeps inner whitespace; JSONata $trim collapses it
                return _val(f"$replace({self._str(e, v)}, /^\\s+|\\s+$/, '')", "str")
            return _val(f"{fn}({self._str(e, v)})", "str")
        if name == "toString" and not a:
            s.used.add("js")
            return _val(f"$js({e})", "str")
        if name == "includes" and len(a) == 1:
            s.used.add("inc")
            return _val(f"$inc({e}, {a[0].expr})", "bool")
        if name in ("startsWith", "endsWith") and len(a) == 1:
            st = self._str(e, v)
            if name == "startsWith":
                return _val(f"($s := {st}; $p := {a[0].expr}; $substring($s, 0, $length($p)) = $p)", "bool")
            return _val(f"($s := {st}; $p := {a[0].expr}; $length($p) <= $length($s) and "
                        f"$substring($s, $length($s) - $length($p)) = $p)", "bool")
        if name == "split" and len(a) == 1 and a[0].type == "str":
            return _val(f"$split({self._str(e, v)}, {a[0].expr})", "arr")
        if name == "join" and len(a) <= 1:
            sep = a[0].expr if a else '","'
            s.used.add("js")
            return _val(f"$join($map({self._arr(e, v)}, function($x){{ $type($x) = 'null' ? '' : $js($x) }}), {sep})",
                        "str")
        if name == "replace" and len(a) == 2 and a[0].type == "str" and a[0].expr.startswith('"'):
            return _val(f"$replace({self._str(e, v)}, {a[0].expr}, {a[1].expr}, 1)", "str")
        if name == "replaceAll" and len(a) == 2 and a[0].type == "str" and a[0].expr.startswith('"'):
            return _val(f"$replace({self._str(e, v)}, {a[0].expr}, {a[1].expr})", "str")
        if name in ("map", "filter", "some", "every", "find") and len(a) == 1:
            arr = self._arr(e, v)
            params, body = self._fn(a[0], ("any", "num"))
            sig = ", ".join(params)
            s.used.add("jt")
            if name == "map":
                return _val(f"$append([], $map({arr}, function({sig}){{ {body} }}))", "arr")
            if name == "filter":
                return _val(f"$append([], $filter({arr}, function({sig}){{ $jt({body}) }}))", "arr")
            if name == "some":
                return _val(f"$count($filter({arr}, function({sig}){{ $jt({body}) }})) > 0", "bool")
            if name == "every":
                return _val(f"$count($filter({arr}, function({sig}){{ $not($jt({body})) }})) = 0", "bool")
            return _val(f"$filter({arr}, function({sig}){{ $jt({body}) }})[0]")
        raise Untranslatable(f".{name}() is not translated")

    def _str(self, e: str, v: V) -> str:
        if v.type == "str":
            return e
        return f"($x := {e}; $type($x) = 'string' ? $x : $error('n8n expression: expected a string, got ' & $type($x)))"

    def _arr(self, e: str, v: V) -> str:
        if v.type == "arr":
            return e
        return f"($x := {e}; $type($x) = 'array' ? $x : $error('n8n expression: expected an array, got ' & $type($x)))"

    def ns_call(self, ns: str, args: list[V]) -> V:
        return _ns_call(self, ns, args)

    def value(self, v: V) -> V:
        """Force a translated value (an item or item list used as a plain value)."""
        if v.kind == "val":
            return v
        if v.kind == "items":
            return _val(f"$map({v.expr}, function($v){{ {{'json': $v}} }})", "arr")
        if v.kind == "item":
            return _val(f"{{'json': {v.expr}}}", "obj")
        if v.kind == "now":
            return _val(f"$fromMillis({v.expr}, {jstr(iso_picture(self.scope.timezone))})", "str")
        if v.kind == "fn":
            raise Untranslatable("a function used as a value")
        raise Untranslatable(f"'{v.name or v.kind}' used as a value")


# namespace calls: Math.x(...), JSON.stringify(...), String(...)...
def _ns_method(self: _Parser, v: V, name: str, args: list[V]) -> V:
    a = [self.value(x) for x in args]
    if v.name == "Math":
        if name in ("floor", "ceil", "abs", "sqrt") and len(a) == 1:
            return _val(f"${name}({a[0].expr})", "num")
        if name == "round" and len(a) == 1:  # JS rounds .5 up; JSONata $round rounds half to even
            return _val(f"$floor({a[0].expr} + 0.5)", "num")
        if name in ("max", "min") and a:
            return _val(f"${name}([{', '.join(x.expr for x in a)}])", "num")
        if name == "pow" and len(a) == 2:
            return _val(f"$power({a[0].expr}, {a[1].expr})", "num")
    if v.name == "JSON" and name == "stringify" and len(a) == 1:
        return _val(f"$string({a[0].expr})", "str")
    if v.name == "Object" and name == "keys" and len(a) == 1:
        return _val(f"$append([], $keys({a[0].expr}))", "arr")
    if v.name == "Object" and name == "values" and len(a) == 1:
        return _val(f"($o := {a[0].expr}; $append([], $map($keys($o), function($k){{ [$lookup($o, $k)] }})))", "arr")
    raise Untranslatable(f"{v.name}.{name}() is not translated")


def _ns_call(self: _Parser, ns: str, args: list[V]) -> V:
    a = [self.value(x) for x in args]
    if ns == "String" and len(a) == 1:
        self.scope.used.add("js")
        return _val(f"$js({a[0].expr})", "str")
    if ns == "Boolean" and len(a) == 1:
        self.scope.used.add("jt")
        return _val(f"$jt({a[0].expr})", "bool")
    raise Untranslatable(f"{ns}() is not translated (its conversions differ between JavaScript and JSONata)")



# ------------------------------------------------------------------ public API


def translate_js(src: str, scope: Scope) -> str:
    """One JavaScript expression (the inside of `{{ }}`) as JSONata. Raises Untranslatable."""
    if not src.strip():
        raise Untranslatable("empty expression")
    p = _Parser(src, scope)
    v = p.value(p.parse())
    if "$undefined" in v.expr:
        raise Untranslatable("'undefined' used as a value")
    return v.expr


_BRACES_RE = re.compile(r"\{\{(.*?)\}\}", re.S)


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("=")


def translate_value(value: Any, scope: Scope) -> str:
    """An n8n parameter value as a JSONata expression giving the value n8n would use.

    Literal values (not starting with ``=``) become JSONata literals; ``={{ expr }}`` takes the expression's
    value with its type; mixed text (``=Hi {{ $json.name }}!``) becomes string concatenation with
    n8n's rendering of each part (undefined/null render as empty text). Raises Untranslatable.
    """
    if not is_expression(value):
        return json.dumps(value, ensure_ascii=False)
    try:
        return _translate_expression(value, scope)
    except Untranslatable as err:
        if scope.fallback is None:
            raise
        return scope.fallback(value, err.reason)


def _translate_expression(value: str, scope: Scope) -> str:
    text = value[1:]
    whole = re.fullmatch(r"\s*\{\{(.*?)\}\}\s*", text, re.S)
    if whole and "{{" not in whole.group(1) and "}}" not in whole.group(1):
        return translate_js(whole.group(1), scope)
    parts: list[str] = []
    pos = 0
    for m in _BRACES_RE.finditer(text):
        if m.start() > pos:
            parts.append(jstr(text[pos:m.start()]))
        scope.used.add("ts")
        parts.append(f"$ts({translate_js(m.group(1), scope)})")
        pos = m.end()
    if pos < len(text):
        parts.append(jstr(text[pos:]))
    if not parts:
        return '""'
    return "(" + " & ".join(parts) + ")"
