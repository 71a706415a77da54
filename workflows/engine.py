"""The interpreter's pure core: tokens moving through a definition's graph.

No I/O, no clock, no randomness of its own: the Temporal workflow (workflows/interpreter.py) feeds it
time and outcomes and carries out the steps it plans. Its whole state is JSON data, so it survives
continue-as-new and answers the progress query.

Model: an *activation* is one run of one node (a token arriving there). Completing an activation emits
tokens on one output port; each edge on that port creates a new activation (a node with several incoming
edges runs once per arriving path). `parallel` pushes a branch frame on the tokens it emits; `join` consumes
them and fires once every branch has arrived or died.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from workflows.components import BUILTINS as _CORE_SPECS
from workflows.components import CONTEXT_COMPONENTS, DEFAULT_PORT, ERROR_PORT, TEMPORAL_START_ACTIVITY
from workflows.data_components import DATA_BY_TYPE, DATA_TYPES, DataError, RunInActivity, compute_data
from workflows.definition import Definition, Node, parse_duration
from workflows.errors import WfoError
from workflows.expressions import EvalEnv, ExpressionError, evaluate, evaluate_condition, render
from workflows.graph import GraphInfo

REF_KEY = "$ref"
PAYLOAD_REF_PREFIX = "payload:"
MAX_EVENTS = 500
DEFAULT_MAX_ITERATIONS = 1000
MAX_HISTORY_PAYLOAD = 1_500_000
"""Bytes above which an activity input would risk Temporal's 2 MB payload limit."""
PURE_TYPES = {"transform", "set", "decision", "switch", "filter", "end"} | DATA_TYPES
BUILTINS = {**_CORE_SPECS, **DATA_BY_TYPE}
"""Every type the interpreter computes itself (control and pure); anything else runs as an activity."""


def is_ref(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get(REF_KEY), str) and len(value) <= 3


def payload_refs(value: Any, path: str = "") -> list[str]:
    """Where `value` holds stored-payload references (`{"$ref": "payload:..."}`), as JSON paths.

    Only the engine makes those (for values over the payload threshold); user input and definitions
    that carry one are refused, so a reference never comes from outside."""
    found: list[str] = []
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        v, p = stack.pop()
        if is_ref(v) and v[REF_KEY].startswith(PAYLOAD_REF_PREFIX):
            found.append(p or "$")
        elif isinstance(v, dict):
            stack.extend((item, f"{p}.{k}" if p else str(k)) for k, item in v.items())
        elif isinstance(v, list):
            stack.extend((item, f"{p}[{i}]") for i, item in enumerate(v))
    return sorted(found)


def json_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), default=str))


class NodeFailure(WfoError):
    """A node failed in a way its `error` port may handle."""

    def __init__(self, message: str, type: str = "NodeError", details: Any = None):
        super().__init__(message)
        self.type = type
        self.details = details


# ---------------------------------------------------------------- outcomes and steps


@dataclass
class Outcome:
    output: Any = None
    port: str = DEFAULT_PORT
    error: dict[str, Any] | None = None
    attempts: int = 1

    @classmethod
    def failed(cls, message: str, type: str = "NodeError", attempts: int = 1, details: Any = None) -> "Outcome":
        err = {"message": message, "type": type, "attempts": attempts}
        if details is not None:
            err["details"] = details
        return cls(error=err, port=ERROR_PORT, attempts=attempts)


@dataclass
class Done:
    """Computed inline: complete the activation with this outcome right away."""

    outcome: Outcome


@dataclass
class RunActivity:
    activity: str
    """Activity type: the component type, or `wfo.evaluate` for pure nodes reading stored payloads."""
    config: Any
    render_context: dict[str, Any] | None
    skip_fields: list[str]
    node: Node
    activity_id: str
    idempotency_key: str


@dataclass
class Sleep:
    seconds: float
    until: str


@dataclass
class RunChildren:
    kind: str  # "map" or "subworkflow"
    definition: dict[str, Any] | None
    stored_workflow_id: str | None
    stored_version: int | None
    inputs: list[Any]
    concurrency: int
    child_id_prefix: str


@dataclass
class AwaitApproval:
    config: dict[str, Any]
    task_id: str


@dataclass
class StartWorkflow:
    """`temporal.workflow` in `child` mode: run `workflow_type` as a child workflow and wait for its result."""

    workflow_type: str
    args: list[Any]
    workflow_id: str
    task_queue: str | None
    execution_timeout_seconds: float | None


Step = Done | RunActivity | Sleep | RunChildren | AwaitApproval | StartWorkflow


# ---------------------------------------------------------------- pure components


def compute_pure(node: Node, context: dict[str, Any], env: EvalEnv, inline: bool = False) -> Outcome:
    """Evaluate a pure data node (transform, set, decision, switch, filter, end, and the data components).
    Raises ExpressionError, or NodeFailure for data a data component cannot use. `inline` (in the workflow):
    a data component may raise RunInActivity instead of doing more work than a workflow task should."""
    cfg = node.config
    t = node.type
    if t == "transform":
        return Outcome(output=evaluate(cfg["expression"], context, env))
    if t == "set":
        return Outcome(output=render(cfg.get("values") or {}, context, env))
    if t == "decision":
        result = evaluate_condition(cfg["condition"], context, env)
        return Outcome(output={"result": result}, port="true" if result else "false")
    if t == "switch":
        value = evaluate(cfg["expression"], context, env) if cfg.get("expression") else None
        for case in cfg.get("cases") or []:
            if "condition" in case:
                if evaluate_condition(case["condition"], context, env):
                    return Outcome(output={"port": case["port"]}, port=case["port"])
            elif "value" in case and cfg.get("expression") and value == case["value"]:
                return Outcome(output={"port": case["port"]}, port=case["port"])
        return Outcome(output={"port": "default"}, port="default")
    if t == "filter":
        items = evaluate(cfg["items"], context, env)
        if items is None:
            items = []
        elif not isinstance(items, list):
            items = [items]
        kept = []
        for i, item in enumerate(items):
            scope = dict(context)
            scope["item"] = item
            scope["index"] = i
            if evaluate_condition(cfg["condition"], scope, env, {"item": item, "index": i}):
                kept.append(item)
        return Outcome(output=kept)
    if t == "end":
        return Outcome(output=render(cfg.get("output"), context, env), port="")
    if t in DATA_TYPES:  # workflows/data_components.py
        try:
            output, port = compute_data(t, cfg, context, env, inline)
        except DataError as err:
            raise NodeFailure(err.message, type=err.type) from None
        return Outcome(output=output, port=port)
    raise NodeFailure(f"'{t}' is not a pure component")


# ---------------------------------------------------------------- state


def _new_node_status() -> dict[str, Any]:
    return {"status": "pending", "activations": 0, "attempts": 0, "started_at": None, "completed_at": None,
            "duration_ms": None, "error": None}


def new_state(definition: Definition, input: Any, execution: dict[str, Any], start_id: str) -> dict[str, Any]:
    return {
        "context": {"input": input, "nodes": {}, "vars": {}, "execution": execution},
        "pending": [{"seq": 1, "node": start_id, "stack": [], "via": None}],
        "running": {},
        "seq": 1,
        "groups": {},
        "group_seq": 0,
        "loops": {},
        "nodes": {nid: _new_node_status() for nid in definition.nodes},
        "events": [],
        "events_dropped": 0,
        "finished": False,
        "result": None,
        "failure": None,
        "runs": 1,
        "pure_steps": 0,
    }


_STATIC_NODE_REF_RE = re.compile(r"\bnodes\s*(?:\.\s*[A-Za-z_][\w\-]*\b(?!\s*\()|\[\s*[\"'][^\"']+[\"']\s*\])")
"""`nodes.<id>` (not a method call such as `nodes.get(`) or `nodes["<id>"]`: a read of one named node."""
_NODE_REF_RE = re.compile(r"nodes\s*(?:\.\s*`?([A-Za-z_][\w\-]*)`?|\[\s*[\"']([^\"']+)[\"']\s*\])")


def _expression_texts(node: Node) -> list[str]:
    texts: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, str):
            texts.append(v)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    cfg = dict(node.config)
    cfg.pop("definition", None)
    walk(cfg)
    return texts


class Engine:
    """Drives one execution's state. All methods are deterministic functions of their arguments."""

    def __init__(self, definition: Definition, info: GraphInfo, state: dict[str, Any], execution_id: str):
        self.defn = definition
        self.info = info
        self.state = state
        self.execution_id = execution_id
        self._joins_of: dict[str, list[str]] = {}
        for j, p in info.join_parallel.items():
            self._joins_of.setdefault(p, []).append(j)

    # ------------------------------------------------------------ queries

    @property
    def finished(self) -> bool:
        return self.state["finished"]

    @property
    def context(self) -> dict[str, Any]:
        return self.state["context"]

    def has_pending(self) -> bool:
        return bool(self.state["pending"])

    def has_running(self) -> bool:
        return bool(self.state["running"])

    def progress(self) -> dict[str, Any]:
        s = self.state
        status = "running"
        if s["finished"]:
            status = "failed" if s["failure"] else "completed"
        return {
            "status": status,
            "nodes": s["nodes"],
            "events": s["events"][-200:],
            "events_dropped": s["events_dropped"] + max(0, len(s["events"]) - 200),
            "activations": s["seq"],
            "runs": s["runs"],
            "failure": s["failure"],
        }

    # ------------------------------------------------------------ scheduling

    def take_ready(self, now: datetime) -> list[dict[str, Any]]:
        """Pop every pending activation and mark it running."""
        ready = self.state["pending"]
        self.state["pending"] = []
        for act in ready:
            self.state["running"][str(act["seq"])] = act
            st = self.state["nodes"][act["node"]]
            st["status"] = "running"
            st["activations"] += 1
            st["started_at"] = now.isoformat()
            st["completed_at"] = None
            st["duration_ms"] = None
            self._event(act, "started", now)
        return ready

    def plan(self, act: dict[str, Any], now: datetime, env: EvalEnv, threshold: int) -> Step:
        """What running this activation takes. Pure nodes are computed here (Done)."""
        node = self.defn.nodes[act["node"]]
        spec = BUILTINS.get(node.type)
        reuse = self.state.get("resume")
        if reuse and node.id in reuse:
            # a redrive: this node completed in the redriven execution; reuse its output, run nothing
            saved = reuse.pop(node.id)
            self.state["nodes"][node.id]["reused"] = True
            return Done(Outcome(output=saved.get("output"), port=saved.get("port") or DEFAULT_PORT, attempts=0))
        try:
            if "preset" in act:  # a join whose branches are all in
                return Done(Outcome(output=act["preset"]))
            if node.type == "start":
                return Done(Outcome(output=self.context["input"]))
            if node.type == "parallel":
                return Done(Outcome(output=None))
            if node.type == "terminate":
                msg = render(node.config.get("message") or "terminated", self.context, env)
                return Done(Outcome.failed(str(msg), type="Terminated"))
            if node.type in PURE_TYPES:
                return self._plan_pure(node, act, env, threshold)
            if node.type == "loop":
                return Done(self._loop(node, act, env))
            if node.type == "wait":
                return self._plan_wait(node, now, env)
            if node.type in ("map", "subworkflow"):
                return self._plan_children(node, act, env)
            if node.type == "approval":
                self._refuse_refs(node)
                skip = spec.template_skip if spec else ()
                return AwaitApproval(config=render(node.config, self.context, env, skip),
                                     task_id=f"{self.execution_id}:{node.id}:{act['seq']}")
            if node.type == "temporal.workflow":
                return self._plan_temporal_workflow(node, act, env)
            if node.type in CONTEXT_COMPONENTS:
                return self._plan_context_activity(node, act)
            return self._plan_activity(node, act, node.type, threshold, env)
        except ExpressionError as err:
            where = f" (expression: {err.expression})" if err.expression else ""
            return Done(Outcome.failed(err.message + where, type="ExpressionError"))
        except NodeFailure as err:
            return Done(Outcome.failed(err.message, type=err.type, details=err.details))

    def _refs(self) -> dict[str, bool]:
        """Roots of the context that hold stored payload references."""
        found: dict[str, bool] = {}
        ctx = self.context
        if is_ref(ctx["input"]):
            found["input"] = True
        for nid, out in ctx["nodes"].items():
            if is_ref(out):
                found[nid] = True
        return found

    def _referenced(self, node: Node) -> tuple[bool, set[str], bool]:
        """What `node`'s expressions may read: (input?, named node ids, any node at all?)."""
        joined = "\n".join(_expression_texts(node))
        reads_input = re.search(r"\binput\b|\$\$", joined) is not None
        named = {a or b for a, b in _NODE_REF_RE.findall(joined)}
        wildcard = bool(re.search(r"nodes\s*\.\s*\*|\*\*|\$\$|\$lookup\s*\(\s*nodes|nodes\s*[^\s.\[]", joined)
                        or re.search(r"nodes\s*$", joined))
        return reads_input, named, wildcard

    def _context_slice(self, node: Node) -> dict[str, Any]:
        """The part of the context `node` may read (stored payloads stay references)."""
        _, named, wildcard = self._referenced(node)
        ctx = self.context
        return {
            "input": ctx["input"], "vars": ctx["vars"], "execution": ctx["execution"],
            "nodes": {k: v for k, v in ctx["nodes"].items() if wildcard or k in named},
        }

    def _slice_needing_refs(self, node: Node) -> dict[str, Any] | None:
        """If `node` reads a stored payload: the part of the context it may read. Else None."""
        refs = self._refs()
        if not refs:
            return None
        reads_input, named, wildcard = self._referenced(node)
        touched = {n for n in refs if n != "input" and (n in named or wildcard)}
        if not ("input" in refs and reads_input) and not touched:
            return None
        return self._context_slice(node)

    def _refuse_refs(self, node: Node) -> None:
        if self._slice_needing_refs(node) is not None:
            raise NodeFailure(f"'{node.type}' node '{node.id}' reads a large stored payload; "
                              "extract the values it needs with a transform node first", type="PayloadTooLarge")

    def _plan_pure(self, node: Node, act: dict[str, Any], env: EvalEnv, threshold: int) -> Step:
        if self._slice_needing_refs(node) is None:
            try:
                outcome: Outcome | None = compute_pure(node, self.context, env, inline=True)
            except RunInActivity:  # a data component with too much work for a workflow task
                outcome = None
            if outcome is not None and (outcome.output is None or json_size(outcome.output) <= threshold):
                self.state["pure_steps"] += 1
                return Done(outcome)
        # reads stored payloads, its output is too large for history, or it is heavy: evaluate in an activity
        from workflows.types import EVALUATE_ACTIVITY

        return self._plan_activity(node, act, EVALUATE_ACTIVITY, threshold, env, force_remote=True)

    def _plan_activity(self, node: Node, act: dict[str, Any], activity: str, threshold: int, env: EvalEnv,
                       force_remote: bool = False) -> RunActivity:
        """Render the config here when it is small; else let the activity render it from the context slice
        it reads (stored payloads resolved there), so large data stays out of history."""
        spec_skip = list(BUILTINS[node.type].template_skip + BUILTINS[node.type].bare_expressions) \
            if node.type in BUILTINS else []
        slice_ = self._slice_needing_refs(node)
        config: Any = node.config
        if slice_ is None and not force_remote and node.type not in BUILTINS:
            rendered = render(node.config, self.context, env)
            size = json_size(rendered)
            if size <= min(threshold, MAX_HISTORY_PAYLOAD):
                config = rendered
            else:
                slice_ = self._context_slice(node)
                if json_size(slice_) >= size:  # rendering remotely would not make history smaller
                    slice_, config = None, rendered
                    if size > MAX_HISTORY_PAYLOAD:
                        raise NodeFailure(
                            f"the rendered config of '{node.id}' is {size} bytes, over Temporal's payload limit; "
                            "pass large data between nodes as node outputs (stored by reference) instead of "
                            "building it in expressions", type="PayloadTooLarge")
        elif slice_ is None:
            slice_ = self._context_slice(node)
        if slice_ is not None and json_size(slice_) > MAX_HISTORY_PAYLOAD:
            raise NodeFailure(f"'{node.id}' reads more than {MAX_HISTORY_PAYLOAD} bytes of context; extract what it "
                              "needs with smaller nodes first", type="PayloadTooLarge")
        return RunActivity(
            activity=activity, config=config, render_context=slice_,
            skip_fields=spec_skip, node=node, activity_id=f"{node.id}#{act['seq']}",
            idempotency_key=f"{self.execution_id}:{node.id}:{act['seq']}",
        )

    def _plan_context_activity(self, node: Node, act: dict[str, Any]) -> RunActivity:
        """A code step: its raw config plus the context its code may read (rendered in the activity, where
        stored payloads are resolved). Named `nodes.<id>` reads send those nodes; any other use of `nodes`
        (iteration, `nodes.get(...)`, `nodes[name]`) sends every node output, so the code sees what it asks."""
        skip = CONTEXT_COMPONENTS[node.type]
        texts = "\n".join(_expression_texts(node))
        named = {a or b for a, b in _NODE_REF_RE.findall(texts)}
        dynamic = len(re.findall(r"\bnodes\b", texts)) > len(_STATIC_NODE_REF_RE.findall(texts))
        ctx = self.context
        slice_ = {"input": ctx["input"], "vars": ctx["vars"], "execution": ctx["execution"],
                  "nodes": {k: v for k, v in ctx["nodes"].items() if dynamic or k in named}}
        if json_size(slice_) > MAX_HISTORY_PAYLOAD:
            raise NodeFailure(f"'{node.id}' reads more than {MAX_HISTORY_PAYLOAD} bytes of context; name the nodes "
                              "it reads (nodes.<id>) or extract what it needs with smaller nodes first",
                              type="PayloadTooLarge")
        return RunActivity(
            activity=node.type, config=node.config, render_context=slice_, skip_fields=list(skip), node=node,
            activity_id=f"{node.id}#{act['seq']}", idempotency_key=f"{self.execution_id}:{node.id}:{act['seq']}",
        )

    def _plan_temporal_workflow(self, node: Node, act: dict[str, Any], env: EvalEnv) -> Step:
        self._refuse_refs(node)
        cfg = render(node.config, self.context, env)
        wtype = cfg.get("workflow_type")
        if not isinstance(wtype, str) or not wtype:
            raise NodeFailure(f"'workflow_type' must be a workflow type name, got {wtype!r}", type="BadConfig")
        args = cfg["args"] if "args" in cfg else ([cfg["input"]] if "input" in cfg else [])
        if not isinstance(args, list):
            raise NodeFailure(f"'args' must be a list of arguments, got {type(args).__name__}", type="BadConfig")
        wid = cfg.get("workflow_id") or f"{self.execution_id}/{node.id}/{act['seq']}"
        timeout = None
        if cfg.get("execution_timeout"):
            try:
                timeout = parse_duration(cfg["execution_timeout"]).total_seconds()
            except ValueError as err:
                raise NodeFailure(str(err), type="BadDuration") from None
        if (cfg.get("mode") or "child") == "start":
            return RunActivity(
                activity=TEMPORAL_START_ACTIVITY,
                config={"workflow_type": wtype, "args": args, "workflow_id": str(wid),
                        "task_queue": cfg.get("task_queue"), "execution_timeout_seconds": timeout},
                render_context=None, skip_fields=[], node=node, activity_id=f"{node.id}#{act['seq']}",
                idempotency_key=f"{self.execution_id}:{node.id}:{act['seq']}",
            )
        return StartWorkflow(workflow_type=wtype, args=args, workflow_id=str(wid), task_queue=cfg.get("task_queue"),
                             execution_timeout_seconds=timeout)

    def _loop(self, node: Node, act: dict[str, Any], env: EvalEnv) -> Outcome:
        self._refuse_refs(node)
        key = node.id + "|" + json.dumps(act["stack"])
        loops = self.state["loops"]
        if act.get("via") is None or not self.info.is_back_edge(node.id, act["via"]):
            loops[key] = 0  # entered from outside: a fresh loop
        count = loops.get(key, 0)
        if evaluate_condition(node.config["condition"], self.context, env):
            limit = int(node.config.get("max_iterations") or DEFAULT_MAX_ITERATIONS)
            if count >= limit:
                loops.pop(key, None)
                raise NodeFailure(f"loop '{node.id}' exceeded max_iterations={limit}", type="LoopLimitExceeded")
            loops[key] = count + 1
            return Outcome(output={"iteration": count + 1}, port="body")
        loops.pop(key, None)
        return Outcome(output={"iteration": count}, port="done")

    def _plan_wait(self, node: Node, now: datetime, env: EvalEnv) -> Step:
        self._refuse_refs(node)
        cfg = node.config
        if cfg.get("duration") is not None:
            duration_text = render(cfg["duration"], self.context, env)
            try:
                delta = parse_duration(duration_text)
            except ValueError as err:
                raise NodeFailure(str(err), type="BadDuration") from None
            until = now + delta
        else:
            raw = render(cfg.get("until"), self.context, env)
            until = _parse_timestamp(raw)
            if until.tzinfo is None:
                until = until.replace(tzinfo=now.tzinfo)
        seconds = max(0.0, (until - now).total_seconds())
        return Sleep(seconds=seconds, until=until.isoformat())

    def _plan_children(self, node: Node, act: dict[str, Any], env: EvalEnv) -> Step:
        self._refuse_refs(node)
        cfg = node.config
        if node.type == "map":
            items = evaluate(cfg["items"], self.context, env)
            if items is None:
                items = []
            elif not isinstance(items, list):
                items = [items]
            inputs = items
            concurrency = int(cfg.get("concurrency") or 10)
        else:
            inputs = [render(cfg.get("input"), self.context, env) if "input" in cfg else self.context["input"]]
            concurrency = 1
        return RunChildren(
            kind=node.type, definition=cfg.get("definition"), stored_workflow_id=cfg.get("workflow_id"),
            stored_version=cfg.get("version"), inputs=inputs, concurrency=concurrency,
            child_id_prefix=f"{self.execution_id}/{node.id}/{act['seq']}",
        )

    # ------------------------------------------------------------ completion and routing

    def complete(self, act: dict[str, Any], outcome: Outcome, now: datetime) -> None:
        """Record an activation's outcome and move its token on."""
        s = self.state
        s["running"].pop(str(act["seq"]), None)
        if s["finished"]:
            return
        node = self.defn.nodes[act["node"]]
        st = s["nodes"][node.id]
        st["attempts"] = outcome.attempts
        st["completed_at"] = now.isoformat()
        if st["started_at"]:
            started = datetime.fromisoformat(st["started_at"])
            st["duration_ms"] = int((now - started) / timedelta(milliseconds=1))

        if outcome.error is not None:
            st["status"] = "failed"
            st["error"] = outcome.error
            self._event(act, "failed", now, attempt=outcome.attempts, error=outcome.error["message"],
                        duration_ms=st["duration_ms"])
            if node.type == "terminate":
                self._fail(node, outcome.error, now, terminated=True)
                return
            handlers = self.defn.outgoing(node.id, ERROR_PORT)
            if handlers:
                self.context["nodes"][node.id] = {"error": outcome.error}
                self._emit(act, node, ERROR_PORT)
            else:
                self._fail(node, outcome.error, now)
            return

        st["status"] = "completed"
        st["error"] = None
        st["port"] = outcome.port
        self._event(act, "completed", now, attempt=outcome.attempts, duration_ms=st["duration_ms"],
                    port=outcome.port)
        self.context["nodes"][node.id] = outcome.output
        if node.type == "set" and isinstance(outcome.output, dict):
            self.context["vars"].update(outcome.output)
        if node.type == "end":
            s["finished"] = True
            s["result"] = outcome.output
            self._mark_skipped()
            return
        self._emit(act, node, outcome.port)

    def _fail(self, node: Node, error: dict[str, Any], now: datetime, terminated: bool = False) -> None:
        s = self.state
        s["finished"] = True
        if terminated:
            message = error["message"]
        else:
            message = f"node '{node.id}' ({node.type}) failed: {error['message']}"
        s["failure"] = {"node_id": node.id, "node_type": node.type, "message": message,
                        "type": error.get("type", "NodeError"), "cause": error}
        self._mark_skipped()

    def fail_execution(self, node_id: str, message: str, type: str, now: datetime) -> None:
        node = self.defn.nodes[node_id]
        self._fail(node, {"message": message, "type": type}, now)

    def _mark_skipped(self) -> None:
        for st in self.state["nodes"].values():
            if st["status"] == "pending":
                st["status"] = "skipped"
            elif st["status"] == "running":
                st["status"] = "cancelled"

    def _next_seq(self) -> int:
        self.state["seq"] += 1
        return self.state["seq"]

    def _emit(self, act: dict[str, Any], node: Node, port: str) -> None:
        edges = self.defn.outgoing(node.id, port)
        if node.type == "parallel" and edges:
            self.state["group_seq"] += 1
            gid = str(self.state["group_seq"])
            branches: list[str] = []
            for e in edges:
                key = e.target
                n = 2
                while key in branches:
                    key = f"{e.target}#{n}"
                    n += 1
                branches.append(key)
            self.state["groups"][gid] = {"parallel": node.id, "branches": branches, "results": {},
                                         "arrived": [], "below": act["stack"]}
            for e, branch in zip(edges, branches):
                self._arrive(e.source, e.target, act["stack"] + [[gid, branch]])
        else:
            for e in edges:
                self._arrive(e.source, e.target, act["stack"])
        self._check_groups()

    def _arrive(self, source: str, target: str, stack: list[list[str]]) -> None:
        if self.state["finished"]:
            return
        tnode = self.defn.nodes[target]
        if tnode.type == "join":
            parallel = self.info.join_parallel.get(target)
            for depth in range(len(stack) - 1, -1, -1):
                gid, branch = stack[depth]
                group = self.state["groups"].get(gid)
                if group is not None and group["parallel"] == parallel:
                    group["results"][branch] = self.context["nodes"].get(source)
                    if branch not in group["arrived"]:
                        group["arrived"].append(branch)
                    group["join"] = target
                    return
            self.fail_execution(target, f"join '{target}' was reached by a path that did not pass through "
                                        f"its parallel '{parallel}'", "JoinWithoutParallel",
                                datetime.fromisoformat(self.context["execution"]["started_at"]))
            return
        self.state["pending"].append({"seq": self._next_seq(), "node": target, "stack": stack, "via": source})

    def _live_frames(self) -> set[tuple[str, str]]:
        live: set[tuple[str, str]] = set()
        stacks = [act["stack"] for act in list(self.state["pending"]) + list(self.state["running"].values())]
        # tokens parked at an inner join that has not fired yet are still alive in the outer branches
        stacks += [group["below"] for group in self.state["groups"].values()]
        for stack in stacks:
            for gid, branch in stack:
                live.add((gid, branch))
        return live

    def _check_groups(self) -> None:
        """Fire every join whose branches have all arrived or died."""
        changed = True
        while changed and not self.state["finished"]:
            changed = False
            live = self._live_frames()
            for gid, group in list(self.state["groups"].items()):
                if any((gid, b) in live and b not in group["arrived"] for b in group["branches"]):
                    continue
                del self.state["groups"][gid]
                changed = True
                if group["arrived"]:
                    join = group.get("join")
                    results = {b: group["results"].get(b) for b in group["branches"]}
                    self.state["pending"].append({"seq": self._next_seq(), "node": join, "stack": group["below"],
                                                  "via": None, "preset": results})
                # a fired (or dead) group changes which outer branches are live: look again from scratch
                break

    def token_died(self) -> None:
        self._check_groups()

    # ------------------------------------------------------------ events

    def _event(self, act: dict[str, Any], kind: str, now: datetime, **extra: Any) -> None:
        ev = {"node_id": act["node"], "event": kind, "seq": act["seq"], "at": now.isoformat()}
        ev.update({k: v for k, v in extra.items() if v is not None})
        events = self.state["events"]
        events.append(ev)
        if len(events) > MAX_EVENTS:
            drop = len(events) - MAX_EVENTS
            del events[:drop]
            self.state["events_dropped"] += drop


def _parse_timestamp(raw: Any) -> datetime:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        from datetime import timezone

        return datetime.fromtimestamp(raw / 1000.0, tz=timezone.utc)
    if not isinstance(raw, str):
        raise NodeFailure(f"'until' must be an ISO-8601 timestamp or epoch milliseconds, got {raw!r}",
                          type="BadTimestamp")
    text = raw.strip().replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise NodeFailure(f"'until' value {raw!r} is not an ISO-8601 timestamp", type="BadTimestamp") from None
