"""Pure data components, computed through the engine's `compute_pure` exactly as the workflow does."""

from __future__ import annotations

import base64
import csv
import gzip
import hashlib
import io
import json
import uuid
import zipfile

import pytest
from jsonschema import Draft202012Validator

from connectors.registry import default_registry
from tests.helpers import defn, node
from workflows.data_components import DATA_SPECS, DATA_TYPES
from workflows.definition import Node
from workflows.engine import NodeFailure, compute_pure
from workflows.expressions import EvalEnv
from workflows.validation import validate_definition


def validate(definition, **kw):
    return validate_definition(definition, default_registry(), **kw)

NOW = 1_711_843_200_000  # 2024-03-31T00:00:00Z
ORDERS = [
    {"id": 3, "customer": {"name": "Cy"}, "region": "north", "amount": 30, "tags": ["a", "b"]},
    {"id": 1, "customer": {"name": "Al"}, "region": "south", "amount": 10, "tags": ["b"]},
    {"id": 2, "customer": {"name": "Bo"}, "region": "north", "amount": 20.5, "tags": []},
    {"id": 1, "customer": {"name": "Al"}, "region": "south", "amount": 10, "tags": ["b"]},
]


def ctx(**nodes):
    return {"input": {"orders": ORDERS}, "nodes": nodes, "vars": {}, "execution": {"id": "exec-1"}}


def run(type_, context=None, random=None, **config):
    env = EvalEnv(now_millis=NOW, random=random or (lambda: 0.25))
    out = compute_pure(Node("n", type_, config), context or ctx(), env)
    return out.output if out.port == "out" else (out.output, out.port)


def fails(type_, context=None, **config) -> NodeFailure:
    with pytest.raises(NodeFailure) as info:
        run(type_, context, **config)
    return info.value


# ---------------------------------------------------------------- specs


def test_every_data_spec_is_complete_and_its_example_is_valid():
    registry = default_registry()
    assert len(DATA_SPECS) == 18
    for spec in DATA_SPECS:
        assert spec.kind == "pure" and spec.category == "data" and spec.idempotent
        assert spec.title and spec.icon and spec.docs and spec.output_schema and spec.example
        Draft202012Validator.check_schema(spec.config_schema)
        Draft202012Validator.check_schema(spec.output_schema)
        for name, prop in spec.config_schema["properties"].items():
            assert prop["title"], (spec.type, name)  # the designer's form labels
        assert not list(Draft202012Validator(spec.config_schema).iter_errors(spec.example)), spec.type
        assert registry.get(spec.type) is spec
        d = spec.describe()
        assert d["category"] == "data" and d["expression_fields"] == list(spec.bare_expressions)
    # the examples also pass the whole-definition validator (expressions parse, ports exist)
    for spec in DATA_SPECS:
        port = spec.ports[0]
        definition = defn([node("start", "start"), {"id": "x", "type": spec.type, "config": dict(spec.example)},
                           node("end", "end")], ["start->x", f"x:{port}->end"])
        assert validate(definition) == [], spec.type


def test_existing_connectors_have_palette_metadata():
    registry = default_registry()
    for type_, category in [("http.request", "integration"), ("db.query", "integration"),
                            ("email.send", "communication"), ("util.noop", "core"),
                            ("crypto.hmac", "data"), ("jwt", "data")]:
        spec = registry.get(type_)
        assert spec.kind == "activity" and spec.category == category
        assert spec.title and spec.icon != "box" and spec.docs and spec.example
        assert not list(Draft202012Validator(spec.config_schema).iter_errors(spec.example)), type_
    http = registry.get("http.request").output_schema
    assert {"status", "headers", "body"} <= http["properties"].keys() and http["additionalProperties"] is False


# ---------------------------------------------------------------- list operations


def test_merge_append_by_position_and_by_key():
    join = {"a": [{"id": 1, "x": 1}, {"id": 2, "x": 2}], "b": [{"id": 2, "y": 20}, {"id": 3, "y": 30}]}
    c = ctx(j=join)
    assert run("merge", c, inputs="nodes.j") == join["a"] + join["b"]
    assert run("merge", c, inputs="nodes.j", mode="by_position") == [{"id": 2, "x": 1, "y": 20},
                                                                      {"id": 3, "x": 2, "y": 30}]
    assert run("merge", c, inputs="nodes.j", mode="by_position", prefer="first")[0] == {"id": 1, "x": 1, "y": 20}
    assert run("merge", c, inputs="nodes.j", mode="by_key", key="id") == [{"id": 2, "x": 2, "y": 20}]
    assert run("merge", c, inputs="nodes.j", mode="by_key", key="id", join="left") == \
        [{"id": 1, "x": 1}, {"id": 2, "x": 2, "y": 20}]
    assert run("merge", c, inputs="nodes.j", mode="by_key", key="id", join="outer") == \
        [{"id": 1, "x": 1}, {"id": 2, "x": 2, "y": 20}, {"id": 3, "y": 30}]
    assert run("merge", c, inputs="nodes.j", mode="by_key", key="id", join="right") == \
        [{"id": 2, "x": 2, "y": 20}, {"id": 3, "y": 30}]
    # different key names, several matches (all, or the first)
    c2 = ctx(l=[{"cid": 7, "o": 1}], r=[{"id": 7, "t": "a"}, {"id": 7, "t": "b"}])
    assert run("merge", c2, inputs="{'l': nodes.l, 'r': nodes.r}", mode="by_key", left_key="cid",
               right_key="id") == [{"cid": 7, "o": 1, "id": 7, "t": "a"}, {"cid": 7, "o": 1, "id": 7, "t": "b"}]
    assert len(run("merge", c2, inputs="{'l': nodes.l, 'r': nodes.r}", mode="by_key", left_key="cid",
                   right_key="id", multiple="first")) == 1
    err = fails("merge", c, inputs="'text'")
    assert "inputs" in err.message
    assert "objects" in fails("merge", ctx(j={"a": [1], "b": [2]}), inputs="nodes.j", mode="by_position").message


def test_aggregate_sort_limit_dedupe():
    assert run("aggregate", items="input.orders", fields=[{"field": "customer.name", "as": "names", "unique": True},
                                                          {"field": "tags", "flatten": True}]) == \
        {"names": ["Cy", "Al", "Bo"], "tags": ["a", "b", "b", "b"]}
    assert run("aggregate", items="input.orders", mode="all", **{"as": "all"}) == {"all": ORDERS}
    by_amount = run("sort", items="input.orders", by=[{"field": "amount", "order": "desc"}])
    assert [o["amount"] for o in by_amount] == [30, 20.5, 10, 10]
    two_keys = run("sort", items="input.orders", by=[{"field": "region"}, {"field": "id", "order": "desc"}])
    assert [(o["region"], o["id"]) for o in two_keys] == [("north", 3), ("north", 2), ("south", 1), ("south", 1)]
    # mixed types: a total order; missing values last (or first)
    mixed = ctx(m=[{"v": "b"}, {"v": 2}, {}, {"v": True}, {"v": "A"}])
    assert [x.get("v") for x in run("sort", mixed, items="nodes.m", by=[{"field": "v"}])] == [True, 2, "A", "b", None]
    assert [x.get("v") for x in run("sort", mixed, items="nodes.m", by=[{"field": "v", "order": "desc"}],
                                    nulls="first")] == [None, "b", "A", 2, True]
    assert [x.get("v") for x in run("sort", mixed, items="nodes.m", by=[{"field": "v", "case_insensitive": True}])
            ][2:4] == ["A", "b"]
    assert run("sort", items="[3, 1, 2]") == [1, 2, 3]
    assert run("sort", items="[3, 1, 2]", mode="reverse") == [2, 1, 3]
    shuffled = run("sort", items="[1, 2, 3, 4, 5]", mode="random", random=iter([0.9, 0.1, 0.5, 0.3]).__next__)
    assert sorted(shuffled) == [1, 2, 3, 4, 5] and shuffled != [1, 2, 3, 4, 5]
    assert run("limit", items="input.orders", max_items=2) == ORDERS[:2]
    assert run("limit", items="input.orders", max_items=1, keep="last") == ORDERS[-1:]
    assert run("limit", items="input.orders", max_items=0) == []
    assert run("dedupe", items="input.orders") == ORDERS[:3]
    assert run("dedupe", items="input.orders", fields=["region"]) == [ORDERS[0], ORDERS[1]]
    assert run("dedupe", items="input.orders", fields=["region"], keep="last") == [ORDERS[2], ORDERS[3]]
    # object key order does not make a difference
    assert run("dedupe", ctx(d=[{"a": 1, "b": 2}, {"b": 2, "a": 1}]), items="nodes.d") == [{"a": 1, "b": 2}]


def test_split_out_and_summarize():
    assert run("split_out", items="input.orders[0]", field="tags") == [{"tags": "a"}, {"tags": "b"}]
    assert run("split_out", items="input.orders", field="tags", include="selected", keep_fields=["id"],
               destination="tag") == [{"id": 3, "tag": "a"}, {"id": 3, "tag": "b"}, {"id": 1, "tag": "b"},
                                      {"id": 1, "tag": "b"}]
    all_fields = run("split_out", items="input.orders[0]", field="tags", include="all")
    assert all_fields[0] == {"id": 3, "customer": {"name": "Cy"}, "region": "north", "amount": 30, "tags": "a"}
    lines = ctx(o=[{"id": 1, "lines": [{"sku": "x"}, {"sku": "y"}]}])
    assert run("split_out", lines, items="nodes.o", field="lines") == [{"sku": "x"}, {"sku": "y"}]
    assert "no field" in fails("split_out", items="input.orders", field="nope", skip_missing=False).message

    rows = run("summarize", items="input.orders", group_by=["region"], aggregations=[
        {"op": "count"}, {"op": "sum", "field": "amount"}, {"op": "avg", "field": "amount", "as": "avg"},
        {"op": "min", "field": "amount"}, {"op": "max", "field": "amount"},
        {"op": "count_distinct", "field": "id"}, {"op": "concat", "field": "customer.name", "separator": "|"},
        {"op": "list", "field": "id"}, {"op": "first", "field": "id"}, {"op": "last", "field": "id"}])
    assert rows == [
        {"region": "north", "count": 2, "sum_amount": 50.5, "avg": 25.25, "min_amount": 20.5, "max_amount": 30,
         "count_distinct_id": 2, "concat_customer.name": "Cy|Bo", "list_id": [3, 2], "first_id": 3, "last_id": 2},
        {"region": "south", "count": 2, "sum_amount": 20, "avg": 10.0, "min_amount": 10, "max_amount": 10,
         "count_distinct_id": 1, "concat_customer.name": "Al|Al", "list_id": [1, 1], "first_id": 1, "last_id": 1}]
    assert run("summarize", items="input.orders") == [{"count": 4}]
    assert run("summarize", items="[]", aggregations=[{"op": "sum", "field": "x"}]) == [{"sum_x": 0}]
    assert run("summarize", ctx(s=[{"v": "2"}, {"v": "3.5"}, {"v": None}]), items="nodes.s",
               aggregations=[{"op": "sum", "field": "v"}]) == [{"sum_v": 5.5}]
    err = fails("summarize", ctx(s=[{"v": "abc"}]), items="nodes.s", aggregations=[{"op": "sum", "field": "v"}])
    assert "not a number" in err.message and "'v'" in err.message


# ---------------------------------------------------------------- datetime


def test_datetime_now_is_workflow_time_and_zones_apply():
    assert run("datetime") == {"value": "2024-03-31T00:00:00Z", "iso": "2024-03-31T00:00:00Z", "epoch_ms": NOW,
                               "timezone": "UTC"}
    paris = run("datetime", operation="format", timezone="Europe/Paris", format="%d.%m.%Y %H:%M")
    assert paris["value"] == "31.03.2024 01:00" and paris["iso"] == "2024-03-31T01:00:00+01:00"
    # DST starts in Paris on 2024-03-31 at 02:00: a calendar day keeps the wall clock, 24 hours do not
    day = run("datetime", operation="add", value="2024-03-30T12:00:00", input_timezone="Europe/Paris", duration="P1D")
    hours = run("datetime", operation="add", value="2024-03-30T12:00:00", input_timezone="Europe/Paris",
                duration="PT24H")
    assert day["iso"] == "2024-03-31T12:00:00+02:00" and hours["iso"] == "2024-03-31T13:00:00+02:00"
    assert run("datetime", operation="add", value="2024-01-31", duration="P1M")["iso"] == "2024-02-29T00:00:00Z"
    assert run("datetime", operation="subtract", value="2024-03-31T10:00:00Z", amount=90, unit="minutes")["iso"] == \
        "2024-03-31T08:30:00Z"
    assert run("datetime", operation="add", value="2024-03-31T10:00:00Z", duration="-P1Y")["iso"] == \
        "2023-03-31T10:00:00Z"


def test_datetime_parse_diff_and_boundaries():
    assert run("datetime", operation="parse", value="31/12/2024 23:59", input_format="%d/%m/%Y %H:%M",
               input_timezone="America/New_York")["iso"] == "2024-12-31T23:59:00-05:00"
    assert run("datetime", operation="parse", value=1_700_000_000, input_format="epoch_s")["epoch_ms"] == \
        1_700_000_000_000
    assert run("datetime", operation="parse", value=NOW)["iso"] == "2024-03-31T00:00:00Z"
    assert run("datetime", operation="add", value="2024-03-31T10:00:00+05:30", duration="PT1H")["iso"] == \
        "2024-03-31T11:00:00+05:30"  # the value's own offset is kept
    assert run("datetime", operation="format", value="2024-03-31T00:00:00.250Z", format="epoch_s")["value"] == \
        1_711_843_200
    assert run("datetime", operation="diff", value="2024-01-31T00:00:00Z", end="2024-03-30T00:00:00Z",
               unit="months")["value"] == 1
    assert run("datetime", operation="diff", value="2024-03-01T00:00:00Z", unit="days") == \
        {"value": 30, "unit": "days", "milliseconds": 30 * 86_400_000}  # end defaults to now
    assert run("datetime", operation="diff", value="2024-03-31T00:00:00Z", end="2024-03-31T06:30:00Z",
               unit="hours")["value"] == 6.5
    assert run("datetime", operation="start_of", value="2024-05-15T10:11:12Z", unit="weeks")["iso"] == \
        "2024-05-13T00:00:00Z"
    assert run("datetime", operation="end_of", value="2024-02-10T10:00:00Z", unit="months")["iso"] == \
        "2024-02-29T23:59:59.999Z"
    assert run("datetime", operation="start_of", value="2024-05-15T10:11:12+02:00", unit="days",
               timezone="Asia/Tokyo")["iso"] == "2024-05-15T00:00:00+09:00"
    assert "Mars/Base" in fails("datetime", timezone="Mars/Base").message
    assert "not an ISO-8601" in fails("datetime", operation="parse", value="yesterday").message
    assert "duration" in fails("datetime", operation="add", value="2024-01-01", duration="1 day").message


# ---------------------------------------------------------------- crypto


def test_crypto_hash_and_uuid():
    for alg in ("md5", "sha1", "sha256", "sha512"):
        assert run("crypto", value="hello", algorithm=alg)["value"] == hashlib.new(alg, b"hello").hexdigest()
    assert run("crypto", value="hello", encoding="base64")["value"] == \
        base64.b64encode(hashlib.sha256(b"hello").digest()).decode()
    assert run("crypto", value="{{ input.orders[0].customer }}")["value"] == \
        hashlib.sha256(b'{"name":"Cy"}').hexdigest()
    assert run("crypto", value=base64.b64encode(b"\x00\xff").decode(), input_encoding="base64",
               algorithm="md5")["value"] == hashlib.md5(b"\x00\xff").hexdigest()
    seq = [0.1, 0.2, 0.3, 0.4]
    a = run("crypto", operation="uuid", random=iter(seq).__next__)["value"]
    b = run("crypto", operation="uuid", random=iter(seq).__next__)["value"]
    c = run("crypto", operation="uuid", random=iter([0.5, 0.6, 0.7, 0.8]).__next__)["value"]
    assert a == b != c  # the same randomness (a replay) gives the same UUID
    assert uuid.UUID(a).version == 4 and uuid.UUID(a).variant == uuid.RFC_4122


# ---------------------------------------------------------------- CSV, XML, HTML, Markdown


def test_csv_parse_and_format_roundtrip():
    text = '\ufeffid,name,note\n1,"Smith, J","said ""hi""\nthen left"\n2,Bo,\n\n3,Cy,x,extra\n'
    assert run("csv.parse", text=text) == [
        {"id": "1", "name": "Smith, J", "note": 'said "hi"\nthen left'}, {"id": "2", "name": "Bo", "note": ""},
        {"id": "3", "name": "Cy", "note": "x", "column_4": "extra"}]
    typed = run("csv.parse", text="a;b;c\n1;2.5;true\n;x;FALSE", delimiter=";", infer_types=True)
    assert typed == [{"a": 1, "b": 2.5, "c": True}, {"a": None, "b": "x", "c": False}]
    assert run("csv.parse", text="1,2\n3,4", header=False) == [["1", "2"], ["3", "4"]]
    assert run("csv.parse", text="1,2", columns=["x", "y"]) == [{"x": "1", "y": "2"}]
    assert "max_rows" in fails("csv.parse", text="a\n1\n2\n3", max_rows=2).message
    out = run("csv.format", items="input.orders", columns=["id", "customer.name", "tags"])
    assert out["rows"] == 4
    back = list(csv.reader(io.StringIO(out["text"])))
    assert back[0] == ["id", "customer.name", "tags"] and back[1] == ["3", "Cy", '["a","b"]']
    guarded = run("csv.format", items="[{'f': '=HYPERLINK(1)'}]", escape_formulas=True)
    assert guarded["text"] == "f\n'=HYPERLINK(1)\n"
    crlf = run("csv.format", items="[[1, null, true]]", header=False, line_terminator="\r\n")
    assert crlf["text"] == "1,,true\r\n"


def test_xml_parse_format_and_refuses_entities():
    xml = ('<?xml version="1.0" encoding="UTF-8"?><order id="7" xmlns="urn:x"><line sku="a">2</line>'
           '<note lang="en">hi <!-- c --></note><empty/></order>')
    parsed = run("xml.parse", text=xml, force_list=["line"])
    assert parsed == {"order": {"@id": "7", "line": [{"@sku": "a", "#text": "2"}],
                                "note": {"@lang": "en", "#text": "hi"}, "empty": None}}
    assert run("xml.parse", text="<a><b>1</b><b>2</b></a>") == {"a": {"b": ["1", "2"]}}
    billion = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
               '<lolz>&lol2;</lolz>')
    err = fails("xml.parse", text=billion)
    assert err.type == "UnsafeXml"
    ext = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
    assert fails("xml.parse", text=ext).type == "UnsafeXml"
    assert fails("xml.parse", text="<a><b></a>").type == "BadXml"
    out = run("xml.format", value={"order": {"@id": 7, "line": [{"@sku": "a", "#text": 2}, {"#text": "b&c"}],
                                             "paid": True}})
    assert out["text"] == ('<?xml version="1.0" encoding="UTF-8"?>\n<order id="7"><line sku="a">2</line>'
                           '<line>b&amp;c</line><paid>true</paid></order>')
    again = run("xml.parse", text=out["text"])
    assert again["order"]["line"][1] == "b&c"
    assert "root" in fails("xml.format", value={"a": 1, "b": 2}).message
    assert "valid XML element name" in fails("xml.format", value={"bad name": 1}, root="r").message
    pretty = run("xml.format", value={"item": [1, 2]}, root="list", pretty=True, declaration=False)
    assert pretty["text"] == "<list>\n  <item>1</item>\n  <item>2</item>\n</list>"


def test_html_extract_and_markdown():
    html = ('<html><body><h1> Big   <b>news</b> </h1><ul><li><a href="/a" class="x y">A</a></li>'
            '<li><a href="/b">B</a></li></ul><div id="c"><p>one</p></div></body></html>')
    out = run("html.extract", html=html, extract=[
        {"key": "title", "selector": "h1"},
        {"key": "links", "selector": "ul a", "value": "attribute", "attribute": "href", "all": True},
        {"key": "classes", "selector": "a.x", "value": "attribute", "attribute": "class"},
        {"key": "inner", "selector": "#c", "value": "html"},
        {"key": "outer", "selector": "#c p", "value": "outer_html"},
        {"key": "none", "selector": "table"}])
    assert out == {"title": "Big news", "links": ["/a", "/b"], "classes": "x y", "inner": "<p>one</p>",
                   "outer": "<p>one</p>", "none": None}
    assert "extract[0].selector" in fails("html.extract", html=html, extract=[{"key": "k", "selector": "a[["}]).message
    md = run("markdown", text="# Title\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n* x\n* y\n\n`code`")
    assert md["text"].startswith("<h1>Title</h1>") and "<table>" in md["text"] and "<li>x</li>" in md["text"]
    assert "<code>code</code>" in md["text"]
    back = run("markdown", operation="to_markdown", text="<h2>Sub</h2><p>Some <strong>bold</strong></p>"
                                                         "<ul><li>one</li></ul><script>x</script>", strip=["script"])
    assert back["text"] == "## Sub\n\nSome **bold**\n\n- one\n\nx\n"


# ---------------------------------------------------------------- JSON Schema, templates, compression


def test_json_schema_validate_routes_valid_and_invalid():
    schema = {"type": "object", "required": ["email", "age"],
              "properties": {"email": {"type": "string", "format": "email"}, "age": {"type": "integer", "minimum": 0}}}
    out, port = run("json_schema.validate", value={"email": "a@b.io", "age": 3}, schema=schema)
    assert port == "valid" and out == {"valid": True, "errors": [], "value": {"email": "a@b.io", "age": 3}}
    out, port = run("json_schema.validate", value={"email": "nope", "age": -1}, schema=schema)
    assert port == "invalid" and out["valid"] is False
    assert out["errors"] == [{"path": ".age", "message": "-1 is less than the minimum of 0"},
                             {"path": ".email", "message": "'nope' is not a 'email'"}]
    out, port = run("json_schema.validate", value="{{ input.orders }}", schema={"type": "array", "maxItems": 2},
                    max_errors=1)
    assert port == "invalid" and len(out["errors"]) == 1 and out["errors"][0]["path"] == "$"
    assert fails("json_schema.validate", value=1, schema={"type": 12}).type == "BadSchema"


def test_template_render_is_sandboxed_and_bounded():
    c = ctx(t={"total": 60.5})
    out = run("template.render", c, template="Dear {{ input.orders[0].customer.name }}, {{ input.orders|length }} "
              "orders ({{ nodes.t.total }}):{% for o in input.orders %} {{ o.id }}{% endfor %}")
    assert out == {"text": "Dear Cy, 4 orders (60.5): 3 1 2 1"}
    # `items` is the JSON field, not dict.items
    assert run("template.render", ctx(), template="{{ d.items|join(',') }}", data="{'d': {'items': [1, 2]}}") == \
        {"text": "1,2"}
    assert run("template.render", template="<{{ x }}>", data="{'x': '<b>'}", autoescape=True) == \
        {"text": "<&lt;b&gt;>"}
    assert fails("template.render", template="{{ nope.x }}", strict=True).type == "TemplateError"
    assert fails("template.render", template="{{ ''.__class__.__mro__ }}").type == "TemplateSecurityError"
    assert fails("template.render", template="{% set x = input.orders.append(1) %}").type == "TemplateSecurityError"
    loops = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    assert fails("template.render", template=loops).type == "TemplateBudgetExceeded"
    assert fails("template.render", template="{% for i in range(60000) %}{{ 'ab' }}{% endfor %}",
                 max_output_chars=1000).type == "TemplateOutputTooLarge"
    assert "too long" in fails("template.render", template="{{ 'x' * 100000000 }}").message
    # doubling strings by recursion, namespaces, joins or replaces is charged before it is built
    for doubling in [
        "{% macro d(s, n) %}{% if n %}{{ d(s ~ s, n-1) }}{% else %}{{ s|length }}{% endif %}{% endmacro %}{{ d('x', 40) }}",
        "{% macro d(s, n) %}{% if n %}{{ d(s + s, n-1) }}{% else %}{{ s|length }}{% endif %}{% endmacro %}{{ d('x', 40) }}",
        "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
        "{{ range(100000)|join('x' * 5000) }}",
        "{% set s = 'x' * 10000 %}{{ s|replace('', s) }}",
    ]:
        assert fails("template.render", template=doubling).type == "TemplateBudgetExceeded", doubling
    assert "nested deeper" in fails("template.render", template="{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}").message
    assert "integer too large" in fails("template.render", template="{% macro sq(v, n) %}{% if n %}{{ sq(v*v, n-1) }}"
                                        "{% else %}{{ v }}{% endif %}{% endmacro %}{{ sq(99999999999, 30) }}").message
    # no randomness: the workflow must replay the same text
    assert "deterministic" in fails("template.render", template="{{ [1, 2]|random }}").message
    assert fails("template.render", template="{{ lipsum(5) }}").type == "TemplateError"
    assert run("template.render", template="{{ input.orders|map(attribute='id')|join('-') }} {{ 'a' ~ 1 }}") == \
        {"text": "3-1-2-1 a1"}
    assert "exponent" in fails("template.render", template="{{ 9 ** 99999999 }}").message
    assert "width" in fails("template.render", template="{{ '%099999999d' % 1 }}").message
    assert "width" in fails("template.render", template="{{ 'x'|center(999999999) }}").message
    assert "width" in fails("template.render", template="{{ '{:>999999999}'.format(1) }}").message
    assert "width" in fails("template.render", template="{{ '{:{}}'.format(1, 999999999) }}").message
    assert "width" in fails("template.render", template="{{ '%*d'|format(999999999, 1) }}").message
    # ordinary numbers in the text are not widths
    assert run("template.render", template="{{ 'Order 123456: {} ({:.2f})'.format('ok', 2.5) }} "
               "{{ '%s-%05d'|format('a', 7) }} {{ 'n=100000 %d' % 3 }}") == {"text": "Order 123456: ok (2.50) a-00007 n=100000 3"}
    assert fails("template.render", template="{% for %}").type == "TemplateSyntaxError"


def test_compression_roundtrips_and_bounds():
    packed = run("compression", operation="gzip", data="hello " * 100)
    assert gzip.decompress(base64.b64decode(packed["data"])) == b"hello " * 100
    assert packed == run("compression", operation="gzip", data="hello " * 100)  # deterministic (mtime 0)
    assert run("compression", operation="gunzip", data=packed["data"]) == \
        {"data": "hello " * 100, "encoding": "utf8", "bytes": 600}
    binary = base64.b64encode(gzip.compress(b"\xff\x00\xfe")).decode()
    assert run("compression", operation="gunzip", data=binary)["encoding"] == "base64"
    assert "not UTF-8" in fails("compression", operation="gunzip", data=binary, output_encoding="utf8").message
    bomb = base64.b64encode(gzip.compress(b"\0" * 20_000_000)).decode()
    assert fails("compression", operation="gunzip", data=bomb, max_output_bytes=1_000_000).type == \
        "DecompressedTooLarge"
    zipped = run("compression", operation="zip", files=[{"name": "a.txt", "data": "A"},
                                                        {"name": "d/b.bin", "data": "AAE=", "encoding": "base64"}])
    assert zipped == run("compression", operation="zip", files=[{"name": "a.txt", "data": "A"},
                                                                 {"name": "d/b.bin", "data": "AAE=",
                                                                  "encoding": "base64"}])
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(zipped["data"]))) as zf:
        assert zf.read("a.txt") == b"A" and zf.read("d/b.bin") == b"\x00\x01"
    unzipped = run("compression", operation="unzip", data=zipped["data"])
    assert unzipped["files"] == [{"name": "a.txt", "data": "A", "encoding": "utf8", "bytes": 1},
                                 {"name": "d/b.bin", "data": "AAE=", "encoding": "base64", "bytes": 2}]
    assert "'..'" in fails("compression", operation="zip", files=[{"name": "../x", "data": "1"}]).message
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big", b"\0" * 5_000_000)
    assert fails("compression", operation="unzip", data=base64.b64encode(buf.getvalue()).decode(),
                 max_output_bytes=100_000).type == "DecompressedTooLarge"
    assert "valid zip" in fails("compression", operation="unzip", data="aGVsbG8=").message


# ---------------------------------------------------------------- validation of data nodes


def _with(type_, port="out", **config):
    return defn([node("start", "start"), node("x", type_, **config), node("end", "end")],
                ["start->x", f"x:{port}->end"])


def test_static_config_problems_name_the_field():
    problems = validate(_with("json_schema.validate", "valid", value=1, schema={"type": "nope"}))
    assert [(p.code, p.node_id, p.field) for p in problems] == [("bad_config", "x", "config.schema")]
    problems = validate(_with("template.render", template="{% if %}"))
    assert [(p.code, p.field) for p in problems] == [("bad_config", "config.template")]
    problems = validate(_with("datetime", timezone="Europe/Atlantis"))
    assert [(p.field, "Europe/Atlantis" in p.message) for p in problems] == [("config.timezone", True)]
    problems = validate(_with("html.extract", html="x", extract=[{"key": "k", "selector": "a[["}]))
    assert [p.field for p in problems] == ["config.extract[0].selector"]
    problems = validate(_with("sort", items="input.(", by=[]))
    assert [(p.code, p.field) for p in problems] == [("bad_expression", "config.items")]
    problems = validate(_with("merge", inputs="nodes.j", mode="zip"))
    assert [(p.code, p.field) for p in problems] == [("bad_config", "config.mode")]
    # the Jinja template is not mistaken for a wfo {{ }} template
    assert validate(_with("template.render", template="{{ x | upper }}{% for a in b %}{% endfor %}")) == []


def test_unknown_output_field_is_a_warning_that_does_not_block():
    d = defn([node("start", "start"), node("h", "http.request", url="http://example.com"),
              node("when", "datetime"), node("v", "json_schema.validate", value="{{ input }}", schema={}),
              node("t", "transform", expression="nodes.h.statuz + nodes.h.status + nodes.h.error.message"),
              node("end", "end", output="{{ nodes.when.iso }} {{ nodes.when.isoo }} {{ nodes['v'].vald }} "
                                        "{{ nodes.t.anything }} {{ nodes.h.body.whatever }}")],
             ["start->h", "h->when", "when->v", "v:valid->t", "v:invalid->t", "t->end"])
    assert validate(d) == []  # errors only: valid
    warnings = validate(d, warnings=True)
    assert all(p.severity == "warning" and p.code == "unknown_output_field" for p in warnings)
    assert [(p.node_id, p.field, p.message.split(" (")[0]) for p in warnings] == [
        ("t", "config.expression", "'http.request' node 'h' never outputs a field 'statuz'"),
        ("end", "config.output", "'datetime' node 'when' never outputs a field 'isoo'"),
        ("end", "config.output", "'json_schema.validate' node 'v' never outputs a field 'vald'"),
    ]
    assert warnings[0].to_dict()["severity"] == "warning"
    # arrays are read item by item: a list of numbers has no fields, a list of objects may
    d2 = defn([node("start", "start"), node("l", "limit", items="[1]"), node("c", "csv.format", items="[]"),
               node("end", "end", output="{{ nodes.l.x }} {{ nodes.c.texts }}")],
              ["start->l", "l->c", "c->end"])
    assert [p.message.split(" (")[0] for p in validate(d2, warnings=True)] == [
        "'csv.format' node 'c' never outputs a field 'texts'"]
    # built-in outputs are described as the engine produces them
    d3 = defn([node("start", "start"), node("big", "decision", condition="input.x > 1"),
               node("end", "end", output="{{ nodes.big.result }} {{ nodes.big.value }}")],
              ["start->big", "big:true->end", "big:false->end"])
    assert [p.message.split(" (")[0] for p in validate(d3, warnings=True)] == [
        "'decision' node 'big' never outputs a field 'value'"]


def test_every_type_is_computed_inline_by_the_engine():
    from workflows.engine import BUILTINS, PURE_TYPES

    assert DATA_TYPES <= PURE_TYPES and DATA_TYPES <= set(BUILTINS)
    assert json.dumps([s.describe() for s in DATA_SPECS])  # JSON-serialisable palette entries


def test_rendered_config_is_checked_and_odd_data_fails_the_node_not_the_task():
    err = fails("limit", items="input.orders", max_items="{{ 'many' }}")
    assert err.type == "BadConfig" and "config.max_items" in err.message
    err = fails("sort", items="input.orders", by="{{ [1] }}")
    assert err.type == "BadConfig" and "config.by[0]" in err.message
    err = fails("aggregate", items="input.orders", fields=["{{ {'a': 1} }}"])
    assert err.type == "BadConfig"
    # data without the field asked for is a node failure too
    assert fails("split_out", items="[{'a': 1}]", field="a.b.c", skip_missing=False).type == "DataError"


def test_heavy_inputs_move_to_the_evaluate_activity():
    from workflows.data_components import INLINE_MAX_TEXT, RunInActivity

    big = "<p>x</p>" * (INLINE_MAX_TEXT["html.extract"] // 8 + 1)
    env = EvalEnv(now_millis=NOW)
    n = Node("n", "html.extract", {"html": "{{ input.html }}", "extract": [{"key": "n", "selector": "p", "all": True}]})
    c = {"input": {"html": big}, "nodes": {}, "vars": {}, "execution": {}}
    with pytest.raises(RunInActivity):
        compute_pure(n, c, env, inline=True)
    assert len(compute_pure(n, c, env).output["n"]) == INLINE_MAX_TEXT["html.extract"] // 8 + 1  # in the activity
    bomb = base64.b64encode(gzip.compress(b"a" * 3_000_000)).decode()
    g = Node("g", "compression", {"operation": "gunzip", "data": bomb})
    with pytest.raises(RunInActivity):
        compute_pure(g, c, env, inline=True)
    assert compute_pure(g, c, env).output["bytes"] == 3_000_000
    small = base64.b64encode(gzip.compress(b"a" * 10)).decode()
    assert compute_pure(Node("g", "compression", {"operation": "gunzip", "data": small}), c, env,
                        inline=True).output["data"] == "a" * 10


def test_long_template_renders_move_to_the_activity_with_a_larger_budget():
    from workflows.data_components import INLINE_TEMPLATE_STEPS, RunInActivity

    n = Node("n", "template.render", {"template": "{% for i in range(%d) %}{{ i %% 10 }}{%% endfor %%}"
                                                  .replace("%d", str(INLINE_TEMPLATE_STEPS)).replace("%%", "%")})
    c = {"input": {}, "nodes": {}, "vars": {}, "execution": {}}
    with pytest.raises(RunInActivity):
        compute_pure(n, c, EvalEnv(), inline=True)
    text = compute_pure(n, c, EvalEnv()).output["text"]
    assert len(text) == INLINE_TEMPLATE_STEPS and text[:12] == "012345678901"
    short = Node("n", "template.render", {"template": "{% for i in range(10) %}{{ i }}{% endfor %}"})
    assert compute_pure(short, c, EvalEnv(), inline=True).output == {"text": "0123456789"}
