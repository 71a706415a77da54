"""Whole-definition validation: every problem at once, each located at its node or edge. Pure code."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator

from workflows.components import ComponentSpec, Registry
from workflows.data_components import static_problems
from workflows.definition import Definition, Problem, parse_definition
from workflows.engine import payload_refs
from workflows.expressions import syntax_error, template_expressions
from workflows.graph import analyze

__all__ = ["Problem", "validate_definition", "validate_parsed"]


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


def _config_problems(node, spec, problems: list[Problem]) -> None:
    validator = Draft202012Validator(spec.config_schema)
    for err in sorted(validator.iter_errors(node.config), key=lambda e: list(e.absolute_path)):
        if _is_template(err.instance):
            continue  # a `{{ }}` template is checked when it is rendered
        path = "config" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)
        msg = err.message
        if err.validator == "oneOf":
            msg = "config needs exactly one of: " + ", ".join(
                str(s.get("required", ["?"])[0]) for s in err.validator_value)
        elif err.validator == "additionalProperties":
            msg = f"{err.message} (allowed: {', '.join(sorted(spec.config_schema.get('properties', {})))})"
        problems.append(Problem("bad_config", f"{msg}", node_id=node.id, field=path))


def _expression_problems(node, spec, problems: list[Problem]) -> None:
    for key in spec.bare_expressions:
        text = node.config.get(key)
        if isinstance(text, str):
            err = syntax_error(text)
            if err:
                problems.append(Problem("bad_expression", err, node_id=node.id, field=f"config.{key}"))
    if node.type == "switch" and isinstance(node.config.get("cases"), list):
        for i, case in enumerate(node.config["cases"]):
            if isinstance(case, dict) and isinstance(case.get("condition"), str):
                err = syntax_error(case["condition"])
                if err:
                    problems.append(Problem("bad_expression", err, node_id=node.id,
                                            field=f"config.cases[{i}].condition"))
    skip = spec.bare_expressions + spec.template_skip
    for path, expr in template_expressions(node.config, skip):
        err = syntax_error(expr)
        if err:
            problems.append(Problem("bad_expression", f"in {{{{ {expr.strip()} }}}}: {err}", node_id=node.id,
                                    field=path))


_FIELD_REF_RE = re.compile(
    r"(?<![\w$.])nodes\s*(?:\.\s*`?([A-Za-z_][\w\-]*)`?|\[\s*[\"']([^\"']+)[\"']\s*\])\s*\.\s*(?:`([^`]+)`|([A-Za-z_]\w*))")


def _expressions(node, spec: ComponentSpec) -> list[tuple[str, str]]:
    """(field path, JSONata text) of every expression in the node's config."""
    found = [(f"config.{k}", node.config[k]) for k in spec.bare_expressions if isinstance(node.config.get(k), str)]
    if node.type == "switch" and isinstance(node.config.get("cases"), list):
        found += [(f"config.cases[{i}].condition", c["condition"]) for i, c in enumerate(node.config["cases"])
                  if isinstance(c, dict) and isinstance(c.get("condition"), str)]
    return found + template_expressions(node.config, spec.bare_expressions + spec.template_skip)


def schema_can_have(schema: Mapping[str, Any], field: str) -> bool:
    """Whether a value valid against output `schema` may have `field` (as JSONata reads it: on an array, the
    field of its items). Only a closed object (`additionalProperties: false`) or a scalar type excludes it."""
    if not schema:
        return True
    for sub in ("anyOf", "oneOf"):
        if isinstance(schema.get(sub), list):
            return any(schema_can_have(s, field) for s in schema[sub] if isinstance(s, Mapping))
    types = schema.get("type")
    if types is None:
        return True
    types = [types] if isinstance(types, str) else list(types)
    if "object" in types:
        props = schema.get("properties") or {}
        if field in props or schema.get("additionalProperties", True) is not False or schema.get("patternProperties"):
            return True
    if "array" in types:
        items = schema.get("items")
        if not isinstance(items, Mapping) or schema_can_have(items, field):
            return True
    return False


def _output_field_problems(defn: Definition, node, spec: ComponentSpec, registry: Registry,
                           problems: list[Problem]) -> None:
    """Warn when an expression reads `nodes.<id>.<field>` that the upstream's output schema cannot have."""
    for path, text in _expressions(node, spec):
        for m in _FIELD_REF_RE.finditer(text):
            upstream_id, field = m.group(1) or m.group(2), m.group(3) or m.group(4)
            upstream = defn.nodes.get(upstream_id)
            if upstream is None:
                continue
            up_spec = registry.get(upstream.type)
            if up_spec is None or (field == "error" and up_spec.can_fail):
                continue
            schema = up_spec.output_schema
            if not schema_can_have(schema, field):
                props = sorted((schema.get("properties") or {}) if isinstance(schema, Mapping) else {})
                has = f"its output has {', '.join(props)}" if props else \
                    f"its output is {schema.get('type', 'not an object')}"
                problems.append(Problem(
                    "unknown_output_field", f"'{upstream.type}' node '{upstream_id}' never outputs a field "
                    f"'{field}' ({has})", node_id=node.id, field=path, severity="warning"))


def validate_parsed(defn: Definition, registry: Registry, _depth: int = 0) -> list[Problem]:
    """Every problem of a parsed definition, errors and warnings (see `Problem.severity`)."""
    problems: list[Problem] = []
    for node in defn.nodes.values():
        spec = registry.get(node.type)
        if spec is None:
            if node.type:
                problems.append(Problem("unknown_type", f"unknown component type '{node.type}' (known: "
                                        + ", ".join(registry.types()) + ")", node_id=node.id, field="type"))
            continue
        _config_problems(node, spec, problems)
        _expression_problems(node, spec, problems)
        for field, message in static_problems(node.type, node.config):
            problems.append(Problem("bad_config", message, node_id=node.id, field=field))
        _output_field_problems(defn, node, spec, registry, problems)
        for path in payload_refs(node.config, "config"):
            problems.append(Problem("payload_ref", "stored-payload references ($ref) are made by the engine and "
                                    "not accepted in a definition", node_id=node.id, field=path))
        if node.retry is not None and spec.kind != "activity":
            problems.append(Problem("retry_not_applicable",
                                    f"'{node.type}' nodes run inside the workflow and are not retried; "
                                    "remove 'retry'", node_id=node.id, field="retry"))
        if node.type in ("map", "subworkflow") and isinstance(node.config.get("definition"), dict):
            if _depth >= 5:
                problems.append(Problem("too_deep", "inline definitions nested more than 5 levels",
                                        node_id=node.id, field="config.definition"))
            else:
                for sub in validate_definition(node.config["definition"], registry, _depth + 1, warnings=True):
                    problems.append(Problem(sub.code, f"in the inline definition: {sub}", node_id=node.id,
                                            field="config.definition", severity=sub.severity))
        ports = spec.output_ports(node.config)
        for edge in defn.outgoing(node.id):
            if edge.source_port not in ports:
                allowed = ", ".join(ports) if ports else "none: this node ends the execution"
                problems.append(Problem("unknown_port", f"'{node.type}' node '{node.id}' has no port "
                                        f"'{edge.source_port}' (ports: {allowed})", node_id=node.id,
                                        edge_index=edge.index, field="source_port"))

    info = analyze(defn)
    if not info.starts:
        problems.append(Problem("no_start", "the definition has no 'start' node"))
    elif len(info.starts) > 1:
        for sid in info.starts:
            problems.append(Problem("several_starts", f"there are {len(info.starts)} 'start' nodes "
                                    f"({', '.join(info.starts)}); exactly one is allowed", node_id=sid))
    for sid in info.starts:
        for edge in defn.incoming(sid):
            problems.append(Problem("edge_into_start", "an edge leads into the start node", node_id=sid,
                                    edge_index=edge.index, field="target"))
    if not any(n.type in ("end", "terminate") for n in defn.nodes.values()) and defn.nodes:
        problems.append(Problem("no_end", "the definition has no 'end' node (nor a 'terminate')"))
    if info.starts:
        for node in defn.nodes.values():
            if node.id not in info.reachable:
                problems.append(Problem("unreachable", "node is not reachable from start", node_id=node.id))
    for cycle in info.bad_cycles:
        problems.append(Problem("cycle_without_loop",
                                "cycle " + " -> ".join(cycle) + " does not pass through a 'loop' node",
                                node_id=cycle[0]))
    for jid, why in info.join_errors.items():
        problems.append(Problem("join_without_parallel", why, node_id=jid))
    return problems


def validate_definition(data: Any, registry: Registry, _depth: int = 0, *, warnings: bool = False) -> list[Problem]:
    """Check a definition as a whole against ``registry`` (the component specs: built-in nodes plus
    the connectors, ``connectors.registry.default_registry()``). Returns every problem found (no errors:
    valid).

    Warnings (severity `warning`, never blocking) are included only when `warnings` is true, so callers
    that treat any problem as fatal keep working unchanged."""
    defn, problems = parse_definition(data)
    if defn is not None:
        problems = problems + validate_parsed(defn, registry, _depth)
    return problems if warnings else [p for p in problems if p.severity == "error"]
