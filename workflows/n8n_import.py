"""n8n workflow export JSON -> our definition, the triggers to create, and what could not be translated.

Pure code (layer 0: imports only `workflows`). See docs/n8n-import.md for the mapping. Invariants:

- **Items.** n8n nodes pass lists of items `{json}`. Every translated node's output (`nodes.<id>`) is the
  list of its items' `json` objects (binary data is not carried). A node with several outputs (IF, Switch,
  Loop Over Items, an error output) has one JSONata "exit" expression per output. A node runs once per
  arriving path, like n8n v1; per-item parameters are evaluated per item (`$map` over the input list).
- **Zero items stop a branch**, like n8n: after a node that can emit no items a `decision` router lets the
  token through only if the list is not empty.
- **Paths are unrolled.** Our engine gives a node no way to know which predecessor delivered, so a node with
  several incoming connections (other than Merge and Loop Over Items) is instantiated once per incoming path
  (`<id>__2`, ...), and so is everything below it. `$('Name')` resolves to the copy on the same path.
- **Completion.** The whole graph runs inside one `parallel` (`_n8n_fork`) whose `join` (`_n8n_join`)
  waits for every leaf; the execution result is the item list of the last leaf to finish (n8n's
  "last node"). Merge nodes become a `parallel` at the fork point of their inputs plus a `join`.
- **Never a different meaning.** A node or parameter without an exact translation is reported
  (`{node, type, reason}`) and, when the caller imports anyway (non-strict), replaced by a `terminate` node
  saying so: an execution that reaches it fails instead of doing something else.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any, Callable

from workflows.n8n_expressions import (
    Scope,
    Untranslatable,
    field_name,
    is_expression,
    iso_picture,
    jstr,
    luxon_to_picture,
    translate_value,
    with_helpers,
)

MAX_INSTANCES = 300
JOIN_ID = "_n8n_join"
FORK_ID = "_n8n_fork"
START_ID = "_n8n_start"
END_ID = "_n8n_end"

TRIGGER_TYPES = {
    "n8n-nodes-base.manualTrigger", "n8n-nodes-base.scheduleTrigger", "n8n-nodes-base.webhook",
    "n8n-nodes-base.executeWorkflowTrigger", "n8n-nodes-base.cron", "n8n-nodes-base.interval",
}
STICKY = "n8n-nodes-base.stickyNote"


class N8nFormatError(ValueError):
    """The input is not an n8n workflow export; `problems` say what and where."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass
class ImportResult:
    definition: dict[str, Any]
    triggers: list[dict[str, Any]]
    """Trigger specs in the shape `POST /api/v1/workflows/{id}/triggers` takes (plus `n8n_node`)."""
    untranslatable: list[dict[str, str]]
    """`{node, type, reason}` for every node or parameter without an exact translation."""
    warnings: list[dict[str, str]]
    """`{node, type, message}`: translated, with an assumption the user should know about."""
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"definition": self.definition, "triggers": self.triggers, "untranslatable": self.untranslatable,
                "warnings": self.warnings, "name": self.name}


@dataclass
class Exit:
    node: str
    port: str
    items: str


@dataclass
class Inst:
    """One instance of an n8n node on one path."""

    id: str
    name: str
    raw: dict[str, Any]
    inputs: dict[int, list[tuple["Inst", int]]] = field(default_factory=lambda: defaultdict(list))
    exits: dict[int, Exit] = field(default_factory=dict)
    entry: str = ""
    entries: dict[int, str] = field(default_factory=dict)
    """Merge: our entry node per input index (all the join)."""
    items_ref: str = ""
    """JSONata: this node's (first output's) items, for `$('Name')`."""
    scope: dict[str, "Inst | None"] = field(default_factory=dict)
    """n8n node name -> the instance of it upstream on this path (itself included); None: ambiguous."""
    aligned: set[str] = field(default_factory=set)
    """Upstream names whose items line up by index with this node's input items."""
    failed: str | None = None
    back_sources: list[tuple["Inst", int]] = field(default_factory=list)
    single: bool = False
    """Statically known to emit exactly one item (when it emits any)."""
    child: bool = False
    """Its side effect runs once per item in a `map` child workflow; expressions read the child's input."""
    child_refs: dict[str, str] = field(default_factory=dict)
    """Child mode: our node id -> parent JSONata of the items passed to the child as `input.refs.<id>`."""
    first_item_only: bool = False
    """Expressions are evaluated for the first input item only (Respond to Webhook)."""
    js_params: list[tuple[str, str]] = field(default_factory=list)
    """Parameters evaluated by JavaScript (`<id>__js`, code.javascript): (key, n8n expression)."""
    js_refs: dict[str, str] = field(default_factory=dict)
    js_id: str = ""
    child_all_items: bool = False
    """Child mode: an expression reads `$input`, so each child gets every input item (else only its own)."""

    @property
    def type(self) -> str:
        return str(self.raw.get("type", ""))

    @property
    def params(self) -> dict[str, Any]:
        p = self.raw.get("parameters")
        return p if isinstance(p, dict) else {}


def _nodes_ref(node_id: str) -> str:
    return f"nodes.{field_name(node_id)}"


def _items_of(node_id: str) -> str:
    return f"$append([], {_nodes_ref(node_id)})"


def _slug(name: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_\-]", "_", name.strip())[:100] or "node"
    if not re.match(r"[A-Za-z_]", s):
        s = "n_" + s
    return s


PRESERVES_PAIRING = {
    "n8n-nodes-base.set", "n8n-nodes-base.noOp", "n8n-nodes-base.dateTime", "n8n-nodes-base.wait",
    "n8n-nodes-base.respondToWebhook", "n8n-nodes-base.emailSend", "n8n-nodes-base.redis",
}


class _Importer:
    def __init__(self, data: Any, workflow_ids: dict[str, str] | None = None, js_fallback: bool = True):
        self.data = data
        self.workflow_ids = dict(workflow_ids or {})
        self.js_fallback = js_fallback
        self.nodes: list[dict[str, Any]] = []
        self.out: list[dict[str, Any]] = []
        self.edges: list[dict[str, Any]] = []
        self.untranslatable: list[dict[str, str]] = []
        self.warnings: list[dict[str, str]] = []
        self.triggers: list[dict[str, Any]] = []
        self.notes: list[dict[str, Any]] = []
        self.ids: set[str] = {JOIN_ID, FORK_ID, START_ID, END_ID}
        self.timezone = "UTC"

    def read_settings(self) -> None:
        raw = self.data.get("settings")
        settings: dict[str, Any] = raw if isinstance(raw, dict) else {}
        self.timezone = str(settings.get("timezone") or self.timezone)
        if settings.get("executionOrder") not in (None, "v1"):
            self.warn("", "", f"executionOrder {settings.get('executionOrder')!r}: imported with v1 semantics "
                              "(a branch runs once per arriving path; Merge waits for its inputs)")

    # ------------------------------------------------------------ bookkeeping
    def warn(self, node: str, type_: str, message: str) -> None:
        self.warnings.append({"node": node, "type": type_, "message": message})

    def fail(self, inst: Inst, reason: str) -> None:
        if not any(u["node"] == inst.name and u["reason"] == reason for u in self.untranslatable):
            self.untranslatable.append({"node": inst.name, "type": inst.type, "reason": reason})

    def new_id(self, base: str) -> str:
        cand, n = base, 2
        while cand in self.ids:
            cand = f"{base}__{n}"
            n += 1
        self.ids.add(cand)
        return cand

    def add(self, node: dict[str, Any]) -> str:
        self.out.append(node)
        return node["id"]

    def edge(self, source: str, target: str, port: str = "out") -> None:
        e: dict[str, Any] = {"source": source, "target": target}
        if port != "out":
            e["source_port"] = port
        self.edges.append(e)

    # ------------------------------------------------------------ shape
    def check_shape(self) -> None:
        d = self.data
        problems: list[str] = []
        if not isinstance(d, dict):
            raise N8nFormatError(["an n8n workflow export is a JSON object with 'nodes' and 'connections'"])
        nodes = d.get("nodes")
        if not isinstance(nodes, list):
            problems.append("'nodes' must be a list")
            nodes = []
        conns = d.get("connections", {})
        if not isinstance(conns, dict):
            problems.append("'connections' must be an object keyed by node name")
        names: set[str] = set()
        for i, n in enumerate(nodes):
            if not isinstance(n, dict):
                problems.append(f"nodes[{i}] must be an object")
                continue
            name, type_ = n.get("name"), n.get("type")
            if not isinstance(name, str) or not name:
                problems.append(f"nodes[{i}].name must be a non-empty string")
                continue
            if name in names:
                problems.append(f"nodes[{i}]: node name {name!r} is used twice")
            names.add(name)
            if not isinstance(type_, str) or not type_:
                problems.append(f"node {name!r}: 'type' must be a string like 'n8n-nodes-base.set'")
            if "parameters" in n and not isinstance(n["parameters"], dict):
                problems.append(f"node {name!r}: 'parameters' must be an object")
            pos = n.get("position")
            if pos is not None and not (isinstance(pos, list) and len(pos) == 2
                                        and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in pos)):
                problems.append(f"node {name!r}: 'position' must be [x, y]")
        if isinstance(conns, dict):
            for src, by_type in conns.items():
                if src not in names:
                    problems.append(f"connections: source {src!r} is not a node")
                    continue
                if not isinstance(by_type, dict):
                    problems.append(f"connections[{src!r}] must be an object keyed by connection type")
                    continue
                for ctype, outputs in by_type.items():
                    if not isinstance(outputs, list):
                        problems.append(f"connections[{src!r}][{ctype!r}] must be a list of outputs")
                        continue
                    for k, slot in enumerate(outputs):
                        if slot is None:
                            continue
                        if not isinstance(slot, list):
                            problems.append(f"connections[{src!r}][{ctype!r}][{k}] must be a list")
                            continue
                        for c in slot:
                            if not isinstance(c, dict) or not isinstance(c.get("node"), str):
                                problems.append(f"connections[{src!r}][{ctype!r}][{k}]: each target needs 'node'")
                            elif c["node"] not in names:
                                problems.append(f"connections[{src!r}][{ctype!r}][{k}]: target {c['node']!r} "
                                                "is not a node")
                            elif not isinstance(c.get("index", 0), int) or isinstance(c.get("index", 0), bool) \
                                    or c.get("index", 0) < 0:
                                problems.append(f"connections[{src!r}][{ctype!r}][{k}]: 'index' must be an "
                                                "integer >= 0")
        if problems:
            raise N8nFormatError(problems)
        self.nodes = nodes

    # ------------------------------------------------------------ main
    def run(self) -> ImportResult:
        self.check_shape()
        self.read_settings()
        by_name = {n["name"]: n for n in self.nodes}
        for n in self.nodes:
            if n["type"] == STICKY:
                p = n.get("parameters") or {}
                pos = n.get("position") or [0, 0]
                note = {"id": self.new_id("note_" + _slug(n["name"])), "text": str(p.get("content", "")),
                        "position": {"x": pos[0], "y": pos[1]},
                        "width": p.get("width", 240), "height": p.get("height", 160)}
                if "color" in p:
                    note["color"] = p["color"]
                self.notes.append(note)
        # connections: src -> output k -> [(target, input index)]
        self.conns: dict[str, dict[int, list[tuple[str, int]]]] = defaultdict(lambda: defaultdict(list))
        self.incoming: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
        for src, by_type in (self.data.get("connections") or {}).items():
            for ctype, outputs in by_type.items():
                if ctype != "main":
                    for slot in outputs:
                        for c in slot or []:
                            t = by_name[c["node"]]
                            self.untranslatable.append({
                                "node": c["node"], "type": t["type"],
                                "reason": f"'{ctype}' connection from '{src}' (AI/sub-node connections are not "
                                          "translated)"})
                    continue
                for k, slot in enumerate(outputs):
                    for c in slot or []:
                        self.conns[src][k].append((c["node"], int(c.get("index", 0))))
                        self.incoming[c["node"]].append((src, k, int(c.get("index", 0))))
        triggers = [n for n in self.nodes if n["type"] in TRIGGER_TYPES and not n.get("disabled")]
        if not triggers:
            raise N8nFormatError(["the workflow has no trigger node (Manual, Schedule, Webhook or Execute "
                                  "Workflow Trigger) to start from"])
        order = {"n8n-nodes-base.webhook": 0, "n8n-nodes-base.scheduleTrigger": 1, "n8n-nodes-base.cron": 1,
                 "n8n-nodes-base.interval": 1, "n8n-nodes-base.executeWorkflowTrigger": 2,
                 "n8n-nodes-base.manualTrigger": 3}
        triggers.sort(key=lambda n: order.get(n["type"], 9))
        primary = triggers[0]
        for t in triggers:
            self.trigger_spec(t)
        for t in triggers[1:]:
            same = sorted(self.conns[t["name"]].get(0, [])) == sorted(self.conns[primary["name"]].get(0, []))
            if not same and self.conns[t["name"]]:
                self.untranslatable.append({
                    "node": t["name"], "type": t["type"],
                    "reason": f"a second trigger leading to other nodes than '{primary['name']}' (one entry point "
                              "per workflow: import it as its own workflow)"})
            elif t["type"] != primary["type"] and t["type"] != "n8n-nodes-base.manualTrigger":
                self.warn(t["name"], t["type"], f"starts the same nodes as '{primary['name']}'; its runs get "
                                                f"items shaped like '{primary['name']}' items")

        insts = self.unroll(primary, by_name)
        if insts is None:
            return self.result()
        self.add({"id": START_ID, "type": "start", "name": "Start", "position": self._pos(primary, -200, 0)})
        self.add({"id": FORK_ID, "type": "parallel", "name": "n8n run", "position": self._pos(primary, -100, 0)})
        self.edge(START_ID, FORK_ID)
        for inst in insts:
            self.translate(inst)
        first = insts[0]
        self.edge(FORK_ID, first.entry)
        self.wire(insts)
        leaves = [i for i in insts if not any(self.conns[i.name].get(k) for k in self.conns[i.name])]
        self.add({"id": JOIN_ID, "type": "join", "name": "all branches done", "config": {"parallel": FORK_ID}})
        for leaf in leaves:
            ex = leaf.exits.get(0)
            if ex is None:
                continue
            if ex.items != _items_of(ex.node):
                rid = self.new_id(leaf.id + "__result")
                self.add({"id": rid, "type": "transform", "config": {"expression": ex.items}})
                self.edge(ex.node, rid, ex.port)
                self.edge(rid, JOIN_ID)
            else:
                self.edge(ex.node, JOIN_ID, ex.port)
        self.add({"id": END_ID, "type": "end", "name": "End",
                  "config": {"output": "{{ " + f"$lookup(nodes.{JOIN_ID}, {jstr(first.entry)})" + " }}"}})
        self.edge(JOIN_ID, END_ID)
        self.merges(insts)
        self.drop_unreachable(insts)
        return self.result()

    def drop_unreachable(self, insts: list[Inst]) -> None:
        """Nodes reachable only through an untranslated node cannot run: drop them, saying so."""
        succ: dict[str, list[str]] = defaultdict(list)
        for e in self.edges:
            succ[e["source"]].append(e["target"])
        seen: set[str] = set()
        stack = [START_ID]
        while stack:
            n = stack.pop()
            if n not in seen:
                seen.add(n)
                stack.extend(succ.get(n, ()))
        dropped = {n["id"] for n in self.out} - seen
        if not dropped:
            return
        for inst in insts:
            if inst.id in dropped and not inst.failed:
                self.warn(inst.name, inst.type, "not imported: it runs only after an untranslatable node")
        self.out = [n for n in self.out if n["id"] in seen]
        self.edges = [e for e in self.edges if e["source"] in seen and e["target"] in seen]

    def result(self) -> ImportResult:
        definition: dict[str, Any] = {"schema_version": 1, "nodes": self.out, "edges": self.edges}
        if self.notes:
            definition["notes"] = self.notes
        name = self.data.get("name") if isinstance(self.data.get("name"), str) else None
        return ImportResult(definition=definition, triggers=self.triggers, untranslatable=self.untranslatable,
                            warnings=self.warnings, name=name)

    @staticmethod
    def _pos(raw: dict[str, Any], dx: float = 0, dy: float = 0) -> dict[str, float]:
        pos = raw.get("position") or [0, 0]
        return {"x": pos[0] + dx, "y": pos[1] + dy}

    # ------------------------------------------------------------ triggers
    def trigger_spec(self, raw: dict[str, Any]) -> None:
        t, p, name = raw["type"], raw.get("parameters") or {}, raw["name"]
        if t == "n8n-nodes-base.webhook":
            mode = p.get("responseMode", "onReceived")
            spec = {"kind": "webhook", "name": name, "response_mode": "async" if mode == "onReceived" else "sync",
                    "n8n_node": name}
            method = p.get("httpMethod", "GET")
            self.warn(name, t, f"n8n answered {method} /webhook/{p.get('path', '')}; the imported trigger answers "
                               "POST /api/v1/hooks/<trigger id>")
            self.triggers.append(spec)
        elif t in ("n8n-nodes-base.scheduleTrigger", "n8n-nodes-base.cron", "n8n-nodes-base.interval"):
            try:
                spec = self.schedule_spec(raw)
            except Untranslatable as err:
                self.untranslatable.append({"node": name, "type": t, "reason": err.reason})
                return
            except (AttributeError, TypeError, ValueError, KeyError, IndexError) as exc:
                self.untranslatable.append({"node": name, "type": t, "reason": "its schedule rule does not have "
                                            f"n8n's shape ({type(exc).__name__}: {exc})"})
                return
            spec.update({"kind": "schedule", "name": name, "timezone": self.timezone, "n8n_node": name})
            self.triggers.append(spec)

    def schedule_spec(self, raw: dict[str, Any]) -> dict[str, Any]:
        p = raw.get("parameters") or {}
        if raw["type"] != "n8n-nodes-base.scheduleTrigger":
            raise Untranslatable("legacy Cron/Interval trigger nodes are not translated; use Schedule Trigger")
        rules = ((p.get("rule") or {}).get("interval")) or [{"field": "days"}]
        if len(rules) != 1:
            raise Untranslatable("a Schedule Trigger with several rules (import one rule per workflow)")
        r = rules[0]
        f = r.get("field", "days")
        unit = {"seconds": 1, "minutes": 60, "hours": 3600}
        if f in unit:
            n = r.get(f"{f}Interval", 1)
            if f == "hours" and r.get("triggerAtMinute") not in (None, 0):
                return {"cron": f"{int(r['triggerAtMinute'])} */{int(n)} * * *"}
            return {"interval_seconds": int(n) * unit[f]}
        if f == "days":
            n = int(r.get("daysInterval", 1))
            h, m = int(r.get("triggerAtHour", 0)), int(r.get("triggerAtMinute", 0))
            if n != 1:
                raise Untranslatable("'every N days' with N > 1 has no exact cron form")
            return {"cron": f"{m} {h} * * *"}
        if f == "weeks":
            if int(r.get("weeksInterval", 1)) != 1:
                raise Untranslatable("'every N weeks' with N > 1 has no exact cron form")
            days = r.get("triggerAtDay") or [0]
            h, m = int(r.get("triggerAtHour", 0)), int(r.get("triggerAtMinute", 0))
            return {"cron": f"{m} {h} * * {','.join(str(int(d)) for d in days)}"}
        if f == "cronExpression":
            expr = str(r.get("expression", "")).strip()
            if len(expr.split()) != 5:
                raise Untranslatable(f"cron expression {expr!r}: only 5-field cron (no seconds) is translated")
            return {"cron": expr}
        raise Untranslatable(f"schedule rule field {f!r} is not translated")

    def trigger_items(self, raw: dict[str, Any]) -> str:
        t = raw["type"]
        if t == "n8n-nodes-base.webhook":
            return "[{'headers': input.headers, 'params': {}, 'query': input.query, 'body': input.body}]"
        if t in ("n8n-nodes-base.scheduleTrigger", "n8n-nodes-base.cron", "n8n-nodes-base.interval"):
            iso = iso_picture(self.timezone)
            return ("[{'timestamp': $now(" + jstr(iso) + "), 'Readable date': $now('[MNn] [D1o] [Y0001], [h1]:[m01]:[s01] "
                    "[Pn]'), 'Readable time': $now('[h1]:[m01]:[s01] [Pn]'), 'Day of week': $now('[FNn]'), "
                    "'Year': $now('[Y0001]'), 'Month': $now('[MNn]'), 'Day of month': $now('[D01]'), "
                    "'Hour': $now('[H01]'), 'Minute': $now('[m01]'), 'Second': $now('[s01]'), "
                    "'Timezone': 'UTC (UTC+00:00)'}]")
        # manual and execute-workflow triggers: the execution input is the item list
        return ("($x := input; $type($x) = 'array' ? $x : $type($x) = 'object' ? [$x] : "
                "$exists($x) and $type($x) != 'null' ? [{'data': $x}] : [{}])")

    # ------------------------------------------------------------ unrolling
    def unroll(self, primary: dict[str, Any], by_name: dict[str, dict[str, Any]]) -> list[Inst] | None:
        insts: list[Inst] = []
        single: dict[str, Inst] = {}
        keyed: dict[tuple[str, str, int], Inst] = {}

        def make(name: str, base_scope: dict[str, Inst | None]) -> Inst:
            inst = Inst(id=self.new_id(_slug(name)), name=name, raw=by_name[name])
            insts.append(inst)
            return inst

        root = make(primary["name"], {})
        root.scope = {root.name: root}
        single[root.name] = root
        queue = deque([root])
        loop_types = ("n8n-nodes-base.splitInBatches",)
        while queue:
            src = queue.popleft()
            if len(insts) > MAX_INSTANCES:
                self.untranslatable.append({"node": src.name, "type": src.type,
                                            "reason": f"more than {MAX_INSTANCES} node instances after unrolling "
                                                      "converging paths (or a cycle without Loop Over Items)"})
                return None
            for k, targets in sorted(self.conns[src.name].items()):
                for tname, tidx in targets:
                    traw = by_name[tname]
                    if traw["type"] in TRIGGER_TYPES:
                        continue
                    if traw["type"] == "n8n-nodes-base.merge" or traw["type"] in loop_types:
                        found = single.get(tname)
                        fresh = found is None
                        tgt = found if found is not None else make(tname, src.scope)
                        single[tname] = tgt
                    else:
                        key = (tname, src.id, k)
                        found = keyed.get(key)
                        fresh = found is None
                        tgt = found if found is not None else make(tname, src.scope)
                        keyed[key] = tgt
                    if traw["type"] in loop_types and not fresh and tname in src.scope:
                        tgt.back_sources.append((src, k))  # from the loop's own body: continue
                        continue
                    tgt.inputs[tidx].append((src, k))
                    if fresh:
                        tgt.scope = dict(src.scope)
                        tgt.scope[tname] = tgt
                        queue.append(tgt)
                    else:
                        for nm, other in src.scope.items():  # a Merge sees both paths
                            if nm in tgt.scope and tgt.scope[nm] is not other and nm != tname:
                                tgt.scope[nm] = None  # ambiguous: reached on several paths
                            elif nm not in tgt.scope:
                                tgt.scope[nm] = other
        return insts

    # ------------------------------------------------------------ per-node translation
    def scope_for(self, inst: Inst) -> Scope:
        def node_items(name: str) -> str:
            other = inst.scope.get(name)
            if other is None:
                if name in inst.scope:
                    raise Untranslatable(f"'$(\"{name}\")' is ambiguous here (it is reached on several paths)")
                raise Untranslatable(f"refers to node '{name}', which does not run before this node on this path")
            if inst.child:
                inst.child_refs[other.id] = other.items_ref
                return f"input.refs.{field_name(other.id)}"
            return other.items_ref

        def paired(name: str) -> str:
            items = node_items(name)
            if name in inst.aligned:
                return f"{items}[$i]"
            return (f"($n := {items}; $count($n) = 1 ? $n[0] : $error({jstr(f'n8n: the item of {name} paired with this item is ambiguous (')} "
                    f"& $count($n) & ' items); use .first() or .all()'))")

        def fallback(value: str, reason: str) -> str:
            return self.js_param(inst, value, reason)

        return Scope(json="$json", index="$i", input_items="$in", node_items=node_items, paired=paired,
                     timezone=self.timezone, execution_id="input.execution_id" if inst.child else "execution.id",
                     fallback=fallback if self.js_fallback else None)

    def js_param(self, inst: Inst, value: str, reason: str) -> str:
        """Evaluate parameter `value` with JavaScript (n8n's own language) in the node's `<id>__js`
        code.javascript node, once per input item; returns JSONata reading the result for item `$i`."""
        code = value[1:]
        for pattern, what in _CODE_UNSUPPORTED:
            if pattern.search(code):
                raise Untranslatable(f"{reason}; and it uses {what}, which the JavaScript evaluation lacks")
        for m in _NODE_REF_IN_CODE.finditer(code):
            name = m.group(2) or m.group(4)
            other = inst.scope.get(name)
            if other is None:
                raise Untranslatable(f"refers to node '{name}', which does not run before this node on this path")
            inst.js_refs[name] = "{{ " + other.items_ref + " }}"
        if not inst.js_id:
            inst.js_id = self.new_id(f"{inst.id}__js")
        key = f"p{len(inst.js_params)}"
        inst.js_params.append((key, value))
        self.warn(inst.name, inst.type, f"{value[:80]!r} is evaluated with JavaScript (code.javascript): {reason}")
        if inst.child:
            return f"$lookup(input.js, {jstr(key)})"
        return f"$lookup({_nodes_ref(inst.js_id)}[$i], {jstr(key)})"

    def add_js_node(self, inst: Inst) -> None:
        """The `<id>__js` node computing the JavaScript-evaluated parameters, placed before the node."""
        parts = []
        for key, value in inst.js_params:
            parts.append(f"    {json.dumps(key)}: {_js_value(value)},")
        body = _CODE_WRAPPER + (_JS_PARAMS % "\n".join(parts))
        params: dict[str, Any] = {"items": "{{ " + self.input_items(inst) + " }}"}
        if inst.js_refs:
            params["refs"] = dict(inst.js_refs)
            params["aligned"] = sorted(n for n in inst.js_refs if n in inst.aligned)
        self.out.append({"id": inst.js_id, "type": "code.javascript", "name": f"{inst.name} (n8n expressions)",
                         "config": {"code": body, "params": params}, "retry": {"max_attempts": 1},
                         "position": self._pos(inst.raw, -60, -40), "_owner": inst.id})
        self.iedge(inst, inst.js_id, inst.entry)
        inst.entry = inst.js_id

    def input_items(self, inst: Inst, idx: int = 0) -> str:
        srcs = inst.inputs.get(idx) or []
        if not srcs:
            return "[]"
        if len(srcs) > 1:
            raise Untranslatable(f"input {idx} is fed by several nodes")
        src, k = srcs[0]
        ex = src.exits.get(k)
        if src.failed:
            return "[]"  # never runs: the node is dropped as unreachable
        if ex is None:
            raise Untranslatable(f"its input comes from output {k} of '{src.name}', which that node does not have")
        return ex.items

    def translate(self, inst: Inst) -> None:
        # alignment (paired items by index) inherited from the single input
        srcs = [s for lst in inst.inputs.values() for s in lst]
        if len(srcs) == 1:
            src = srcs[0][0]
            inst.aligned = ({src.name} | (src.aligned if src.type in PRESERVES_PAIRING or src.raw.get("disabled")
                                          or self._code_each(src) else set()))
        raw = inst.raw
        input_single = len(srcs) == 1 and srcs[0][0].single
        inst.child = inst.type in PER_ITEM_ACTIVITIES and not input_single and not raw.get("disabled")
        inst.first_item_only = inst.type == "n8n-nodes-base.respondToWebhook"
        try:
            if raw.get("disabled"):
                self.passthrough(inst, "disabled in n8n: passes its items through")
            else:
                handler = HANDLERS.get(inst.type)
                if handler is None:
                    raise Untranslatable(f"node type '{inst.type}' is not translated")
                handler(self, inst)
            self.apply_common(inst)
            if inst.js_params:
                if inst.type == "n8n-nodes-base.merge" or inst.entries:
                    raise Untranslatable("JavaScript-evaluated parameters on this node type are not supported")
                self.add_js_node(inst)
            inst.single = _emits_single(inst, input_single)
        except (Untranslatable, AttributeError, TypeError, ValueError, KeyError, IndexError) as exc:
            err = exc if isinstance(exc, Untranslatable) else Untranslatable(
                f"its parameters do not have the shape this node type has in n8n ({type(exc).__name__}: {exc})")
            self.fail(inst, err.reason)
            self.out = [n for n in self.out if not n.get("_owner") == inst.id]
            self.edges = [e for e in self.edges if e.get("_owner") != inst.id]
            inst.failed = err.reason
            inst.js_params, inst.js_refs = [], {}
            tid = inst.id
            self.add({"id": tid, "type": "terminate", "name": inst.name, "position": self._pos(raw),
                      "config": {"message": f"n8n node '{inst.name}' ({inst.type}) was not imported: {err.reason}"}})
            inst.entry = tid
            inst.entries = {}
            inst.exits = {}
            inst.items_ref = "[]"
        for n in self.out:
            n.pop("_owner", None)
        for e in self.edges:
            e.pop("_owner", None)

    @staticmethod
    def _code_each(inst: Inst) -> bool:
        return inst.type == "n8n-nodes-base.code" and inst.params.get("mode") == "runOnceForEachItem"

    def node(self, inst: Inst, suffix: str, type_: str, config: dict[str, Any], *, main: bool = False,
             dx: float = 0, dy: float = 0, **extra: Any) -> str:
        nid = inst.id if main else self.new_id(f"{inst.id}__{suffix}")
        n: dict[str, Any] = {"id": nid, "type": type_, "config": config, "_owner": inst.id,
                             "position": self._pos(inst.raw, dx, dy)}
        if main:
            n["name"] = inst.name
            notes = inst.raw.get("notes")
            if isinstance(notes, str) and notes:
                n["description"] = notes
        n.update(extra)
        self.out.append(n)
        return nid

    def iedge(self, inst: Inst, source: str, target: str, port: str = "out") -> None:
        self.edge(source, target, port)
        self.edges[-1]["_owner"] = inst.id

    def router(self, inst: Inst, k: int, node: str, port: str, items: str) -> Exit:
        """Exit k of `inst` that lets the token through only when the items list is not empty."""
        if inst.raw.get("alwaysOutputData"):
            return Exit(node, port, f"($x := {items}; $count($x) > 0 ? $x : [{{}}])")
        rid = self.node(inst, f"has{k}", "decision", {"condition": f"$count({items}) > 0"}, dy=40 + 30 * k)
        self.iedge(inst, node, rid, port)
        return Exit(rid, "true", items)

    def pure(self, inst: Inst, expression: str, used: set[str], *, may_be_empty: bool = False) -> None:
        """A node computed by one transform (its output: the item list)."""
        nid = self.node(inst, "", "transform", {"expression": with_helpers(expression, used)}, main=True)
        inst.entry = nid
        inst.items_ref = _items_of(nid)
        inst.exits[0] = self.router(inst, 0, nid, "out", inst.items_ref) if may_be_empty else \
            Exit(nid, "out", inst.items_ref)

    def passthrough(self, inst: Inst, why: str | None = None) -> None:
        self.pure(inst, self.input_items(inst), set())

    def per_item(self, inst: Inst, body: str) -> str:
        return f"($in := {self.input_items(inst)}; $append([], $map($in, function($json, $i){{ {body} }})))"

    def apply_common(self, inst: Inst) -> None:
        on_error = inst.raw.get("onError")
        if on_error in ("continueErrorOutput", "continueRegularOutput") and not getattr(inst, "_error_done", False):
            main = next((n for n in self.out if n["id"] == inst.id), None)
            if main is None or main["type"] not in ("transform",):
                raise Untranslatable(f"onError '{on_error}' on this node type is not translated")
            # a pure node: its expression failing goes to our error port
            if on_error == "continueErrorOutput":
                k = max(inst.exits) + 1 if inst.exits else 1
                inst.exits[k] = Exit(inst.id, "error", f"[{{'error': {_nodes_ref(inst.id)}.error.message}}]")
            else:
                raise Untranslatable("onError 'continueRegularOutput' on a data node is not translated")
        if inst.raw.get("executeOnce"):
            raise Untranslatable("'Execute Once' is not translated")

    # ------------------------------------------------------------ wiring
    def wire(self, insts: list[Inst]) -> None:
        for inst in insts:
            for idx, srcs in inst.inputs.items():
                for src, k in srcs:
                    ex = src.exits.get(k)
                    if ex is None:
                        continue
                    target = inst.entries.get(idx, inst.entry)
                    self.edge(ex.node, target, ex.port)
            for src, k in inst.back_sources:
                ex = src.exits.get(k)
                if ex is None or inst.failed:
                    if inst.failed and ex is not None:
                        self.edge(ex.node, inst.entry, ex.port)
                    continue
                b = inst.params.get("batchSize", 1)
                v = _loop_vars(inst.id)
                cid = self.new_id(f"{inst.id}__collect")
                self.add({"id": cid, "type": "set", "position": self._pos(src.raw, 0, 60), "config": {"values": {
                    v["acc"]: "{{ $append(vars." + field_name(v["acc"]) + ", " + ex.items + ") }}",
                    v["pos"]: "{{ vars." + field_name(v["pos"]) + f" + {int(b)}" + " }}"}}})
                self.edge(ex.node, cid, ex.port)
                self.edge(cid, inst.id)

    def merges(self, insts: list[Inst]) -> None:
        """Put a `parallel` at the fork point of each Merge's inputs; the Merge's join pairs with it."""
        for inst in insts:
            if inst.type != "n8n-nodes-base.merge" or inst.failed:
                continue
            join = inst.entry
            preds = [e["source"] for e in self.edges if e["target"] == join]
            if len(preds) < 2:
                # only one input connected: no waiting needed; the join still needs a parallel
                self._insert_parallel(inst, join, preds[0] if preds else None, single=True)
                continue
            anc = [self._ancestors(p) for p in preds]
            common = set.intersection(*anc)
            common.discard(START_ID)
            common.discard(FORK_ID)
            if not common:
                self.fail(inst, "its inputs do not come from one common upstream node (a fork)")
                continue
            depth = self._depths()
            fork = max(common, key=lambda n: (depth.get(n, 0), n))
            ports = {e.get("source_port", "out") for e in self.edges if e["source"] == fork}
            if len(ports) != 1:
                self.fail(inst, f"its inputs fork at '{fork}' on different ports (e.g. success and error): a "
                                "Merge cannot wait for both")
                continue
            self._insert_parallel(inst, join, fork)

    def _insert_parallel(self, inst: Inst, join: str, fork: str | None, single: bool = False) -> None:
        if fork is None:
            return
        pid = self.new_id(f"{inst.id}__fork")
        if single:
            # wrap the one incoming edge: pred -> parallel -> join
            for e in self.edges:
                if e["source"] == fork and e["target"] == join:
                    port = e.pop("source_port", "out")
                    e["source"] = pid
                    self.edge(fork, pid, port)
                    break
        else:
            port = next(e.get("source_port", "out") for e in self.edges if e["source"] == fork)
            for e in self.edges:
                if e["source"] == fork:
                    e["source"] = pid
                    e.pop("source_port", None)
            self.edge(fork, pid, port)
        self.add({"id": pid, "type": "parallel", "name": f"{inst.name} (fork)", "position": self._pos(inst.raw, -60, 80)})
        for n in self.out:
            if n["id"] == join:
                n["config"]["parallel"] = pid

    def _ancestors(self, node: str) -> set[str]:
        preds: dict[str, list[str]] = defaultdict(list)
        for e in self.edges:
            preds[e["target"]].append(e["source"])
        seen: set[str] = set()
        stack = [node]
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            stack.extend(preds.get(n, ()))
        return seen

    def _depths(self) -> dict[str, int]:
        succ: dict[str, list[str]] = defaultdict(list)
        for e in self.edges:
            succ[e["source"]].append(e["target"])
        depth = {START_ID: 0}
        q = deque([START_ID])
        while q:
            n = q.popleft()
            for t in succ.get(n, ()):
                if t not in depth:
                    depth[t] = depth[n] + 1
                    q.append(t)
        return depth


PER_ITEM_ACTIVITIES = {
    "n8n-nodes-base.httpRequest", "n8n-nodes-base.postgres", "n8n-nodes-base.mySql", "n8n-nodes-base.redis",
    "n8n-nodes-base.emailSend",
}
SINGLE_PRESERVING = {
    "n8n-nodes-base.set", "n8n-nodes-base.noOp", "n8n-nodes-base.dateTime", "n8n-nodes-base.wait",
    "n8n-nodes-base.if", "n8n-nodes-base.filter", "n8n-nodes-base.switch", "n8n-nodes-base.sort",
    "n8n-nodes-base.removeDuplicates", "n8n-nodes-base.emailSend", "n8n-nodes-base.redis",
    "n8n-nodes-base.respondToWebhook",
}


def _emits_single(inst: Inst, input_single: bool) -> bool:
    """Whether the node's output is statically one item (side effects then run without a child workflow)."""
    t = inst.type
    if t in ("n8n-nodes-base.webhook", "n8n-nodes-base.scheduleTrigger", "n8n-nodes-base.aggregate"):
        return True
    if t == "n8n-nodes-base.limit" and inst.params.get("maxItems", 1) == 1:
        return True
    if inst.raw.get("disabled") or t in SINGLE_PRESERVING or _Importer._code_each(inst):
        return input_single
    return False


def _loop_vars(inst_id: str) -> dict[str, str]:
    return {k: f"n8n_{inst_id}_{k}" for k in ("items", "pos", "acc")}


# ================================================================ node handlers

def _h_trigger(imp: _Importer, inst: Inst) -> None:
    imp.pure(inst, imp.trigger_items(inst.raw), set())


def _assign_value(imp: _Importer, inst: Inst, scope: Scope, a: dict[str, Any], where: str) -> str:
    value = a.get("value")
    type_ = a.get("type", "string")
    try:
        expr = translate_value(value, scope)
    except Untranslatable as err:
        raise Untranslatable(f"{where}: {err.reason}") from None
    if is_expression(value):
        # n8n converts an expression's value to the assignment's type, or fails the node
        bad = jstr(f"n8n Set: {where}: the value cannot be converted to {type_}") + " & ': ' & $type($v)"
        # (n8n's Set: null/undefined -> null; string: objects JSON-encoded, the rest String(v);
        # number/boolean: parsed from strings; array/object: must already be one)
        conv = {
            "string": "$type($v) = 'string' ? $v : $type($v) = 'number' ? $string($v) : $type($v) = 'boolean' ? "
                      "($v ? 'true' : 'false') : $string($v)",
            "number": f"$type($v) = 'number' ? $v : ($type($v) = 'string' and $contains($v, "
                      f"/^\\s*-?(\\d+\\.?\\d*|\\.\\d+)([eE][-+]?\\d+)?\\s*$/)) ? $number($trim($v)) : "
                      f"($type($v) = 'string' and $trim($v) = '') ? 0 : $error({bad})",
            "boolean": f"$type($v) = 'boolean' ? $v : ($v = 1 or $lowercase($string($v)) in ['true', '1']) ? true : "
                       f"($v = 0 or $lowercase($string($v)) in ['false', '0']) ? false : $error({bad})",
            "array": f"$type($v) = 'array' ? $v : $error({bad})",
            "object": f"$type($v) = 'object' ? $v : $error({bad})",
        }.get(type_)
        if conv is None:
            return expr
        return f"($v := {expr}; ($not($exists($v)) or $type($v) = 'null') ? null : ({conv}))"
    # literal values: n8n converts them to the assignment's type
    if type_ == "number":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return json.dumps(value)
        text = str(value)
        try:
            return json.dumps(float(text) if "." in text or "e" in text.lower() else int(text))
        except (TypeError, ValueError):
            raise Untranslatable(f"{where}: {value!r} is not a number") from None
    if type_ == "boolean":
        if isinstance(value, bool):
            return json.dumps(value)
        if str(value).lower() in ("true", "false"):
            return str(value).lower()
        raise Untranslatable(f"{where}: {value!r} is not a boolean")
    if type_ in ("array", "object"):
        if isinstance(value, (list, dict)):
            return json.dumps(value)
        try:
            parsed = json.loads(str(value))
        except ValueError:
            raise Untranslatable(f"{where}: {value!r} is not JSON") from None
        return json.dumps(parsed)
    return json.dumps(value if isinstance(value, str) else ("" if value is None else str(value)))


def _set_path(name: str, dot: bool) -> list[str]:
    return name.split(".") if dot and "." in name else [name]


def _h_set(imp: _Importer, inst: Inst) -> None:
    p = inst.params
    scope = imp.scope_for(inst)
    tv = inst.raw.get("typeVersion", 3.4)
    pairs: list[tuple[list[str], str]] = []
    opts = p.get("options") or {}
    dot = opts.get("dotNotation", True)
    if tv >= 3:
        if p.get("mode", "manual") != "manual":
            raise Untranslatable("Set in JSON mode is not translated")
        if "assignments" in p:
            for j, a in enumerate((p.get("assignments") or {}).get("assignments") or []):
                name = str(a.get("name", ""))
                pairs.append((_set_path(name, dot), _assign_value(imp, inst, scope, a, f"assignment '{name}'")))
        else:  # v3.0-3.2 fields.values
            for a in (p.get("fields") or {}).get("values") or []:
                name = str(a.get("name", ""))
                t = str(a.get("type", "stringValue")).replace("Value", "")
                val = a.get(f"{t}Value", a.get("stringValue"))
                pairs.append((_set_path(name, dot), _assign_value(imp, inst, scope, {"value": val, "type": t},
                                                                  f"field '{name}'")))
        if "includeOtherFields" in p or tv >= 3.3:
            include = "all" if p.get("includeOtherFields") else "none"
            if p.get("includeOtherFields") and p.get("include", "all") != "all":
                raise Untranslatable(f"include '{p.get('include')}' (selected/except fields) is not translated")
        else:
            include = p.get("include", "all")
            if include not in ("all", "none"):
                raise Untranslatable(f"include '{include}' is not translated")
    else:
        include = "none" if p.get("keepOnlySet") else "all"
        dot = opts.get("dotNotation", True)
        for t, lst in (p.get("values") or {}).items():
            for a in lst or []:
                name = str(a.get("name", ""))
                pairs.append((_set_path(name, dot), _assign_value(imp, inst, scope, {"value": a.get("value"),
                                                                                     "type": t}, f"value '{name}'")))
    if any(len(path) > 1 for path, _ in pairs):
        # nested assignment: build nested objects (merged into an included item only one level deep is exact
        # when the parent is absent or an object)
        for path, _ in pairs:
            if len(path) > 2:
                raise Untranslatable(f"assignment '{'.'.join(path)}' nests more than two levels")
    flat = [(path[0], expr) for path, expr in pairs if len(path) == 1]
    nested: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for path, expr in pairs:
        if len(path) == 2:
            nested[path[0]].append((path[1], expr))
    parts = [f"{{{jstr(k)}: {e}}}" for k, e in flat]
    for parent, kids in nested.items():
        inner = ", ".join(f"{jstr(k)}: {e}" for k, e in kids)
        base = f"$lookup($json, {jstr(parent)})" if include == "all" else "{}"
        parts.append(f"{{{jstr(parent)}: ($b := {base}; $merge([$type($b) = 'object' ? $b : {{}}, {{{inner}}}]))}}")
    base_obj = "$json" if include == "all" else "{}"
    body = f"$merge([{', '.join([base_obj] + parts)}])"
    imp.pure(inst, imp.per_item(inst, body), scope.used)


# ---------------------------------------------------------------- conditions (IF v2, Filter v2, Switch v3)

def _condition(imp: _Importer, inst: Inst, scope: Scope, conds: dict[str, Any], where: str) -> str:
    if not isinstance(conds, dict):
        raise Untranslatable(f"{where}: conditions must be an object (IF/Filter v2 format)")
    opts = conds.get("options") or {}
    case_sensitive = opts.get("caseSensitive", True)
    loose = opts.get("typeValidation", "strict") == "loose"
    if loose:
        raise Untranslatable(f"{where}: loose type validation (type conversion) is not translated")
    comb = conds.get("combinator", "and")
    if comb not in ("and", "or"):
        raise Untranslatable(f"{where}: combinator {comb!r}")
    parts = []
    for j, c in enumerate(conds.get("conditions") or []):
        op = c.get("operator") or {}
        try:
            left = translate_value(c.get("leftValue", ""), scope)
            right = translate_value(c.get("rightValue", ""), scope) if not op.get("singleValue") else "null"
        except Untranslatable as err:
            raise Untranslatable(f"{where}, condition {j + 1}: {err.reason}") from None
        parts.append(_operator(op, left, right, case_sensitive, f"{where}, condition {j + 1}"))
    if not parts:
        return "true"
    return "(" + f" {comb} ".join(f"({x})" for x in parts) + ")"


def _operator(op: dict[str, Any], left: str, right: str, cs: bool, where: str) -> str:
    t, o = op.get("type", "string"), op.get("operation", "equals")
    L, R = "$l", "$r"
    pre = f"$l := {left}; $r := {right}; "
    exists = "($exists($l) and $type($l) != 'null')"
    if o == "exists":
        return f"({pre}{exists})"
    if o == "notExists":
        return f"({pre}$not({exists}))"
    if o in ("empty", "notEmpty"):
        e = ("($not($exists($l)) or $type($l) = 'null' or ($type($l) = 'string' and $l = '') or "
             "($type($l) = 'array' and $count($l) = 0) or ($type($l) = 'object' and $count($keys($l)) = 0))")
        return f"({pre}{e if o == 'empty' else '$not(' + e + ')'})"
    jtype = {"string": "string", "number": "number", "boolean": "boolean", "array": "array", "object": "object",
             "dateTime": "string"}.get(t)
    if jtype is None:
        raise Untranslatable(f"{where}: operator type {t!r} is not translated")
    guard = (f"($type($l) = '{jtype}' or $not({exists}) ? ({{EXPR}}) : $error({jstr(where + ': wrong type: expected ' + t)} "
             f"& ', got ' & $type($l)))")
    if t == "string":
        if not cs:
            L, R = "$lowercase($l)", "$lowercase($r)"
        m = {
            "equals": f"{L} = {R}", "notEquals": f"{L} != {R}",
            "contains": f"$contains({L}, {R})", "notContains": f"$not($contains({L}, {R}))",
            "startsWith": f"$substring({L}, 0, $length({R})) = {R}",
            "notStartsWith": f"$substring({L}, 0, $length({R})) != {R}",
            "endsWith": f"$length({R}) <= $length({L}) and $substring({L}, $length({L}) - $length({R})) = {R}",
            "notEndsWith": f"$not($length({R}) <= $length({L}) and $substring({L}, $length({L}) - $length({R})) = {R})",
        }
        if o not in m:
            raise Untranslatable(f"{where}: string operation {o!r} is not translated")
        # n8n compares a missing value as an empty string
        return f"({pre}$l := $exists($l) and $type($l) != 'null' ? $l : ''; " + guard.replace("{EXPR}", m[o]) + ")"
    if t == "number":
        m = {"equals": "=", "notEquals": "!=", "gt": ">", "lt": "<", "gte": ">=", "lte": "<="}
        if o not in m:
            raise Untranslatable(f"{where}: number operation {o!r} is not translated")
        return f"({pre}" + guard.replace("{EXPR}", f"{exists} and $l {m[o]} $r") + ")"
    if t == "boolean":
        m = {"true": "$l = true", "false": "$l = false", "equals": "$l = $r", "notEquals": "$l != $r"}
        if o not in m:
            raise Untranslatable(f"{where}: boolean operation {o!r} is not translated")
        return f"({pre}" + guard.replace("{EXPR}", f"{exists} and {m[o]}") + ")"
    if t == "dateTime":
        m = {"after": ">", "before": "<", "afterOrEquals": ">=", "beforeOrEquals": "<=", "equals": "="}
        if o not in m:
            raise Untranslatable(f"{where}: date operation {o!r} is not translated")
        return (f"({pre}" + guard.replace("{EXPR}", f"{exists} and $toMillis($l) {m[o]} $toMillis($r)") + ")")
    if t == "array":
        m = {"contains": "$r in $l", "notContains": "$not($r in $l)", "lengthEquals": "$count($l) = $r",
             "lengthNotEquals": "$count($l) != $r", "lengthGt": "$count($l) > $r", "lengthLt": "$count($l) < $r",
             "lengthGte": "$count($l) >= $r", "lengthLte": "$count($l) <= $r"}
        if o not in m:
            raise Untranslatable(f"{where}: array operation {o!r} is not translated")
        return f"({pre}" + guard.replace("{EXPR}", f"{exists} and {m[o]}") + ")"
    raise Untranslatable(f"{where}: {t} operation {o!r} is not translated")


def _partition(imp: _Importer, inst: Inst, conds: list[str], used: set[str], fallback: bool, all_matching: bool,
               n_out: int) -> None:
    """Items to outputs: output j gets the items whose condition j holds (the first such, unless all_matching);
    with `fallback`, output n_out-1 gets the items matching none."""
    IN = imp.input_items(inst)
    lam = ", ".join(f"function($json, $i){{ {c} }}" for c in conds)
    n = len(conds)
    if all_matching:
        pick = "$pick := function($j){ $append([], $filter($in, function($v, $i){ $cs[$j]($v, $i) })) }; "
    else:
        pick = ("$firstm := function($v, $i){ ($m := $filter([0..%d], function($j){ $cs[$j]($v, $i) }); "
                "$exists($m) ? $m[0] : -1) }; "
                "$pick := function($j){ $append([], $filter($in, function($v, $i){ $firstm($v, $i) = $j })) }; "
                % (n - 1))
    none = "$none := $append([], $filter($in, function($v, $i){ $count($filter([0..%d], function($j){ " \
           "$cs[$j]($v, $i) })) = 0 })); " % (n - 1)
    body = (f"($in := {IN}; $cs := [{lam}]; " + pick + none +
            "{" + ", ".join([f"'o{j}': $pick({j})" for j in range(n)] +
                            ([f"'o{n_out - 1}': $none"] if fallback else [])) + "})")
    nid = imp.node(inst, "", "transform", {"expression": with_helpers(body, used)}, main=True)
    inst.entry = nid
    inst.items_ref = f"$append([], {_nodes_ref(nid)}.o0)"
    for j in range(n_out):
        if j < len(conds) or (fallback and j == n_out - 1):
            inst.exits[j] = imp.router(inst, j, nid, "out", f"$append([], {_nodes_ref(nid)}.o{j})")


def _h_if(imp: _Importer, inst: Inst) -> None:
    p = inst.params
    if inst.raw.get("typeVersion", 2) < 2:
        raise Untranslatable("IF v1 (conditions by type lists) is not translated; re-save it in a recent n8n")
    scope = imp.scope_for(inst)
    cond = _condition(imp, inst, scope, p.get("conditions") or {}, "conditions")
    _partition(imp, inst, [cond], scope.used | {"jt"}, fallback=True, all_matching=False, n_out=2)


def _h_filter(imp: _Importer, inst: Inst) -> None:
    p = inst.params
    if inst.raw.get("typeVersion", 2) < 2:
        raise Untranslatable("Filter v1 is not translated; re-save it in a recent n8n")
    scope = imp.scope_for(inst)
    cond = _condition(imp, inst, scope, p.get("conditions") or {}, "conditions")
    IN = imp.input_items(inst)
    body = f"($in := {IN}; $append([], $filter($in, function($json, $i){{ {cond} }})))"
    imp.pure(inst, body, scope.used, may_be_empty=True)


def _h_switch(imp: _Importer, inst: Inst) -> None:
    p = inst.params
    if inst.raw.get("typeVersion", 3) < 3:
        raise Untranslatable("Switch v1/v2 is not translated; re-save it in a recent n8n")
    scope = imp.scope_for(inst)
    opts = p.get("options") or {}
    if p.get("mode", "rules") == "expression":
        n = int(p.get("numberOutputs", 4))
        e = translate_value(p.get("output", ""), scope)
        conds = [f"({e}) = {j}" for j in range(n)]
        _partition(imp, inst, conds, scope.used, fallback=False, all_matching=False, n_out=n)
        return
    rules = (p.get("rules") or {}).get("values") or []
    conds = [_condition(imp, inst, scope, r.get("conditions") or {}, f"rule {j + 1}") for j, r in enumerate(rules)]
    fb = opts.get("fallbackOutput", "none")
    if fb == "extra":
        n_out, fallback = len(conds) + 1, True
    elif fb == "none" or fb is None:
        n_out, fallback = len(conds), False
    elif isinstance(fb, int) and 0 <= fb < len(conds):
        # unmatched items go to an existing rule's output
        conds = [c if j != fb else f"({c}) or true" for j, c in enumerate(conds)]
        # "or true" would catch items of later rules first: only exact when fb is the last rule
        if fb != len(conds) - 1:
            raise Untranslatable("fallback to an output other than the last rule's is not translated")
        n_out, fallback = len(conds), False
    else:
        raise Untranslatable(f"fallbackOutput {fb!r} is not translated")
    if opts.get("renameFallbackOutput"):
        imp.warn(inst.name, inst.type, "the renamed fallback output keeps its index")
    _partition(imp, inst, conds, scope.used | {"jt"}, fallback=fallback,
               all_matching=bool(opts.get("allMatchingOutputs")), n_out=n_out)


# ---------------------------------------------------------------- data nodes

def _h_noop(imp: _Importer, inst: Inst) -> None:
    imp.passthrough(inst)


def _field_get(var: str, name: str) -> str:
    path = name.split(".")
    e = var
    for part in path:
        e = f"$lookup({e}, {jstr(part)})"
    return e


def _h_limit(imp: _Importer, inst: Inst) -> None:
    p = inst.params
    n = p.get("maxItems", 1)
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise Untranslatable("maxItems must be a literal integer")
    IN = imp.input_items(inst)
    if p.get("keep", "firstItems") == "lastItems":
        body = f"($in := {IN}; $append([], $filter($in, function($v, $i){{ $i >= $count($in) - {n} }})))"
    else:
        body = f"($in := {IN}; $append([], $filter($in, function($v, $i){{ $i < {n} }})))"
    imp.pure(inst, body, set(), may_be_empty=(n == 0))


def _h_sort(imp: _Importer, inst: Inst) -> None:
    p = inst.params
    if p.get("type", "simple") != "simple":
        raise Untranslatable(f"sort type {p.get('type')!r} (random/code) is not translated")
    fields = (p.get("sortFieldsUi") or {}).get("sortField") or []
    if not fields:
        imp.passthrough(inst)
        return
    # $sort's comparator answers "does $l come after $r"; stable like n8n's sort
    expr = "false"
    for f in reversed(fields):
        name = str(f.get("fieldName", ""))
        if is_expression(name):
            raise Untranslatable("sort field names given by expressions are not translated")
        a, b = _field_get("$l", name), _field_get("$r", name)
        desc = f.get("order", "ascending") == "descending"
        gt, lt = (f"{a} < {b}", f"{a} > {b}") if desc else (f"{a} > {b}", f"{a} < {b}")
        expr = f"({gt} ? true : {lt} ? false : {expr})"
    IN = imp.input_items(inst)
    imp.pure(inst, f"$append([], $sort({IN}, function($l, $r){{ {expr} }}))", set())
    imp.warn(inst.name, inst.type, "values of different types (e.g. numbers and strings) in a sort field "
                                   "fail the node instead of being coerced")


def _h_dedupe(imp: _Importer, inst: Inst) -> None:
    p = inst.params
    op = p.get("operation", "removeDuplicateInputItems")
    if op != "removeDuplicateInputItems":
        raise Untranslatable(f"operation {op!r} (deduplication across executions) is not translated")
    compare = p.get("compare", "allFields")
    IN = imp.input_items(inst)
    if compare == "allFields":
        key = "$v"
    elif compare in ("selectedFields", "allFieldsExcept"):
        names = [x.strip() for x in str(p.get("fieldsToCompare", "")).split(",") if x.strip()]
        if not names:
            raise Untranslatable("no fields to compare")
        if compare == "selectedFields":
            key = "{" + ", ".join(f"{jstr(n)}: {_field_get('$v', n)}" for n in names) + "}"
        else:
            if any("." in n for n in names):
                raise Untranslatable("excluded field paths with dots are not translated")
            key = (f"$merge($map($keys($v)[$not($ in {json.dumps(names)})], function($k){{ {{$k: $lookup($v, $k)}} }}))")
    else:
        raise Untranslatable(f"compare {compare!r} is not translated")
    body = (f"$reduce({IN}, function($acc, $v){{ ($key := {key}; $key in $acc.keys ? $acc : "
            f"{{'keys': $append($acc.keys, [$key]), 'items': $append($acc.items, [$v])}}) }}, "
            f"{{'keys': [], 'items': []}}).items")
    imp.pure(inst, f"$append([], {body})", set())


def _h_split_out(imp: _Importer, inst: Inst) -> None:
    p = inst.params
    fields = [x.strip() for x in str(p.get("fieldToSplitOut", "")).split(",") if x.strip()]
    if len(fields) != 1:
        raise Untranslatable("splitting out several fields at once is not translated")
    if is_expression(p.get("fieldToSplitOut")):
        raise Untranslatable("the field to split out is given by an expression")
    f = fields[0]
    include = p.get("include", "noOtherFields")
    dest = (p.get("options") or {}).get("destinationFieldName") or f
    if "." in dest:
        raise Untranslatable("a destination field name with dots is not translated")
    get = _field_get("$json", f)
    if include == "noOtherFields":
        one = f"$type($e) = 'object' ? $e : {{{jstr(dest)}: $e}}"
    elif include == "allOtherFields":
        if "." in f:
            raise Untranslatable("allOtherFields with a nested field path is not translated")
        one = (f"$merge([$merge($map($keys($json)[$ != {jstr(f)}], function($k){{ {{$k: $lookup($json, $k)}} }})), "
               f"$type($e) = 'object' ? $e : {{{jstr(dest)}: $e}}])")
    else:
        raise Untranslatable(f"include {include!r} is not translated")
    IN = imp.input_items(inst)
    body = (f"$reduce({IN}, function($acc, $json){{ ($list := {get}; $list := $type($list) = 'array' ? $list : "
            f"$exists($list) ? [$list] : []; $append($acc, $map($list, function($e){{ {one} }}))) }}, [])")
    imp.pure(inst, f"$append([], {body})", set(), may_be_empty=True)
    imp.warn(inst.name, inst.type, "elements that are arrays are flattened one level")


def _h_aggregate(imp: _Importer, inst: Inst) -> None:
    p = inst.params
    IN = imp.input_items(inst)
    if p.get("aggregate", "aggregateIndividualFields") == "aggregateAllItemData":
        if p.get("include", "allFields") != "allFields":
            raise Untranslatable("aggregating only some fields of all item data is not translated")
        dest = p.get("destinationFieldName") or "data"
        imp.pure(inst, f"[{{{jstr(dest)}: {IN}}}]", set())
        return
    opts = p.get("options") or {}
    keep_missing = bool(opts.get("keepMissing"))
    merge_lists = bool(opts.get("mergeLists"))
    pairs = []
    for f in (p.get("fieldsToAggregate") or {}).get("fieldToAggregate") or []:
        name = str(f.get("fieldToAggregate", ""))
        out = f.get("outputFieldName") if f.get("renameField") else name
        get = _field_get("$v", name)
        if keep_missing:
            collect = f"$map($in, function($v){{ ($x := {get}; $exists($x) ? $x : null) }})"
        else:
            collect = f"$map($in, function($v){{ {get} }})"
        if merge_lists:
            val = f"$reduce({collect}, function($a, $x){{ $append($a, $x) }}, [])"
        else:
            # arrays are kept as elements (no flattening): wrap each value before appending
            val = (f"$reduce($map($in, function($v){{ {{'x': {get}}} }})" + ("" if keep_missing else
                   "[$exists(x)]") + ", function($a, $w){ $append($a, [$exists($w.x) ? $w.x : null]) }, [])")
            if not keep_missing:
                val = (f"$reduce($filter($map($in, function($v){{ {{'x': {get}}} }}), function($w){{ $exists($w.x) }}), "
                       "function($a, $w){ $type($w.x) = 'array' ? $append($a, [[$w.x]]) : $append($a, [$w.x]) }, [])")
            else:
                val = (f"$reduce($map($in, function($v){{ {{'x': {get}}} }}), function($a, $w){{ $exists($w.x) ? "
                       "($type($w.x) = 'array' ? $append($a, [[$w.x]]) : $append($a, [$w.x])) : $append($a, [null]) }, [])")
        if "." in str(out):
            raise Untranslatable("an output field name with dots is not translated")
        pairs.append(f"{jstr(str(out))}: $append([], {val})")
    imp.pure(inst, f"($in := {IN}; [{{{', '.join(pairs)}}}])", set())


def _h_merge(imp: _Importer, inst: Inst) -> None:
    p = inst.params
    tv = inst.raw.get("typeVersion", 3)
    mode = p.get("mode", "append")
    n_inputs = int(p.get("numberInputs", 2)) if tv >= 3 else 2
    ins = [imp.input_items(inst, j) for j in range(n_inputs)]
    binds = "; ".join(f"$in{j} := {e}" for j, e in enumerate(ins)) + "; "
    if mode == "append":
        body = "[]"
        for j in range(n_inputs):
            body = f"$append({body}, $in{j})"
    elif n_inputs != 2:
        raise Untranslatable(f"mode {mode!r} with more than two inputs is not translated")
    elif mode in ("combine", "mergeByIndex", "combineByPosition") and (
            p.get("combineBy", p.get("combinationMode", "combineByPosition")) in ("combineByPosition", "mergeByIndex")
            or mode == "mergeByIndex"):
        if (p.get("options") or {}).get("includeUnpaired") or p.get("join", "inner") != "inner":
            raise Untranslatable("combine by position including unpaired items is not translated")
        body = ("($n := $min([$count($in0), $count($in1)]); $n = 0 ? [] : "
                "$append([], $map([0..$n - 1], function($k){ $mg($in0[$k], $in1[$k]) })))")
    elif mode == "combine" and p.get("combineBy", "combineByFields") == "combineByFields":
        join = p.get("joinMode", "keepMatches")
        f1 = f2 = None
        if p.get("fieldsToMatchString"):
            names = [x.strip() for x in str(p["fieldsToMatchString"]).split(",") if x.strip()]
            if len(names) != 1:
                raise Untranslatable("matching on several fields is not translated")
            f1 = f2 = names[0]
        else:
            vals = ((p.get("mergeByFields") or {}).get("values") or [])
            if len(vals) != 1:
                raise Untranslatable("matching on several fields is not translated")
            f1, f2 = vals[0].get("field1"), vals[0].get("field2")
        a, b = _field_get("$a", str(f1)), _field_get("$b", str(f2))
        matches = f"$filter($in1, function($b){{ ($x := {a}; $exists($x) and {b} = $x) }})"
        if join == "keepMatches":
            body = (f"$reduce($in0, function($acc, $a){{ $append($acc, $map($append([], {matches}), "
                    "function($b){ $mg($a, $b) })) }, [])")
        elif join == "enrichInput1":
            body = (f"$reduce($in0, function($acc, $a){{ ($m := $append([], {matches}); $append($acc, "
                    "$count($m) = 0 ? [$a] : $map($m, function($b){ $mg($a, $b) }))) }, [])")
        else:
            raise Untranslatable(f"join mode {join!r} is not translated")
    elif mode == "combine" and p.get("combineBy") == "combineAll":
        body = "$reduce($in0, function($acc, $a){ $append($acc, $map($in1, function($b){ $mg($a, $b) })) }, [])"
    elif mode == "chooseBranch":
        which = p.get("useDataOfInput", 1)
        if p.get("chooseBranchMode", "waitForAll") != "waitForAll" or p.get("output", "specifiedInput") != \
                "specifiedInput":
            raise Untranslatable("choose branch with an empty output is not translated")
        body = f"$in{int(which) - 1}"
    else:
        raise Untranslatable(f"merge mode {mode!r} is not translated")
    # n8n merges clashing fields deeply (input 2 preferred): exact here when the clashing values are not
    # both objects/arrays; otherwise the node fails rather than merge differently
    mg = ("$mg := function($a, $b){ ($clash := $filter($append([], $keys($b)), function($k){ "
          "$type($lookup($a, $k)) in ['object', 'array'] and $type($lookup($b, $k)) in ['object', 'array'] }); "
          "$count($clash) > 0 ? $error('n8n Merge: field ' & $clash[0] & ' is an object or array in both inputs "
          "(deep merge is not translated)') : $merge([$a, $b])) }; ")
    jid = imp.node(inst, "join", "join", {}, dx=-40)
    nid = imp.node(inst, "", "transform", {"expression": f"({binds}{mg if '$mg(' in body else ''}"
                                                         f"$append([], {body}))"}, main=True)
    imp.iedge(inst, jid, nid)
    inst.entry = jid
    inst.entries = {j: jid for j in range(n_inputs)}
    inst.items_ref = _items_of(nid)
    inst.exits[0] = imp.router(inst, 0, nid, "out", inst.items_ref)


def _h_loop(imp: _Importer, inst: Inst) -> None:
    p = inst.params
    if inst.raw.get("typeVersion", 3) < 3:
        raise Untranslatable("Split in Batches v1/v2 is not translated; use Loop Over Items (v3)")
    b = p.get("batchSize", 1)
    if not isinstance(b, int) or isinstance(b, bool) or b < 1:
        raise Untranslatable("batchSize must be a literal integer >= 1")
    if (p.get("options") or {}).get("reset"):
        raise Untranslatable("the 'reset' option is not translated")
    v = _loop_vars(inst.id)
    IN = imp.input_items(inst)
    iv, pv, av = (f"vars.{field_name(v[k])}" for k in ("items", "pos", "acc"))
    init = imp.node(inst, "init", "set", {"values": {v["items"]: "{{ " + IN + " }}", v["pos"]: 0,
                                                     v["acc"]: "{{ [] }}"}}, dx=-60)
    loop = imp.node(inst, "", "loop", {"condition": f"{pv} < $count({iv})", "max_iterations": 100000}, main=True)
    batch = imp.node(inst, "batch", "transform", {"expression": f"$append([], $filter({iv}, function($v, $k){{ "
                                                                 f"$k >= {pv} and $k < {pv} + {b} }}))"}, dy=60)
    done = imp.node(inst, "done", "transform", {"expression": f"$append([], {av})"}, dy=-60)
    imp.iedge(inst, init, loop)
    imp.iedge(inst, loop, batch, "body")
    imp.iedge(inst, loop, done, "done")
    inst.entry = init
    inst.items_ref = _items_of(batch)
    inst.exits[0] = Exit(done, "out", _items_of(done))
    inst.exits[1] = Exit(batch, "out", _items_of(batch))


def _h_wait(imp: _Importer, inst: Inst) -> None:
    p = inst.params
    resume = p.get("resume", "timeInterval")
    IN = imp.input_items(inst)
    if resume == "timeInterval":
        amount, unit = p.get("amount", 1), p.get("unit", "hours")
        if not isinstance(amount, (int, float)) or isinstance(amount, bool) or amount < 0:
            raise Untranslatable("a wait amount given by an expression is not translated")
        secs = amount * {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}.get(unit, -1)
        if secs < 0:
            raise Untranslatable(f"wait unit {unit!r} is not translated")
        cfg = {"duration": f"PT{secs:g}S"}
    elif resume == "specificTime":
        cfg = {"until": "{{ " + with_helpers(
            f"($in := {IN}; $json := $in[0]; $i := 0; {translate_value(p.get('dateTime', ''), (s := imp.scope_for(inst)))})",
            s.used) + " }}"}
    else:
        raise Untranslatable(f"resume {resume!r} (webhook/form) is not translated")
    wid = imp.node(inst, "", "wait", cfg, main=True)
    inst.entry = wid
    # the wait passes its input items through
    inst.items_ref = IN
    inst.exits[0] = Exit(wid, "out", IN)


def _h_stop(imp: _Importer, inst: Inst) -> None:
    p = inst.params
    scope = imp.scope_for(inst)
    if p.get("errorType", "errorMessage") == "errorObject":
        msg = translate_value(p.get("errorObject", ""), scope)
    else:
        msg = translate_value(p.get("errorMessage", ""), scope)
    IN = imp.input_items(inst)
    tid = imp.node(inst, "", "terminate", {"message": "{{ " + with_helpers(
        f"($in := {IN}; $json := $in[0]; $i := 0; {msg})", scope.used) + " }}"}, main=True)
    inst.entry = tid
    inst.items_ref = "[]"


def _h_datetime(imp: _Importer, inst: Inst) -> None:
    p = inst.params
    if inst.raw.get("typeVersion", 2) < 2:
        raise Untranslatable("Date & Time v1 is not translated")
    scope = imp.scope_for(inst)
    iso = iso_picture(imp.timezone)
    op = p.get("operation", "getCurrentDate")
    out = p.get("outputFieldName") or {"getCurrentDate": "currentDate", "addToDate": "newDate",
                                       "subtractFromDate": "newDate", "formatDate": "formattedDate"}.get(op, "data")
    units = {"milliseconds": 1, "seconds": 1000, "minutes": 60000, "hours": 3600000, "days": 86400000,
             "weeks": 604800000}
    if op == "getCurrentDate":
        if p.get("includeTime", True):
            value = f"$fromMillis($millis(), {jstr(iso)})"
        else:
            value = f"$fromMillis($millis() - $millis() % 86400000, {jstr(iso)})"
    elif op in ("addToDate", "subtractFromDate"):
        unit = p.get("timeUnit", "days")
        if unit not in units:
            raise Untranslatable(f"adding {unit} (calendar units) is not translated")
        mag = translate_value(p.get("magnitude", ""), scope)
        dur = translate_value(p.get("duration", 0), scope)
        sign = "+" if op == "addToDate" else "-"
        value = f"$fromMillis($toMillis({mag}) {sign} ({dur}) * {units[unit]}, {jstr(iso)})"
    elif op == "formatDate":
        fmt = p.get("format", "MM/dd/yyyy")
        if fmt == "custom":
            fmt = p.get("customFormat", "")
        if is_expression(fmt):
            raise Untranslatable("a date format given by an expression is not translated")
        date = translate_value(p.get("date", ""), scope)
        value = f"$fromMillis($toMillis({date}), {jstr(luxon_to_picture(str(fmt)))})"
    else:
        raise Untranslatable(f"Date & Time operation {op!r} is not translated")
    body = f"$merge([$json, {{{jstr(out)}: {value}}}])"
    imp.pure(inst, imp.per_item(inst, body), scope.used)


_CODE_UNSUPPORTED = [
    (re.compile(r"\bawait\b"), "'await' (code.javascript runs synchronously)"),
    (re.compile(r"\$now\b|\$today\b|\bDateTime\b|\bDuration\b|\bInterval\b"), "Luxon dates ($now, DateTime)"),
    (re.compile(r"\bthis\.helpers\b|\bfetch\s*\(|\brequire\s*\("), "HTTP helpers or modules"),
    (re.compile(r"\$getWorkflowStaticData\b|\$vars\b|\$env\b|\$secrets\b|\$workflow\b|\$prevNode\b|"
                r"\$runIndex\b|\$jmespath\b|\$evaluateExpression\b|\$binary\b|\.binary\b|"
                r"\$\(\s*[^'\"\s]"), "n8n bindings this import does not provide"),
]
_NODE_REF_IN_CODE = re.compile(r"\$\(\s*(['\"])((?:(?!\1).)+)\1\s*\)|\$node\[\s*(['\"])((?:(?!\3).)+)\3\s*\]")

_CODE_WRAPPER = """const __items = (params.items || []).map((j) => ({ json: j }));
const __refs = params.refs || {};
const __aligned = params.aligned || [];
const __wrap = (list) => (list || []).map((j) => ({ json: j }));
const __node = (name, index) => {
  if (!(name in __refs)) throw new Error(`Referenced node "${name}" is not available`);
  const list = __wrap(__refs[name]);
  const paired = () => {
    if (index === undefined) throw new Error(`Can't use .item of "${name}" when running once for all items`);
    if (__aligned.includes(name)) return list[index];
    if (list.length === 1) return list[0];
    throw new Error(`The item of "${name}" paired with item ${index} is ambiguous (${list.length} items)`);
  };
  return { all: () => list, first: () => list[0], last: () => list[list.length - 1], get item() { return paired(); },
           get json() { return paired().json; }, isExecuted: true };
};
const __normalize = (r) => (Array.isArray(r) ? r : r === undefined || r === null ? [] : [r]).map((x) =>
  x !== null && typeof x === "object" && !Array.isArray(x) && "json" in x ? x.json : x);
const $execution = { id: execution.id };
"""
_CODE_ALL = """const items = __items;
const $input = { all: () => __items, first: () => __items[0], last: () => __items[__items.length - 1],
                 get item() { return __items[0]; } };
const $ = (name) => __node(name);
const $node = new Proxy({}, { get: (_, name) => __node(String(name)) });
return __normalize((function () {
%s
})());"""
_CODE_EACH = """const __out = [];
for (let __i = 0; __i < __items.length; __i++) {
  const item = __items[__i];
  const $json = item.json;
  const $itemIndex = __i;
  const $input = { item, all: () => __items, first: () => __items[0], last: () => __items[__items.length - 1] };
  const $ = (name) => __node(name, __i);
  const $node = new Proxy({}, { get: (_, name) => __node(String(name), __i) });
  const __r = (function () {
%s
  })();
  if (__r === undefined || __r === null || typeof __r !== "object" || Array.isArray(__r))
    throw new Error(`Code doesn't return an object (item ${__i})`);
  __out.push(...__normalize(__r));
}
return __out;"""


_JS_PARAMS = """const __ts = (v) => {
  if (v === null || v === undefined) return "";
  if (typeof v === "object") throw new Error("n8n expression: an object or array inside a text template");
  return String(v);
};
return __items.map((item, __i) => {
  const $json = item.json;
  const $itemIndex = __i;
  const $input = { item, all: () => __items, first: () => __items[0], last: () => __items[__items.length - 1] };
  const $ = (name) => __node(name, __i);
  const $node = new Proxy({}, { get: (_, name) => __node(String(name), __i) });
  return {
%s
  };
});"""
_JS_BRACES = re.compile(r"\{\{(.*?)\}\}", re.S)


def _js_value(value: str) -> str:
    """An n8n `=`-expression parameter as a JavaScript expression with n8n's rendering."""
    text = value[1:]
    whole = re.fullmatch(r"\s*\{\{(.*?)\}\}\s*", text, re.S)
    if whole and "{{" not in whole.group(1):
        return f"(() => ({whole.group(1).strip()}))()"
    parts, pos = [], 0
    for m in _JS_BRACES.finditer(text):
        if m.start() > pos:
            parts.append(json.dumps(text[pos:m.start()]))
        parts.append(f"__ts((() => ({m.group(1).strip()}))())")
        pos = m.end()
    if pos < len(text):
        parts.append(json.dumps(text[pos:]))
    return "[" + ", ".join(parts) + "].join(\"\")" if parts else '""'


def _h_code(imp: _Importer, inst: Inst) -> None:
    p = inst.params
    if p.get("language", "javaScript") != "javaScript":
        raise Untranslatable("Python Code nodes are not translated (code.python has a different API)")
    mode = p.get("mode", "runOnceForAllItems")
    if mode not in ("runOnceForAllItems", "runOnceForEachItem"):
        raise Untranslatable(f"mode {mode!r} is not translated")
    code = str(p.get("jsCode", ""))
    for pattern, what in _CODE_UNSUPPORTED:
        if pattern.search(code):
            raise Untranslatable(f"the code uses {what}")
    refs: dict[str, str] = {}
    for m in _NODE_REF_IN_CODE.finditer(code):
        name = m.group(2) or m.group(4)
        other = inst.scope.get(name)
        if other is None:
            raise Untranslatable(f"the code refers to node '{name}', which does not run before it on this path"
                                 if name not in inst.scope else f"the code's $('{name}') is ambiguous here")
        refs[name] = "{{ " + other.items_ref + " }}"
    IN = imp.input_items(inst)
    body = _CODE_WRAPPER + ((_CODE_ALL if mode == "runOnceForAllItems" else _CODE_EACH) % code)
    params: dict[str, Any] = {"items": "{{ " + IN + " }}"}
    if refs:
        params["refs"] = refs
        params["aligned"] = sorted(n for n in refs if n in inst.aligned)
    cfg = {"code": body, "params": params}
    _activity(imp, inst, "code.javascript", cfg, out_items="$append([], {out})")


def _retry(raw: dict[str, Any]) -> dict[str, Any]:
    if raw.get("retryOnFail"):
        return {"max_attempts": int(raw.get("maxTries", 3)),
                "initial_interval": f"PT{int(raw.get('waitBetweenTries', 1000)) / 1000:g}S",
                "backoff_coefficient": 1.0}
    return {"max_attempts": 1}  # n8n does not retry unless asked to


def _activity(imp: _Importer, inst: Inst, type_: str, cfg: dict[str, Any], out_items: str,
              may_be_empty: bool = True) -> None:
    """The side effect of `inst` plus the transform `<id>` turning its output into items.

    `out_items` is JSONata with `{out}` standing for one call's output and `{item}` for the input item it
    was made for. When the input is statically one item the call is the activity node `<id>__call`;
    otherwise `<id>__call` is a `map` running one child workflow per item (concurrency 1, in item order,
    like n8n), each child `start -> <activity> -> end`, so the side effect happens once per item and a
    failing item goes to the error output on its own."""
    raw = inst.raw
    on_error = raw.get("onError")
    IN = imp.input_items(inst)
    if inst.child:
        child: dict[str, Any] = {"schema_version": 1, "nodes": [
            {"id": "start", "type": "start"},
            {"id": "call", "type": type_, "name": inst.name, "config": cfg, "retry": _retry(raw)},
            {"id": "ok", "type": "end", "config": {"output": "{{ {'ok': nodes.call} }}"}},
        ], "edges": [{"source": "start", "target": "call"}, {"source": "call", "target": "ok"}]}
        if on_error in ("continueErrorOutput", "continueRegularOutput"):
            child["nodes"].append({"id": "failed", "type": "end",
                                   "config": {"output": "{{ {'error': nodes.call.error.message} }}"}})
            child["edges"].append({"source": "call", "source_port": "error", "target": "failed"})
        refs = "{" + ", ".join(f"{jstr(k)}: {v}" for k, v in inst.child_refs.items()) + "}"
        every = "'items': $in, " if inst.child_all_items else ""
        if inst.js_id:
            every += f"'js': {_nodes_ref(inst.js_id)}[$k], "
        items = (f"($in := {IN}; $refs := {refs}; $map($in, function($v, $k){{ {{{every}'json': $v, 'i': $k, "
                 f"'refs': $refs, 'execution_id': execution.id}} }}))")
        call = imp.node(inst, "call", "map", {"items": items, "definition": child, "concurrency": 1}, dx=-30,
                        name=f"{inst.name} (per item)")
        ref = _nodes_ref(call)
        ok = out_items.replace("{out}", "$r.ok").replace("{item}", "$in[$k]")
        err = "$append($acc, [{'error': $r.error}])" if on_error == "continueRegularOutput" else "$acc"
        expr = (f"($res := $append([], {ref}); $in := {IN}; $reduce($append([], $map($res, function($r, $k){{ "
                f"{{'r': $r, 'k': $k}} }})), function($acc, $w){{ ($r := $w.r; $k := $w.k; $exists($r.ok) ? "
                f"$append($acc, {ok}) : {err}) }}, []))")
        nid = imp.node(inst, "", "transform", {"expression": f"$append([], {expr})"}, main=True)
        imp.iedge(inst, call, nid)
        inst.entry = call
        inst.items_ref = _items_of(nid)
        inst.exits[0] = imp.router(inst, 0, nid, "out", inst.items_ref) if may_be_empty or \
            on_error == "continueErrorOutput" else Exit(nid, "out", inst.items_ref)
        if on_error == "continueErrorOutput":
            errs = (f"$append([], $map($filter($append([], {ref}), function($r){{ $exists($r.error) }}), "
                    "function($r){ {'error': $r.error} }))")
            inst.exits[1] = imp.router(inst, 1, nid, "out", errs)
        inst._error_done = True  # type: ignore[attr-defined]
        return
    call = imp.node(inst, "call", type_, cfg, dx=-30, name=f"{inst.name} (call)", retry=_retry(raw))
    ref = _nodes_ref(call)
    items = out_items.replace("{out}", ref).replace("{item}", f"{IN}[0]")
    if on_error == "continueRegularOutput":
        items = (f"($e := {ref}.error; $type($e) = 'object' and $exists($e.message) and $count($keys({ref})) = 1 ? "
                 f"[{{'error': $e.message}}] : {items})")
    nid = imp.node(inst, "", "transform", {"expression": items}, main=True)
    imp.iedge(inst, call, nid)
    inst.entry = call
    inst.items_ref = _items_of(nid)
    inst.exits[0] = imp.router(inst, 0, nid, "out", inst.items_ref) if may_be_empty else \
        Exit(nid, "out", inst.items_ref)
    if on_error == "continueRegularOutput":
        imp.iedge(inst, call, nid, "error")
    elif on_error == "continueErrorOutput":
        inst.exits[1] = Exit(call, "error", f"[{{'error': {ref}.error.message}}]")
    inst._error_done = True  # type: ignore[attr-defined]


def _template(imp: _Importer, inst: Inst, scope: Scope, value: Any, where: str) -> Any:
    """A parameter for an activity config: literal as is, expressions as one `{{ }}` template evaluated on the
    single input item (a list of several items fails the node: per-item side effects are not translated)."""
    if not is_expression(value):
        return value
    try:
        expr = translate_value(value, scope)
    except Untranslatable as err:
        raise Untranslatable(f"{where}: {err.reason}") from None
    if inst.child:  # evaluated in the per-item child workflow
        if re.search(r"\$in\b", expr):  # $input.all()/first()/last(): the child needs every input item
            inst.child_all_items = True
            body = f"($in := input.items; $i := input.i; $json := $in[$i]; {expr})"
        else:
            body = f"($i := input.i; $json := input.json; {expr})"
    elif inst.first_item_only:
        body = f"($in := {imp.input_items(inst)}; $json := $in[0]; $i := 0; {expr})"
    else:  # statically one item: asserted
        guard = jstr(f"n8n node '{inst.name}' received ") + " & $count($in) & " + jstr(" items, expected one")
        body = f"($in := {imp.input_items(inst)}; $json := $in[0]; $i := 0; $count($in) = 1 ? ({expr}) : " \
               f"$error({guard}))"
    return "{{ " + with_helpers(body, set(scope.used)) + " }}"


def _kv(imp: _Importer, inst: Inst, scope: Scope, block: Any, where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for j, kv in enumerate((block or {}).get("parameters") or []):
        name = kv.get("name", "")
        if is_expression(name):
            raise Untranslatable(f"{where}: parameter names given by expressions are not translated")
        out[str(name)] = _template(imp, inst, scope, kv.get("value", ""), f"{where} '{name}'")
    return out


def _h_http(imp: _Importer, inst: Inst) -> None:
    p = inst.params
    if inst.raw.get("typeVersion", 4) < 3:
        raise Untranslatable("HTTP Request v1/v2 is not translated; re-save it in a recent n8n")
    if p.get("authentication", "none") != "none" or inst.raw.get("credentials"):
        raise Untranslatable("HTTP Request with n8n credentials: create a credential here and set the auth "
                             "on the http.request node")
    scope = imp.scope_for(inst)
    cfg: dict[str, Any] = {"method": p.get("method", "GET"),
                           "url": _template(imp, inst, scope, p.get("url", ""), "url")}
    if p.get("sendQuery"):
        if p.get("specifyQuery", "keypair") != "keypair":
            raise Untranslatable("query given as JSON is not translated")
        cfg["query"] = _kv(imp, inst, scope, p.get("queryParameters"), "query parameter")
    if p.get("sendHeaders"):
        if p.get("specifyHeaders", "keypair") != "keypair":
            raise Untranslatable("headers given as JSON are not translated")
        cfg["headers"] = _kv(imp, inst, scope, p.get("headerParameters"), "header")
    if p.get("sendBody"):
        ctype = p.get("contentType", "json")
        if ctype == "json":
            if p.get("specifyBody", "keypair") == "json":
                jb = p.get("jsonBody", "")
                if is_expression(jb) and re.fullmatch(r"=\s*\{\{.*\}\}\s*", jb, re.S):
                    cfg["json"] = _template(imp, inst, scope, jb, "JSON body")
                else:
                    # JSON text with {{ }} parts: render the text, then parse it (JSON is valid JSONata)
                    text = jb[1:] if is_expression(jb) else jb
                    try:
                        if not is_expression(jb):
                            cfg["json"] = json.loads(text)
                        else:
                            t = _template(imp, inst, scope, jb, "JSON body")
                            cfg["json"] = "{{ $eval(" + t[3:-3] + ") }}"
                    except ValueError:
                        raise Untranslatable("the JSON body is not valid JSON") from None
            else:
                cfg["json"] = _kv(imp, inst, scope, p.get("bodyParameters"), "body parameter")
        elif ctype == "raw":
            cfg["headers"] = {**cfg.get("headers", {}), "Content-Type": p.get("rawContentType", "text/plain")}
            cfg["body"] = _template(imp, inst, scope, p.get("body", ""), "body")
        else:
            raise Untranslatable(f"body content type {ctype!r} is not translated")
    opts = p.get("options") or {}
    resp = ((opts.get("response") or {}).get("response") or {})
    if opts.get("timeout"):
        cfg["timeout_seconds"] = float(opts["timeout"]) / 1000
    if resp.get("neverError"):
        cfg["expected_status"] = list(range(100, 600))
    if opts.get("redirect", {}).get("redirect", {}).get("followRedirects") is False:
        cfg["follow_redirects"] = False
    fmt = resp.get("responseFormat", "autodetect")
    if resp.get("fullResponse"):
        out = "[{'body': {out}.body, 'headers': {out}.headers, 'statusCode': {out}.status, 'statusMessage': ''}]"
        imp.warn(inst.name, inst.type, "full response: statusMessage is empty")
    elif fmt in ("autodetect", "json"):
        out = ("($b := {out}.body; $type($b) = 'array' ? $map($b, function($x){ $type($x) = 'object' ? $x : "
               "{'data': $x} }) : $type($b) = 'object' ? [$b] : $type($b) = 'null' or $not($exists($b)) ? "
               "[{}] : [{'data': $b}])")
    elif fmt == "text":
        out = "[{" + jstr((resp.get("outputPropertyName") or "data")) + ": {out}.body}]"
    else:
        raise Untranslatable(f"response format {fmt!r} (files) is not translated")
    _activity(imp, inst, "http.request", cfg, out)


def _credential(inst: Inst, kind: str) -> str:
    creds = inst.raw.get("credentials") or {}
    c = creds.get(kind) or {}
    name = c.get("name") if isinstance(c, dict) else None
    if not name:
        raise Untranslatable(f"no '{kind}' credential is set on the node")
    return str(name)


def _secret_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper() or "DB"


def _query_params(imp: _Importer, inst: Inst, scope: Scope) -> list[Any] | str:
    opts = inst.params.get("options") or {}
    rep = opts.get("queryReplacement")
    if rep in (None, ""):
        return []
    if is_expression(rep):
        text = rep[1:]
        whole = re.fullmatch(r"\s*\{\{(.*)\}\}\s*", text, re.S)
        if whole and "{{" not in whole.group(1):
            # one expression: an array is the parameter list; a string is split at commas (as n8n does)
            t = _template(imp, inst, scope, rep, "query parameters")
            inner = t[3:-3]
            return "{{ ($p := " + inner + "; $type($p) = 'array' ? $p : $type($p) = 'string' ? " \
                   "$map($split($p, ','), function($x){ $trim($x) }) : [$p]) }}"
        # comma-separated list with expressions: one template per part
        parts = [x.strip() for x in re.split(r",(?![^{]*\}\})", text)]
        return [_template(imp, inst, scope, "=" + x, f"query parameter {j + 1}") for j, x in enumerate(parts)]
    return [x.strip() for x in str(rep).split(",")]


def _h_postgres(imp: _Importer, inst: Inst) -> None:
    p = inst.params
    if p.get("operation", "executeQuery") != "executeQuery":
        raise Untranslatable(f"Postgres operation {p.get('operation')!r} is not translated (only Execute Query)")
    scope = imp.scope_for(inst)
    cred = _credential(inst, "postgres")
    cfg: dict[str, Any] = {"connection": f"secret://{_secret_name(cred)}",
                           "query": _template(imp, inst, scope, p.get("query", ""), "query"), "mode": "fetch"}
    params = _query_params(imp, inst, scope)
    if params:
        cfg["params"] = params
    imp.warn(inst.name, inst.type, f"credential '{cred}' -> secret://{_secret_name(cred)} (set WFO_SECRET_"
                                   f"{_secret_name(cred)} to its DSN)")
    _activity(imp, inst, "db.query", cfg, "($rows := {out}.rows; $count($rows) = 0 ? [{'success': true}] : $append([], $rows))",
              may_be_empty=False)


def _h_mysql(imp: _Importer, inst: Inst) -> None:
    p = inst.params
    if p.get("operation", "executeQuery") != "executeQuery":
        raise Untranslatable(f"MySQL operation {p.get('operation')!r} is not translated (only Execute Query)")
    scope = imp.scope_for(inst)
    cred = _credential(inst, "mySql")
    cfg: dict[str, Any] = {"credential": cred, "query": _template(imp, inst, scope, p.get("query", ""), "query")}
    params = _query_params(imp, inst, scope)
    if params:
        cfg["params"] = params
    _activity(imp, inst, "mysql.query", cfg, "($rows := {out}.rows; $count($rows) = 0 ? [{'success': true}] : $append([], $rows))",
              may_be_empty=False)


def _h_redis(imp: _Importer, inst: Inst) -> None:
    p = inst.params
    scope = imp.scope_for(inst)
    cred = _credential(inst, "redis")
    op = p.get("operation", "info")
    key = _template(imp, inst, scope, p.get("key", ""), "key")
    if op == "get":
        prop = p.get("propertyName", "propertyName")
        cfg = {"credential": cred, "command": "GET", "args": [key]}
        out = "[$merge([{item}, {" + jstr(str(prop)) + ": {out}.result}])]"
    elif op == "set":
        args = [key, _template(imp, inst, scope, p.get("value", ""), "value")]
        if p.get("expire"):
            args += ["EX", _template(imp, inst, scope, p.get("ttl", 60), "ttl")]
        cfg = {"credential": cred, "command": "SET", "args": args}
        out = "[{item}]"
    elif op == "incr":
        if is_expression(p.get("key")):
            raise Untranslatable("incr with a key given by an expression: the output field name is the key")
        cfg = {"credential": cred, "command": "INCR", "args": [key]}
        out = "[{" + jstr(str(p.get("key", ""))) + ": {out}.result}]"
    elif op == "delete":
        cfg = {"credential": cred, "command": "DEL", "args": [key]}
        out = "[{item}]"
    elif op == "publish":
        cfg = {"credential": cred, "command": "PUBLISH",
               "args": [_template(imp, inst, scope, p.get("channel", ""), "channel"),
                        _template(imp, inst, scope, p.get("messageData", ""), "message")]}
        out = "[{item}]"
    else:
        raise Untranslatable(f"Redis operation {op!r} is not translated")
    _activity(imp, inst, "redis.command", cfg, out, may_be_empty=False)


def _h_email(imp: _Importer, inst: Inst) -> None:
    p = inst.params
    scope = imp.scope_for(inst)
    fmt = p.get("emailFormat", "text")
    cfg: dict[str, Any] = {"to": _template(imp, inst, scope, p.get("toEmail", ""), "toEmail"),
                           "subject": _template(imp, inst, scope, p.get("subject", ""), "subject")}
    if fmt in ("text", "both"):
        cfg["text"] = _template(imp, inst, scope, p.get("text", ""), "text")
    if fmt in ("html", "both"):
        cfg["html"] = _template(imp, inst, scope, p.get("html", ""), "html")
    opts = p.get("options") or {}
    for src, dst in (("ccEmail", "cc"), ("bccEmail", "bcc"), ("replyTo", "reply_to")):
        if opts.get(src):
            cfg[dst] = _template(imp, inst, scope, opts[src], src)
    if p.get("fromEmail"):
        imp.warn(inst.name, inst.type, f"fromEmail {p.get('fromEmail')!r}: the sender address is the server's "
                                       "configured one")
    if opts.get("attachments"):
        raise Untranslatable("attachments are not translated")
    _activity(imp, inst, "email.send", cfg, "[$merge([{out}, {'messageId': {out}.message_id}])]",
              may_be_empty=False)


def _h_respond(imp: _Importer, inst: Inst) -> None:
    p = inst.params
    scope = imp.scope_for(inst)
    IN = imp.input_items(inst)
    what = p.get("respondWith", "firstIncomingItem")
    opts = p.get("options") or {}
    cfg: dict[str, Any] = {"status": opts.get("responseCode", 200)}
    headers = {}
    for h in ((opts.get("responseHeaders") or {}).get("entries") or []):
        headers[str(h.get("name"))] = _template(imp, inst, scope, h.get("value", ""), f"header {h.get('name')}")
    if headers:
        cfg["headers"] = headers
    if what == "firstIncomingItem":
        cfg["body"] = "{{ " + IN + "[0] }}"
    elif what == "allIncomingItems":
        cfg["body"] = "{{ " + IN + " }}"
    elif what in ("json", "text"):
        cfg["body"] = _template(imp, inst, scope, p.get("responseBody", ""), "responseBody")
        if what == "json" and not is_expression(p.get("responseBody", "")):
            try:
                cfg["body"] = json.loads(str(p.get("responseBody") or "{}"))
            except ValueError:
                raise Untranslatable("the response body is not valid JSON") from None
        if what == "text":
            cfg.setdefault("headers", {}).setdefault("Content-Type", "text/plain")
    elif what == "noData":
        cfg["body"] = None
    else:
        raise Untranslatable(f"respond with {what!r} is not translated")
    _activity(imp, inst, "webhook.respond", cfg, IN, may_be_empty=False)


def _h_execute_workflow(imp: _Importer, inst: Inst) -> None:
    p = inst.params
    source = p.get("source", "database")
    stored: str | None = None
    if source == "database":
        wid = p.get("workflowId")
        if isinstance(wid, dict):
            wid = wid.get("value")
        if is_expression(wid):
            raise Untranslatable("a workflow id given by an expression is not translated")
        stored = imp.workflow_ids.get(str(wid))
        if stored is None:
            raise Untranslatable(f"calls n8n workflow {wid!r} by id: import that workflow first, then import "
                                 f"this one with workflow_ids {{{json.dumps(str(wid))}: <its id here>}}")
    elif source != "parameter":
        raise Untranslatable(f"source {source!r} (local file / URL) is not translated")
    if p.get("mode", "once") != "once":
        raise Untranslatable("'run once for each item' is not translated")
    if (p.get("options") or {}).get("waitForSubWorkflow") is False:
        raise Untranslatable("not waiting for the sub-workflow is not translated")
    IN = imp.input_items(inst)
    if stored is not None:
        cfg: dict[str, Any] = {"workflow_id": stored, "input": "{{ " + IN + " }}"}
    else:
        wj = p.get("workflowJson")
        try:
            child = json.loads(wj) if isinstance(wj, str) else wj
        except ValueError:
            raise Untranslatable("workflowJson is not valid JSON") from None
        sub = _Importer(child, imp.workflow_ids, imp.js_fallback)
        sub.timezone = imp.timezone
        try:
            res = sub.run()
        except N8nFormatError as err:
            raise Untranslatable(f"the inline workflow: {err}") from None
        if res.untranslatable:
            raise Untranslatable("the inline workflow has untranslatable nodes: " + "; ".join(
                f"{u['node']}: {u['reason']}" for u in res.untranslatable))
        cfg = {"definition": res.definition, "input": "{{ " + IN + " }}"}
    sid = imp.node(inst, "run", "subworkflow", cfg, name=f"{inst.name} (sub-workflow)", dx=-30)
    nid = imp.node(inst, "", "transform", {"expression": f"$append([], {_nodes_ref(sid)})"}, main=True)
    imp.iedge(inst, sid, nid)
    inst.entry = sid
    inst.items_ref = _items_of(nid)
    inst.exits[0] = imp.router(inst, 0, nid, "out", inst.items_ref)
    if inst.raw.get("onError") == "continueErrorOutput":
        inst.exits[1] = Exit(sid, "error", f"[{{'error': {_nodes_ref(sid)}.error.message}}]")
        inst._error_done = True  # type: ignore[attr-defined]


HANDLERS: dict[str, Callable[[_Importer, Inst], None]] = {
    "n8n-nodes-base.manualTrigger": _h_trigger,
    "n8n-nodes-base.scheduleTrigger": _h_trigger,
    "n8n-nodes-base.webhook": _h_trigger,
    "n8n-nodes-base.executeWorkflowTrigger": _h_trigger,
    "n8n-nodes-base.set": _h_set,
    "n8n-nodes-base.if": _h_if,
    "n8n-nodes-base.filter": _h_filter,
    "n8n-nodes-base.switch": _h_switch,
    "n8n-nodes-base.noOp": _h_noop,
    "n8n-nodes-base.limit": _h_limit,
    "n8n-nodes-base.sort": _h_sort,
    "n8n-nodes-base.removeDuplicates": _h_dedupe,
    "n8n-nodes-base.splitOut": _h_split_out,
    "n8n-nodes-base.aggregate": _h_aggregate,
    "n8n-nodes-base.merge": _h_merge,
    "n8n-nodes-base.splitInBatches": _h_loop,
    "n8n-nodes-base.wait": _h_wait,
    "n8n-nodes-base.stopAndError": _h_stop,
    "n8n-nodes-base.dateTime": _h_datetime,
    "n8n-nodes-base.code": _h_code,
    "n8n-nodes-base.httpRequest": _h_http,
    "n8n-nodes-base.postgres": _h_postgres,
    "n8n-nodes-base.mySql": _h_mysql,
    "n8n-nodes-base.redis": _h_redis,
    "n8n-nodes-base.emailSend": _h_email,
    "n8n-nodes-base.respondToWebhook": _h_respond,
    "n8n-nodes-base.executeWorkflow": _h_execute_workflow,
}
SUPPORTED_TYPES = tuple(sorted(HANDLERS))


def import_n8n(data: Any, workflow_ids: dict[str, str] | None = None, js_fallback: bool = True) -> ImportResult:
    """Translate an n8n workflow export. Raises N8nFormatError if `data` is not one.

    `workflow_ids` maps n8n workflow ids (Execute Workflow nodes calling a stored workflow) to the ids of
    the workflows imported here; such a call becomes a `subworkflow` node running that workflow.
    With `js_fallback`, an expression without an exact JSONata translation is evaluated by JavaScript in a
    `code.javascript` node placed before its node (and listed in `warnings`); without it, it is untranslatable."""
    return _Importer(data, workflow_ids, js_fallback).run()
