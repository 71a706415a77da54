"""Graph analysis of a definition: reachability, loops, parallel/join pairing. Pure code."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from workflows.definition import Definition


@dataclass
class GraphInfo:
    start: str | None
    starts: list[str]
    reachable: set[str]
    join_parallel: dict[str, str]
    """join node id -> its parallel node id."""
    join_errors: dict[str, str] = field(default_factory=dict)
    """join node id -> why it has no parallel."""
    loop_body: dict[str, set[str]] = field(default_factory=dict)
    """loop node id -> nodes reachable from its `body` port before coming back to it."""
    bad_cycles: list[list[str]] = field(default_factory=list)
    """Cycles that do not pass through a `loop` node (each as a list of node ids)."""

    def is_back_edge(self, loop_id: str, source: str) -> bool:
        """An edge source -> loop comes from the loop's own body (continue), not from outside (enter)."""
        return source in self.loop_body.get(loop_id, set())


def _successors(defn: Definition) -> dict[str, list[str]]:
    succ: dict[str, list[str]] = defaultdict(list)
    for e in defn.edges:
        succ[e.source].append(e.target)
    return succ


def _reach(succ: dict[str, list[str]], roots: list[str], stop: str | None = None) -> set[str]:
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        n = stack.pop()
        if n in seen or n == stop:
            continue
        seen.add(n)
        stack.extend(succ.get(n, ()))
    return seen


def _cycles_without(defn: Definition, excluded: set[str]) -> list[list[str]]:
    """Strongly connected components (size > 1, or self-loops) of the graph minus `excluded` nodes."""
    succ: dict[str, list[str]] = defaultdict(list)
    for e in defn.edges:
        if e.source not in excluded and e.target not in excluded:
            succ[e.source].append(e.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[list[str]] = []
    counter = [0]
    for root in defn.nodes:
        if root in excluded or root in index:
            continue
        # iterative Tarjan
        work = [(root, iter(succ.get(root, ())))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, it = work[-1]
            advanced = False
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(succ.get(nxt, ()))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                if len(comp) > 1 or node in succ.get(node, ()):
                    result.append(sorted(comp))
    return result


def _pair_joins(defn: Definition, succ: dict[str, list[str]]) -> tuple[dict[str, str], dict[str, str]]:
    pairs: dict[str, str] = {}
    errors: dict[str, str] = {}
    parallels = [n.id for n in defn.nodes.values() if n.type == "parallel"]
    joins = [n.id for n in defn.nodes.values() if n.type == "join"]
    found_for: dict[str, set[str]] = defaultdict(set)  # join -> parallels whose branches meet there first
    for p in parallels:
        seen: set[tuple[str, int]] = set()
        stack = [(t, 0) for t in succ.get(p, ())]
        while stack:
            node, depth = stack.pop()
            if (node, depth) in seen or depth > 64 or node == p:
                continue
            seen.add((node, depth))
            ntype = defn.nodes[node].type
            if ntype == "join":
                if depth == 0:
                    found_for[node].add(p)
                    continue
                depth -= 1
            elif ntype == "parallel":
                depth += 1
            stack.extend((t, depth) for t in succ.get(node, ()))
    for j in joins:
        explicit = defn.nodes[j].config.get("parallel")
        if explicit is not None:
            if not isinstance(explicit, str) or explicit not in defn.nodes:
                errors[j] = f"config.parallel names '{explicit}', which is not a node of this definition"
            elif defn.nodes[explicit].type != "parallel":
                errors[j] = f"config.parallel names '{explicit}', which is a '{defn.nodes[explicit].type}' node, " \
                            "not a 'parallel'"
            else:
                pairs[j] = explicit
            continue
        candidates = found_for.get(j, set())
        if len(candidates) == 1:
            pairs[j] = next(iter(candidates))
        elif not candidates:
            errors[j] = "this join has no parallel: no 'parallel' node's branches lead to it"
        else:
            errors[j] = ("the branches of several parallels meet here (" + ", ".join(sorted(candidates)) +
                         "); name the one it joins in config.parallel")
    return pairs, errors


def analyze(defn: Definition) -> GraphInfo:
    succ = _successors(defn)
    starts = [n.id for n in defn.nodes.values() if n.type == "start"]
    start = starts[0] if len(starts) == 1 else None
    reachable = _reach(succ, starts)
    loops = [n.id for n in defn.nodes.values() if n.type == "loop"]
    loop_body: dict[str, set[str]] = {}
    for lid in loops:
        body_roots = [e.target for e in defn.outgoing(lid, "body")]
        loop_body[lid] = _reach(succ, body_roots, stop=lid)
    pairs, errors = _pair_joins(defn, succ)
    return GraphInfo(
        start=start, starts=starts, reachable=reachable, join_parallel=pairs, join_errors=errors,
        loop_body=loop_body, bad_cycles=_cycles_without(defn, set(loops)),
    )
