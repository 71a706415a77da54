"""Component specifications: what a node `type` is, its config schema and its ports.

Pure data, safe to import inside the workflow sandbox. Built-in control-flow and pure data
components are declared here; side-effecting components (run as activities) are declared by
their connector modules and merged into a registry by `connectors.registry`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Kind = Literal["control", "pure", "activity"]
Category = Literal["core", "logic", "data", "integration", "communication", "advanced"]
CATEGORIES: tuple[str, ...] = ("core", "logic", "data", "integration", "communication", "advanced")
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
    category: Category = "core"
    """Palette family: core, logic, data, integration, communication or advanced."""
    title: str = ""
    """Display name in the designer (defaults to the type)."""
    icon: str = "box"
    """Icon name the designer shows (a lucide icon name)."""
    output_schema: Mapping[str, Any] = field(default_factory=dict)
    """JSON Schema of the node's output (`{}`: anything). Drives `nodes.<id>.` completions and checks."""
    idempotent: bool = False
    """Whether running the node twice with the same config has the effect of running it once."""
    docs: str = ""
    """Longer help (Markdown) shown in the designer and in `GET /api/v1/components`."""
    example: Mapping[str, Any] | None = None
    """An example `config` for the node."""

    def describe(self) -> dict[str, Any]:
        """The spec as JSON for the designer's palette (`GET /api/v1/components`)."""
        return {
            "type": self.type, "kind": self.kind, "category": self.category,
            "title": self.title or self.type, "description": self.description, "icon": self.icon,
            "config_schema": dict(self.config_schema), "output_schema": dict(self.output_schema),
            "ports": list(self.ports), "dynamic_ports": self.type == "switch", "can_fail": self.can_fail,
            "idempotent": self.idempotent, "docs": self.docs, "example": dict(self.example) if self.example else None,
            "expression_fields": list(self.bare_expressions),
        }

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

TEMPORAL_WORKFLOW_SPEC = ComponentSpec(
    "temporal.workflow", "control",
    "Starts any Temporal workflow by type: as a child (waits for its result) or fire-and-forget.",
    {"type": "object", "required": ["workflow_type"], "additionalProperties": False, "properties": {
        "workflow_type": {"type": "string", "minLength": 1, "title": "Workflow type",
                          "description": "The registered workflow type (name), e.g. OrderSaga."},
        "mode": {"enum": ["child", "start"], "default": "child", "title": "Mode",
                 "description": "child: run it as a child workflow and wait for its result; start: start it "
                                "as an independent workflow and continue at once (fire-and-forget)."},
        "task_queue": {"type": "string", "minLength": 1, "title": "Task queue",
                       "description": "Where its worker polls (default: this worker's task queue)."},
        "args": {"type": "array", "title": "Arguments", "description": "Positional arguments (templates)."},
        "input": {"title": "Input", "description": "A single argument (templates); use `args` for several."},
        "workflow_id": {"type": "string", "minLength": 1, "title": "Workflow id",
                        "description": "Default: <execution id>/<node id>/<activation> (retries never start "
                                       "a second workflow)."},
        "execution_timeout": {**_DURATION, "title": "Execution timeout"},
    }, "not": {"required": ["args", "input"]}},
)
TEMPORAL_WORKFLOW_META = {
    "category": "advanced", "title": "Temporal workflow", "icon": "workflow",
    "output_schema": {"type": "object", "properties": {
        "workflow_id": {"type": "string"}, "run_id": {"type": ["string", "null"]}, "result": {}}},
    "docs": "Mixes hand-written Temporal workflows into designed ones. `mode: child` starts a child workflow "
            "and waits: the output is `{workflow_id, run_id, result}`; its failure goes to the `error` port. "
            "`mode: start` starts an independent workflow through the worker's client and continues at once: "
            "the output is `{workflow_id, run_id}`.",
    "example": {"workflow_type": "OrderSaga", "task_queue": "orders", "input": {"order_id": "{{ input.id }}"}},
}
BUILTIN_SPECS = BUILTIN_SPECS + (TEMPORAL_WORKFLOW_SPEC,)
TEMPORAL_START_ACTIVITY = "temporal.workflow"
"""Activity (named after the type) that starts a workflow fire-and-forget (`mode: start`)."""

CONTEXT_COMPONENTS: dict[str, tuple[str, ...]] = {"code.python": ("code",), "code.javascript": ("code",)}
"""Activity components that read the execution context themselves (the code steps). The interpreter sends
them the context their code may read (`input`, `vars`, `execution` and the `nodes` it names; all of them
when it reads `nodes` dynamically) and never renders the listed config fields as templates."""

_ANY: dict[str, Any] = {}
_BUILTIN_META: dict[str, dict[str, Any]] = {
    "start": {"category": "core", "title": "Start", "icon": "play", "idempotent": True},
    "end": {"category": "core", "title": "End", "icon": "square", "idempotent": True},
    "terminate": {"category": "core", "title": "Terminate", "icon": "octagon-x", "idempotent": True},
    "transform": {"category": "data", "title": "Transform", "icon": "wand", "idempotent": True,
                  "example": {"expression": "{ 'total': $sum(input.items.(price * qty)) }"}},
    "set": {"category": "data", "title": "Set variables", "icon": "variable", "idempotent": True,
            "output_schema": {"type": "object"}, "example": {"values": {"customer": "{{ input.customer }}"}}},
    "decision": {"category": "logic", "title": "Decision (if)", "icon": "split", "idempotent": True,
                 "output_schema": {"type": "object", "properties": {"result": {"type": "boolean"}},
                                   "additionalProperties": False},
                 "example": {"condition": "input.amount > 1000"}},
    "switch": {"category": "logic", "title": "Switch", "icon": "route", "idempotent": True,
               "example": {"expression": "input.kind", "cases": [{"port": "a", "value": "a"}]}},
    "filter": {"category": "data", "title": "Filter", "icon": "filter", "idempotent": True,
               "output_schema": {"type": "array"}, "example": {"items": "input.items", "condition": "item.qty > 0"}},
    "parallel": {"category": "logic", "title": "Parallel", "icon": "git-fork", "idempotent": True},
    "join": {"category": "logic", "title": "Join", "icon": "git-merge", "idempotent": True,
             "output_schema": {"type": "object"}},
    "loop": {"category": "logic", "title": "Loop", "icon": "repeat", "idempotent": True,
             "example": {"condition": "vars.i < 10", "max_iterations": 100}},
    "map": {"category": "logic", "title": "Map (for each)", "icon": "list-tree", "output_schema": {"type": "array"}},
    "subworkflow": {"category": "core", "title": "Sub-workflow", "icon": "workflow"},
    "wait": {"category": "core", "title": "Wait", "icon": "timer", "idempotent": True,
             "example": {"duration": "PT1H"}},
    "approval": {"category": "core", "title": "Approval", "icon": "user-check",
                 "output_schema": {"type": "object", "properties": {
                     "task_id": {"type": "string"}, "decision": {"type": "string"},
                     "comment": {"type": ["string", "null"]}, "data": {"type": ["object", "null"]},
                     "decided_by": {"type": ["string", "null"]}, "decided_at": {"type": ["string", "null"]},
                     "votes": {"type": "array"}, "escalated": {"type": "boolean"}, "timed_out": {"type": "boolean"}}},
                 "example": {"title": "Approve the expense", "assignees": {"roles": ["admin"]}, "due": "P2D"}},
    "temporal.workflow": TEMPORAL_WORKFLOW_META,
}
BUILTIN_SPECS = tuple(replace(spec, **_BUILTIN_META.get(spec.type, {})) for spec in BUILTIN_SPECS)


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
