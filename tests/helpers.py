"""Small builders shared by tests."""

from __future__ import annotations

from typing import Any


def defn(nodes: list[dict[str, Any]], edges: list[str | tuple]) -> dict[str, Any]:
    """Build a definition. Edges: "a->b", "a:port->b" or (source, port, target)."""
    out = []
    for e in edges:
        if isinstance(e, tuple):
            src, port, tgt = e
        else:
            left, tgt = e.split("->")
            src, _, port = left.partition(":")
            port = port or "out"
        out.append({"source": src.strip(), "source_port": port.strip(), "target": tgt.strip()})
    return {"schema_version": 1, "nodes": nodes, "edges": out}


def node(id: str, type: str, **config: Any) -> dict[str, Any]:
    extra = {k: config.pop(k) for k in ("retry", "timeout", "name") if k in config}
    return {"id": id, "type": type, "config": config, **extra}


_SAMPLE_RE = r'(\{(?:[^"}]|"[^"]*")*\})?\s+([0-9.e+-]+|NaN|[+-]Inf)$'


def prom_sample(text: str, name: str, labels: str = "") -> float:
    """Sum of the Prometheus samples of `name` whose labels include every `k="v"` pair of `labels`."""
    import re

    wanted = re.findall(r'\w+="[^"]*"', labels)
    total = 0.0
    for m in re.finditer("^" + re.escape(name) + _SAMPLE_RE, text, re.M):
        if all(w in (m.group(1) or "") for w in wanted):
            total += float(m.group(2))
    return total


async def history_identities(handle: Any, *attrs: str) -> list[str]:
    """The worker identity on each event of `handle`'s history that has one of `attrs` (for example
    "workflow_task_started_event_attributes"), in history order; one read of the history."""
    return [getattr(e, a).identity async for e in handle.fetch_history_events() for a in attrs if e.HasField(a)]
