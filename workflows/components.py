"""Component specifications: what a node `type` is, its config schema and its ports.

Pure data, safe to import inside the workflow sandbox. Built-in control-flow and pure data
components are declared here; side-effecting components (run as activities) are declared by
their connector modules and merged into a registry by `connectors.registry`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["control", "pure", "activity"]
"""`control`: handled by the interpreter (start, parallel, wait, map...);
`pure`: computed from the context without I/O, evaluated inline in the workflow;
`activity`: has side effects, always runs as a Temporal activity named after its type."""

ERROR_PORT = "error"
DEFAULT_PORT = "out"


@dataclass(frozen=True)
class ComponentSpec:
    type: str
    """The node `type` this spec describes, e.g. ``http.request``."""
    kind: Kind
    description: str
    config_schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "object"})
    """JSON Schema of the node's ``config``."""
    ports: tuple[str, ...] = (DEFAULT_PORT,)
    """Output ports (``error`` is implicit for nodes that can fail)."""
    can_fail: bool = True
    """Whether the node may fail and so offers an ``error`` port."""
    bare_expressions: tuple[str, ...] = ()
    """Config fields holding bare JSONata (not ``{{ }}`` templates)."""
    template_skip: tuple[str, ...] = ()
    """Config fields that are not rendered as templates before the node runs."""

    def output_ports(self, config: Mapping[str, Any]) -> tuple[str, ...]:
        ports = self.ports
        if self.type == "switch":
            cases = config.get("cases")
            cases = cases if isinstance(cases, list) else []
            ports = tuple(c["port"] for c in cases
                          if isinstance(c, Mapping) and isinstance(c.get("port"), str) and c["port"]) + ("default",)
        if self.can_fail:
            ports = ports + (ERROR_PORT,)
        return ports


_DURATION = {"type": "string", "pattern": "^P", "description": "ISO-8601 duration, e.g. PT30S"}
_EXPR = {"type": "string", "minLength": 1}
_SUBDEF = {"type": "object", "required": ["nodes", "edges"]}

BUILTIN_SPECS: tuple[ComponentSpec, ...] = (
    ComponentSpec("start", "control", "Entry point; its output is the execution input.",
                  {"type": "object", "properties": {"input_schema": {"type": "object"}}}, can_fail=False),
    ComponentSpec("end", "control", "Finishes the execution; `output` is the result.",
                  {"type": "object", "properties": {"output": {}}}, ports=(), can_fail=False),
    ComponentSpec("terminate", "control", "Ends the execution as failed with `message`.",
                  {"type": "object", "properties": {"message": {"type": "string"}}}, ports=(), can_fail=False),
    ComponentSpec("transform", "pure", "Output is the value of a JSONata `expression`.",
                  {"type": "object", "required": ["expression"], "properties": {"expression": _EXPR},
                   "additionalProperties": False},
                  bare_expressions=("expression",)),
    ComponentSpec("set", "pure", "Assigns `values` (templates) to `vars`.",
                  {"type": "object", "required": ["values"],
                   "properties": {"values": {"type": "object", "minProperties": 1}}, "additionalProperties": False}),
    ComponentSpec("decision", "pure", "Routes to port `true` or `false` by a JSONata `condition`.",
                  {"type": "object", "required": ["condition"], "properties": {"condition": _EXPR},
                   "additionalProperties": False},
                  ports=("true", "false"), bare_expressions=("condition",)),
    ComponentSpec("switch", "pure",
                  "Routes to the first case whose `condition` holds (or whose `value` equals `expression`), "
                  "else `default`.",
                  {"type": "object", "required": ["cases"],
                   "properties": {
                       "expression": _EXPR,
                       "cases": {"type": "array", "minItems": 1, "items": {
                           "type": "object", "required": ["port"],
                           "properties": {"port": {"type": "string", "minLength": 1}, "condition": _EXPR, "value": {}},
                           "additionalProperties": False}}},
                   "additionalProperties": False},
                  ports=("default",), bare_expressions=("expression",), template_skip=("cases",)),
    ComponentSpec("filter", "pure", "Keeps the items of `items` for which `condition` holds (`item`, `index` bound).",
                  {"type": "object", "required": ["items", "condition"],
                   "properties": {"items": _EXPR, "condition": _EXPR}, "additionalProperties": False},
                  bare_expressions=("items", "condition")),
    ComponentSpec("parallel", "control", "Starts every outgoing branch concurrently.",
                  {"type": "object"}, can_fail=False),
    ComponentSpec("join", "control",
                  "Waits for every branch of its `parallel` and outputs their results keyed by branch.",
                  {"type": "object", "properties": {"parallel": {"type": "string"}}}, can_fail=False),
    ComponentSpec("loop", "control",
                  "Repeats its `body` while `condition` holds, then continues on `done`.",
                  {"type": "object", "required": ["condition"],
                   "properties": {"condition": _EXPR, "max_iterations": {"type": "integer", "minimum": 1}},
                   "additionalProperties": False},
                  ports=("body", "done"), bare_expressions=("condition",)),
    ComponentSpec("map", "control",
                  "Runs a sub-definition (or stored workflow) for each item of `items`, as child workflows.",
                  {"type": "object", "required": ["items"],
                   "properties": {"items": _EXPR, "definition": _SUBDEF, "workflow_id": {"type": "string"},
                                  "version": {"type": "integer"},
                                  "concurrency": {"type": "integer", "minimum": 1, "maximum": 1000}},
                   "oneOf": [{"required": ["definition"]}, {"required": ["workflow_id"]}]},
                  bare_expressions=("items",), template_skip=("definition",)),
    ComponentSpec("subworkflow", "control", "Runs another definition as a child workflow.",
                  {"type": "object",
                   "properties": {"definition": _SUBDEF, "workflow_id": {"type": "string"},
                                  "version": {"type": "integer"}, "input": {}},
                   "oneOf": [{"required": ["definition"]}, {"required": ["workflow_id"]}]},
                  template_skip=("definition",)),
    ComponentSpec("wait", "control", "A durable timer: `duration` or `until` (timestamp).",
                  {"type": "object", "properties": {"duration": _DURATION, "until": {"type": "string"}},
                   "oneOf": [{"required": ["duration"]}, {"required": ["until"]}]}),
    ComponentSpec("approval", "control",
                  "Waits for people's decision (N of M), with due date and escalation.",
                  {"type": "object", "required": ["title", "assignees"],
                   "properties": {
                       "title": {"type": "string", "minLength": 1}, "description": {"type": "string"},
                       "assignees": {"type": "object", "properties": {
                           "users": {"type": "array", "items": {"type": "string"}},
                           "roles": {"type": "array", "items": {"type": "string"}}}},
                       "required_approvals": {"type": "integer", "minimum": 1},
                       "form": {"type": "object"},
                       "due": _DURATION,
                       "escalate_to": {"type": "object"},
                       "on_timeout": {"enum": ["escalate", "reject", "timeout"]},
                       "allow_self_approval": {"type": "boolean"},
                       "notify": {"type": "object", "additionalProperties": False, "properties": {
                           "email": {"type": "boolean"},
                           "link_hours": {"type": "number", "exclusiveMinimum": 0, "maximum": 24 * 90}}}},
                   "additionalProperties": False},
                  ports=("approved", "rejected", "timeout"), template_skip=("form",)),
)


class Registry:
    """Component specs by type."""

    def __init__(self, specs: Iterable[ComponentSpec]):
        self._specs: dict[str, ComponentSpec] = {}
        for spec in specs:
            if spec.type in self._specs:
                raise ValueError(f"component type {spec.type!r} registered twice")
            self._specs[spec.type] = spec

    def get(self, type_: str) -> ComponentSpec | None:
        return self._specs.get(type_)

    def __contains__(self, type_: str) -> bool:
        return type_ in self._specs

    def types(self) -> list[str]:
        return sorted(self._specs)

    def specs(self) -> list[ComponentSpec]:
        return [self._specs[t] for t in self.types()]


BUILTINS = {spec.type: spec for spec in BUILTIN_SPECS}


def is_activity_type(type_: str) -> bool:
    """Inside the interpreter: a type that is not built in runs as an activity of that name."""
    return type_ not in BUILTINS
