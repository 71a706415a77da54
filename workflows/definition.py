"""The definition model: nodes and edges, parsed from JSON with every shape problem reported.

Pure code (no I/O): used by the validator, the API and inside the workflow sandbox.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

from workflows.components import DEFAULT_PORT
from workflows.errors import InvalidInput

NODE_ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,127}$")
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition, located at a node, an edge or a field."""

    code: str
    message: str
    node_id: str | None = None
    edge_index: int | None = None
    field: str | None = None
    severity: str = "error"
    """`error` blocks saving and running; `warning` (e.g. `unknown_output_field`) is advice only."""

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "node_id": self.node_id,
                "edge_index": self.edge_index, "field": self.field, "severity": self.severity}

    def __str__(self) -> str:
        where = []
        if self.node_id is not None:
            where.append(f"node '{self.node_id}'")
        if self.edge_index is not None:
            where.append(f"edge #{self.edge_index}")
        if self.field:
            where.append(self.field)
        return (", ".join(where) + ": " if where else "") + self.message


class DefinitionError(InvalidInput, ValueError):
    """Raised when a definition cannot be used; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems[:20]))


@dataclass(frozen=True)
class RetrySpec:
    max_attempts: int = 3
    initial_interval: timedelta = timedelta(seconds=1)
    backoff_coefficient: float = 2.0
    maximum_interval: timedelta | None = None
    non_retryable_errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Node:
    id: str
    type: str
    config: dict[str, Any] = field(default_factory=dict)
    name: str | None = None
    retry: RetrySpec | None = None
    timeout: timedelta | None = None

    @property
    def label(self) -> str:
        return self.name or self.id


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    source_port: str = DEFAULT_PORT
    index: int = 0


@dataclass(frozen=True)
class Definition:
    nodes: dict[str, Node]
    edges: list[Edge]
    schema_version: int = SCHEMA_VERSION

    def outgoing(self, node_id: str, port: str | None = None) -> list[Edge]:
        return [e for e in self.edges if e.source == node_id and (port is None or e.source_port == port)]

    def incoming(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.target == node_id]


_DURATION_RE = re.compile(
    r"^P(?!$)(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?=\d)(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_WEEKS_RE = re.compile(r"^P(?P<w>\d+)W$")


def parse_duration(text: Any) -> timedelta:
    """ISO-8601 duration (days and smaller; weeks too), e.g. ``PT30S``, ``P3D``, ``P1DT2H``."""
    if not isinstance(text, str):
        raise ValueError(f"expected an ISO-8601 duration string like 'PT30S', got {type(text).__name__}")
    m = _WEEKS_RE.match(text)
    if m:
        return timedelta(weeks=int(m.group("w")))
    m = _DURATION_RE.match(text)
    if not m:
        raise ValueError(f"'{text}' is not an ISO-8601 duration like 'PT30S' or 'P3D' (months/years not allowed)")
    parts = {k: float(v) for k, v in m.groupdict().items() if v}
    return timedelta(days=parts.get("d", 0), hours=parts.get("h", 0), minutes=parts.get("m", 0),
                     seconds=parts.get("s", 0))


def _parse_retry(raw: Any, node_id: str, problems: list[Problem]) -> RetrySpec | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.append(Problem("bad_retry", "retry must be an object", node_id=node_id, field="retry"))
        return None
    known = {"max_attempts", "initial_interval", "backoff_coefficient", "maximum_interval", "non_retryable_errors"}
    for key in raw:
        if key not in known:
            problems.append(Problem("bad_retry", f"unknown retry field '{key}' (allowed: {', '.join(sorted(known))})",
                                    node_id=node_id, field=f"retry.{key}"))
    kwargs: dict[str, Any] = {}
    ma = raw.get("max_attempts", 3)
    if not isinstance(ma, int) or isinstance(ma, bool) or ma < 1:
        problems.append(Problem("bad_retry", "max_attempts must be an integer >= 1", node_id=node_id,
                                field="retry.max_attempts"))
    else:
        kwargs["max_attempts"] = ma
    for key in ("initial_interval", "maximum_interval"):
        if key in raw:
            try:
                kwargs[key] = parse_duration(raw[key])
            except ValueError as err:
                problems.append(Problem("bad_retry", str(err), node_id=node_id, field=f"retry.{key}"))
    bc = raw.get("backoff_coefficient", 2.0)
    if not isinstance(bc, (int, float)) or isinstance(bc, bool) or bc < 1:
        problems.append(Problem("bad_retry", "backoff_coefficient must be a number >= 1", node_id=node_id,
                                field="retry.backoff_coefficient"))
    else:
        kwargs["backoff_coefficient"] = float(bc)
    nre = raw.get("non_retryable_errors", [])
    if not isinstance(nre, list) or not all(isinstance(x, str) for x in nre):
        problems.append(Problem("bad_retry", "non_retryable_errors must be a list of error type names",
                                node_id=node_id, field="retry.non_retryable_errors"))
    else:
        kwargs["non_retryable_errors"] = tuple(nre)
    return RetrySpec(**kwargs)


def parse_definition(data: Any) -> tuple[Definition | None, list[Problem]]:
    """Parse JSON data into a Definition. Returns (definition or None, shape problems)."""
    problems: list[Problem] = []
    if not isinstance(data, dict):
        return None, [Problem("not_an_object", "a definition must be a JSON object with 'nodes' and 'edges'")]
    sv = data.get("schema_version", SCHEMA_VERSION)
    if sv != SCHEMA_VERSION:
        problems.append(Problem("schema_version", f"unsupported schema_version {sv!r} (supported: 1)",
                                field="schema_version"))
    raw_nodes = data.get("nodes")
    raw_edges = data.get("edges", [])
    if not isinstance(raw_nodes, list):
        problems.append(Problem("no_nodes", "'nodes' must be a list of node objects", field="nodes"))
        raw_nodes = []
    if not isinstance(raw_edges, list):
        problems.append(Problem("no_edges", "'edges' must be a list of edge objects", field="edges"))
        raw_edges = []

    nodes: dict[str, Node] = {}
    for i, raw in enumerate(raw_nodes):
        if not isinstance(raw, dict):
            problems.append(Problem("bad_node", f"nodes[{i}] must be an object", field=f"nodes[{i}]"))
            continue
        nid = raw.get("id")
        if not isinstance(nid, str) or not NODE_ID_RE.match(nid):
            problems.append(Problem("bad_node_id",
                                    f"nodes[{i}] has id {nid!r}: ids are 1-128 letters, digits, '_' or '-', "
                                    "starting with a letter or '_'", field=f"nodes[{i}].id"))
            continue
        if nid in nodes:
            problems.append(Problem("duplicate_id", f"node id '{nid}' is used more than once", node_id=nid))
            continue
        ntype = raw.get("type")
        if not isinstance(ntype, str) or not ntype:
            problems.append(Problem("missing_type", "node has no 'type'", node_id=nid, field="type"))
            ntype = ""
        config = raw.get("config", {})
        if config is None:
            config = {}
        if not isinstance(config, dict):
            problems.append(Problem("bad_config", "config must be an object", node_id=nid, field="config"))
            config = {}
        name = raw.get("name")
        if name is not None and not isinstance(name, str):
            problems.append(Problem("bad_name", "name must be a string", node_id=nid, field="name"))
            name = None
        timeout = None
        if raw.get("timeout") is not None:
            try:
                timeout = parse_duration(raw["timeout"])
                if timeout <= timedelta(0):
                    raise ValueError("timeout must be positive")
            except ValueError as err:
                problems.append(Problem("bad_timeout", str(err), node_id=nid, field="timeout"))
        retry = _parse_retry(raw.get("retry"), nid, problems)
        nodes[nid] = Node(id=nid, type=ntype, config=config, name=name, retry=retry, timeout=timeout)

    edges: list[Edge] = []
    for i, raw in enumerate(raw_edges):
        if not isinstance(raw, dict):
            problems.append(Problem("bad_edge", "edge must be an object", edge_index=i))
            continue
        src, tgt = raw.get("source"), raw.get("target")
        port = raw.get("source_port") or raw.get("sourceHandle") or DEFAULT_PORT
        ok = True
        for key, val in (("source", src), ("target", tgt)):
            if not isinstance(val, str):
                problems.append(Problem("bad_edge", f"edge {key} must be a node id", edge_index=i, field=key))
                ok = False
            elif val not in nodes:
                problems.append(Problem("missing_node", f"edge {key} '{val}' is not a node of this definition",
                                        edge_index=i, field=key, node_id=None))
                ok = False
        if not isinstance(port, str):
            problems.append(Problem("bad_edge", "source_port must be a string", edge_index=i, field="source_port"))
            ok = False
        if ok:
            edges.append(Edge(source=cast(str, src), target=cast(str, tgt), source_port=port, index=i))
    if not nodes and not any(p.code == "no_nodes" for p in problems):
        problems.append(Problem("no_nodes", "the definition has no nodes", field="nodes"))
    return Definition(nodes=nodes, edges=edges, schema_version=SCHEMA_VERSION), problems


def load_definition(data: Any) -> Definition:
    """Parse or raise DefinitionError (shape problems only; see validation for the full check)."""
    definition, problems = parse_definition(data)
    if problems or definition is None:
        raise DefinitionError(problems)
    return definition
