"""Redrive: a new run of a failed (or cancelled, terminated, timed-out) execution that reuses the outputs of
the nodes that completed and runs again from the node(s) that failed or never finished.

How: the original run answers the interpreter's ``resume_data`` query (its completed nodes with output,
port and activation count; a closed run answers it by replay on a worker). The new run gets them as
``ExecutionInput.resume``: a listed node's activation completes at once with the saved output on the
saved port, nothing runs, so side effects of completed nodes are not repeated.

What is reused: nodes that completed in exactly one activation (a node of a loop body runs again, as does
anything whose port is unknown and matters). The start node is not reused, so an edited input is what the
new run's `input` is. A newer version is allowed only when the graph up to the failure is the same: every
reused node has the same type and config, and the same outgoing edges; otherwise the redrive is refused
with the first difference (edges out of the start node and into reused nodes count too). The new run is linked to the original: ``executions.redrive_of``, the Temporal
memo ``redrive_of``, and ``execution.redrive_of`` in the expression context.

No HTTP types here: refusals are :class:`RedriveRefused` (the route answers 409) or
:class:`RedriveUnavailable` (503).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from workflows.components import BUILTINS, DEFAULT_PORT
from workflows.types import RESUME_QUERY

REDRIVABLE = {"failed", "cancelled", "terminated", "timed_out"}
NEVER_REUSED = {"start", "end", "terminate", "loop"}
QUERY_TIMEOUT_S = 10.0
UNSET: Any = object()


class RedriveRefused(Exception):
    """The redrive can't be done; ``reason`` says why (shown to the user as is)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class RedriveUnavailable(Exception):
    """Temporal (or a worker to answer the query) is not reachable now: try again later."""


@dataclass
class RedrivePlan:
    completed: dict[str, dict[str, Any]]
    """node id -> {"output", "port"}: what the new run reuses."""
    rerun: list[str]
    """Nodes of the original run that did not complete (failed, cancelled, running): they run again."""
    version: int
    definition: dict[str, Any]


def check_redrivable(status: str, workflow_id: Any) -> None:
    if status == "running":
        raise RedriveRefused("the execution is still running: cancel it first, or wait for it to fail")
    if status == "completed":
        raise RedriveRefused("the execution completed: there is nothing to redrive (use retry to run it again)")
    if status not in REDRIVABLE:
        raise RedriveRefused(f"an execution that is {status} cannot be redriven")
    if workflow_id is None:
        raise RedriveRefused("the execution has no stored workflow (ad-hoc run): nothing to redrive it with")


async def resume_data(client: Client, execution_id: str) -> dict[str, Any]:
    """The original run's completed nodes (the interpreter's `resume_data` query)."""
    try:
        return await asyncio.wait_for(client.get_workflow_handle(execution_id).query(RESUME_QUERY), QUERY_TIMEOUT_S)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise RedriveRefused("the execution's history is no longer in the workflow engine (past retention): "
                                 "its completed outputs are gone; use retry instead") from None
        if exc.status == RPCStatusCode.INVALID_ARGUMENT and "query" in str(exc).lower():
            raise RedriveRefused("the execution was run by a version of the engine that cannot tell its completed "
                                 "nodes; use retry instead") from None
        raise RedriveUnavailable(f"workflow engine error: {exc.status.name if exc.status else exc}") from None
    except (TimeoutError, asyncio.TimeoutError):
        raise RedriveUnavailable("no worker answered in time (is a worker running?)") from None
    except Exception as exc:  # noqa: BLE001 - e.g. the query failed on the worker
        raise RedriveUnavailable(f"could not read the execution's completed nodes: {type(exc).__name__}") from None


def _nodes(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["id"]: n for n in definition.get("nodes") or [] if isinstance(n, dict) and isinstance(n.get("id"), str)}


def _edges_touching(definition: dict[str, Any], sources: set[str], targets: set[str]) -> set[tuple[str, str, str]]:
    """Edges leaving one of ``sources`` or entering one of ``targets``, as (source, port, target)."""
    out = set()
    for e in definition.get("edges") or []:
        if isinstance(e, dict) and (e.get("source") in sources or e.get("target") in targets):
            port = e.get("source_port") or e.get("sourceHandle") or DEFAULT_PORT
            out.add((e["source"], port, e.get("target")))
    return out


def _canon(value: Any) -> str:
    return json.dumps(value if value is not None else {}, sort_keys=True, default=str)


def graph_difference(old: dict[str, Any], new: dict[str, Any], reused: set[str], rerun: list[str]) -> str | None:
    """Why ``new`` can't take over from ``old`` with ``reused`` nodes done (None: it can)."""
    old_nodes, new_nodes = _nodes(old), _nodes(new)
    for nid in sorted(reused):
        if nid not in new_nodes:
            return f"node '{nid}' completed in the original run but is not in the new version"
        a, b = old_nodes.get(nid, {}), new_nodes[nid]
        if a.get("type") != b.get("type"):
            return f"node '{nid}' changed type ({a.get('type')} -> {b.get('type')}) and its output would be reused"
        if _canon(a.get("config")) != _canon(b.get("config")):
            return f"node '{nid}' changed its config and its output would be reused"
    starts = {nid for nid, n in old_nodes.items() if n.get("type") == "start"}
    starts |= {nid for nid, n in new_nodes.items() if n.get("type") == "start"}
    old_edges = _edges_touching(old, reused | starts, reused)
    new_edges = _edges_touching(new, reused | starts, reused)
    for src, port, tgt in sorted(old_edges - new_edges):
        return f"edge {src}:{port} -> {tgt} (from the completed part of the graph) is not in the new version"
    for src, port, tgt in sorted(new_edges - old_edges):
        return f"edge {src}:{port} -> {tgt} is new in the completed part of the graph"
    for nid in rerun:
        if nid not in new_nodes:
            return f"node '{nid}', where the original run stopped, is not in the new version"
    return None


def plan(data: dict[str, Any], status_nodes: dict[str, Any] | None, old_definition: dict[str, Any],
         old_version: int, new_definition: dict[str, Any] | None = None,
         new_version: int | None = None) -> RedrivePlan:
    """What to reuse and what runs again; RedriveRefused when the newer version changed the done part."""
    completed: dict[str, dict[str, Any]] = {}
    for nid, info in (data.get("nodes") or {}).items():
        ntype = info.get("type")
        if ntype in NEVER_REUSED or info.get("activations") != 1:
            continue
        port = info.get("port")
        if port is None:
            spec = BUILTINS.get(ntype)
            if spec is not None and len(spec.ports) != 1:
                continue  # a branching node whose port was not recorded: evaluate it again
            port = DEFAULT_PORT
        completed[nid] = {"output": info.get("output"), "port": port}
    rerun = sorted(nid for nid, st in (status_nodes or {}).items()
                   if (st or {}).get("status") in ("failed", "cancelled", "running"))
    definition, version = old_definition, old_version
    if new_definition is not None and new_version is not None and new_version != old_version:
        why = graph_difference(old_definition, new_definition, set(completed), rerun)
        if why:
            raise RedriveRefused(f"version {new_version} cannot take over from version {old_version}: {why}")
        definition, version = new_definition, new_version
    return RedrivePlan(completed=completed, rerun=rerun, version=version, definition=definition)
