"""Analytics over a time window, computed in Postgres (the dashboard's and the ops views' numbers).

Sources: the ``executions`` index (one row per execution, status converged with Temporal) and
``node_runs`` (one row per node of a finished root execution, written by the worker). Every query is
tenant-scoped and windowed on the execution's start time, so it reads one range of the covering
indexes of migration 0012 (``bench/analytics.py`` measures them on 100,000 executions).

Two paths: whole-hour windows and buckets read hourly rollups kept exact by triggers (migration 0012):
the window starts at the hour, counts and sums are exact, percentiles come from a log histogram (within
a bucket width, 30%, of the exact value). ``exact=True`` (or a sub-hour window or bucket) reads the raw
rows: the exact start and exact percentiles, at a cost that grows with the window.

Conventions (stated in the API docs too):
- the window selects executions by ``started_at >= now - window``; ``running`` counts executions running
  now whatever their start; ``cancelled`` includes ``terminated``; ``failed`` includes ``timed_out``;
- success rate = completed / finished (None when nothing finished); durations are of finished executions;
- node statistics exclude nodes a redrive reused (nothing ran), counted apart as ``reused``.

No HTTP types here: bad parameters raise :class:`AnalyticsError`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from wfo.models import Execution, ExecutionStatus, NodeRun, WorkflowVersion, utcnow
from wfo.models_analytics import (
    HIST_BASE,
    HIST_BUCKETS,
    HIST_COLUMNS,
    execution_rollup,
    node_error_rollup,
    node_rollup,
)
from wfo.models_events import Trigger, TriggerKind
from workflows.definition import parse_duration

MAX_WINDOW = timedelta(days=366)
MAX_BUCKETS = 2000
RECENT = 5
TOP_NODES = 10
PERCENTILES = (0.5, 0.95, 0.99)

_FOLD = {
    ExecutionStatus.terminated.value: ExecutionStatus.cancelled.value,
    ExecutionStatus.timed_out.value: ExecutionStatus.failed.value,
}
FINISHED = [ExecutionStatus.completed.value, ExecutionStatus.failed.value, ExecutionStatus.cancelled.value,
            ExecutionStatus.terminated.value, ExecutionStatus.timed_out.value]


class AnalyticsError(ValueError):
    """A parameter that can't be used; ``field`` names it."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Window:
    since: datetime
    until: datetime
    length: timedelta
    """The requested window (``until - since`` is up to an hour more when aligned)."""
    bucket: timedelta
    rollup: bool = False
    """Read the hourly rollups (``since`` aligned down to the hour; percentiles from the log histogram).
    Otherwise read the raw rows (exact ``since`` and exact percentiles; cost grows with the window)."""


HOUR = timedelta(hours=1)


def window(window_text: str = "P7D", bucket_text: str = "PT1H", now: datetime | None = None,
           exact: bool = False) -> Window:
    """Parse ``window``/``bucket`` (ISO-8601 durations); refuses empty, too long or too many buckets.
    Whole-hour windows and buckets read the hourly rollups unless ``exact``."""
    out = {}
    for field, text in (("window", window_text), ("bucket", bucket_text)):
        try:
            out[field] = parse_duration(text)
        except ValueError as err:
            raise AnalyticsError(field, str(err)) from None
        if out[field] <= timedelta(0):
            raise AnalyticsError(field, "must be longer than zero")
    if out["window"] > MAX_WINDOW:
        raise AnalyticsError("window", f"at most {MAX_WINDOW.days} days")
    if out["window"] / out["bucket"] > MAX_BUCKETS:
        raise AnalyticsError("bucket", f"{window_text} / {bucket_text} is more than {MAX_BUCKETS} buckets; "
                                       "choose a larger bucket")
    until = now or utcnow()
    rollup = not exact and out["window"] % HOUR == timedelta(0) and out["bucket"] % HOUR == timedelta(0)
    since = until - out["window"]
    if rollup:
        since = since.replace(minute=0, second=0, microsecond=0)
    return Window(since=since, until=until, length=out["window"], bucket=out["bucket"], rollup=rollup)


_H = HIST_COLUMNS
ZERO_UUID = uuid.UUID(int=0)
"""Rollup rows of executions without a stored workflow (ad hoc, or the workflow was deleted)."""


def hist_percentiles(hist: list[int], scale: float = 1.0) -> dict[str, float | None]:
    """p50/p95/p99 (ms * scale) from histogram counts, interpolated geometrically within the bucket holding
    the rank (the rank is percentile_cont's: p * (n - 1))."""
    n = sum(hist)
    if n <= 0:
        return {f"p{int(p * 100)}": None for p in PERCENTILES}
    out = {}
    for p in PERCENTILES:
        rank = p * (n - 1)
        seen = 0
        value = None
        for k, c in enumerate(hist):
            if c <= 0:
                continue
            if seen + c > rank:
                frac = min(1.0, max(0.0, (rank - seen + 0.5) / c))
                if k == 0:
                    value = frac
                else:
                    lo = HIST_BASE ** (k - 1)
                    value = lo * HIST_BASE ** frac
                break
            seen += c
        out[f"p{int(p * 100)}"] = None if value is None else round(value * scale, 6)
    return out


def _wf(value: Any) -> Any:
    return None if value == ZERO_UUID else value


def _rollup_conds(table, tenant_id: uuid.UUID, w: Window, workflow_id: uuid.UUID | None) -> list:
    conds = [table.c.tenant_id == tenant_id, table.c.hour >= w.since, table.c.hour < w.until]
    if workflow_id is not None:
        conds.append(table.c.workflow_id == workflow_id)
    return conds


def _duration_s():
    return sa.extract("epoch", col(Execution.completed_at) - col(Execution.started_at))


def _exec_conds(tenant_id: uuid.UUID, w: Window, workflow_id: uuid.UUID | None) -> list:
    conds = [col(Execution.tenant_id) == tenant_id, col(Execution.started_at) >= w.since,
             col(Execution.started_at) < w.until]
    if workflow_id is not None:
        conds.append(col(Execution.workflow_id) == workflow_id)
    return conds


def _node_conds(tenant_id: uuid.UUID, w: Window, workflow_id: uuid.UUID | None) -> list:
    conds = [col(NodeRun.tenant_id) == tenant_id, col(NodeRun.execution_started_at) >= w.since,
             col(NodeRun.execution_started_at) < w.until]
    if workflow_id is not None:
        conds.append(col(NodeRun.workflow_id) == workflow_id)
    return conds


def _percentiles(expr) -> Any:
    return sa.func.percentile_cont(postgresql.array(PERCENTILES)).within_group(expr)


def _pcts(values: list[float] | None, scale: float = 1.0) -> dict[str, float | None]:
    values = values or [None] * len(PERCENTILES)
    return {f"p{int(p * 100)}": (None if v is None else round(v * scale, 6)) for p, v in zip(PERCENTILES, values)}


async def _counts(session: AsyncSession, tenant_id: uuid.UUID, w: Window, workflow_id: uuid.UUID | None) -> dict:
    """Per folded status in the window, plus success rate, mean and percentile durations."""
    if w.rollup:
        return await _counts_rollup(session, tenant_id, w, workflow_id)
    finished = col(Execution.status).in_(FINISHED)
    by_status = (await session.exec(
        select(Execution.status, sa.func.count()).where(*_exec_conds(tenant_id, w, workflow_id))
        .group_by(Execution.status))).all()
    counts = {"running": 0, "completed": 0, "failed": 0, "cancelled": 0}
    total = sum(n for _, n in by_status)
    for st, n in by_status:
        st = _FOLD.get(st, st)
        if st in counts and st != "running":
            counts[st] += n
    agg = (await session.exec(
        select(sa.func.avg(_duration_s()).filter(finished), _percentiles(_duration_s()).filter(finished))
        .where(*_exec_conds(tenant_id, w, workflow_id)))).one()
    done = counts["completed"] + counts["failed"] + counts["cancelled"]
    return {"counts": counts, "finished": done, "total": total,
            "success_rate": (counts["completed"] / done) if done else None,
            "avg_duration_seconds": None if agg[0] is None else round(float(agg[0]), 3),
            "duration_seconds": _pcts(agg[1])}


async def _counts_rollup(session: AsyncSession, tenant_id: uuid.UUID, w: Window,
                         workflow_id: uuid.UUID | None) -> dict:
    t = execution_rollup
    rows = (await session.exec(
        select(t.c.status, sa.func.sum(t.c.n), sa.func.sum(t.c.finished), sa.func.sum(t.c.dur_sum),
               *(sa.func.sum(t.c[h]) for h in _H))
        .where(*_rollup_conds(t, tenant_id, w, workflow_id)).group_by(t.c.status))).all()
    counts = {"running": 0, "completed": 0, "failed": 0, "cancelled": 0}
    hist = [0] * HIST_BUCKETS
    total = finished_n = 0
    dur = 0.0
    for st, n, fin, dsum, *h in rows:
        total += int(n or 0)
        folded = _FOLD.get(st, st)
        if folded in counts and folded != "running":
            counts[folded] += int(n or 0)
        if st in FINISHED:
            finished_n += int(fin or 0)
            dur += float(dsum or 0)
            hist = [a + int(b or 0) for a, b in zip(hist, h)]
    done = counts["completed"] + counts["failed"] + counts["cancelled"]
    return {"counts": counts, "finished": done, "total": total,
            "success_rate": (counts["completed"] / done) if done else None,
            "avg_duration_seconds": round(dur / finished_n / 1000, 3) if finished_n else None,
            "duration_seconds": hist_percentiles(hist, 0.001)}


async def _running_now(session: AsyncSession, tenant_id: uuid.UUID, workflow_id: uuid.UUID | None) -> int:
    conds = [col(Execution.tenant_id) == tenant_id, col(Execution.status) == ExecutionStatus.running.value]
    if workflow_id is not None:
        conds.append(col(Execution.workflow_id) == workflow_id)
    return (await session.exec(select(sa.func.count()).select_from(Execution).where(*conds))).one()


async def _over_time(session: AsyncSession, tenant_id: uuid.UUID, w: Window,
                     workflow_id: uuid.UUID | None) -> list[dict[str, Any]]:
    """Executions started per bucket, by folded status; every bucket of the window is present."""
    origin = w.since
    if w.rollup:
        t = execution_rollup
        start = sa.func.date_bin(sa.literal(w.bucket, sa.Interval), t.c.hour,
                                 sa.literal(origin, sa.DateTime(timezone=True)))
        rows = (await session.exec(
            select(start, t.c.status, sa.func.sum(t.c.n)).where(*_rollup_conds(t, tenant_id, w, workflow_id))
            .group_by(start, t.c.status))).all()
    else:
        start = sa.func.date_bin(sa.literal(w.bucket, sa.Interval), col(Execution.started_at),
                                 sa.literal(origin, sa.DateTime(timezone=True)))
        rows = (await session.exec(
            select(start, Execution.status, sa.func.count()).where(*_exec_conds(tenant_id, w, workflow_id))
            .group_by(start, Execution.status))).all()
    span = w.until - w.since  # the requested window, or a little more when aligned to the hour
    n = int(span / w.bucket) + (1 if span % w.bucket else 0)
    buckets = [{"start": (origin + i * w.bucket).isoformat(), "completed": 0, "failed": 0, "cancelled": 0,
                "running": 0} for i in range(n)]
    for b_start, st, count in rows:
        i = int((b_start - origin) / w.bucket)
        st = _FOLD.get(st, st)
        if 0 <= i < n and st in buckets[i]:
            buckets[i][st] += int(count or 0)
    return buckets


async def _recent(session: AsyncSession, tenant_id: uuid.UUID, w: Window, workflow_id: uuid.UUID | None
                  ) -> dict[str, list[Execution]]:
    out: dict[str, list[Execution]] = {}
    for key, statuses in (("running", [ExecutionStatus.running.value]),
                          ("failed", [ExecutionStatus.failed.value, ExecutionStatus.timed_out.value]),
                          ("completed", [ExecutionStatus.completed.value])):
        conds = [col(Execution.tenant_id) == tenant_id, col(Execution.status).in_(statuses)]
        if key != "running":
            conds.append(col(Execution.started_at) >= w.since)
        if workflow_id is not None:
            conds.append(col(Execution.workflow_id) == workflow_id)
        out[key] = list((await session.exec(
            select(Execution).where(*conds).order_by(col(Execution.started_at).desc()).limit(RECENT))).all())
    return out


async def _scheduled(session: AsyncSession, tenant_id: uuid.UUID, workflow_id: uuid.UUID | None) -> int:
    conds = [col(Trigger.tenant_id) == tenant_id, col(Trigger.kind) == TriggerKind.schedule.value,
             col(Trigger.paused).is_(False)]
    if workflow_id is not None:
        conds.append(col(Trigger.workflow_id) == workflow_id)
    return (await session.exec(select(sa.func.count()).select_from(Trigger).where(*conds))).one()


async def summary(session: AsyncSession, tenant_id: uuid.UUID, w: Window,
                  workflow_id: uuid.UUID | None = None) -> dict[str, Any]:
    """The dashboard: counts, success rate, mean duration, executions over time, recent lists.
    ``recent`` holds Execution rows (the caller shapes them)."""
    c = await _counts(session, tenant_id, w, workflow_id)
    counts = dict(c["counts"])
    counts["running"] = await _running_now(session, tenant_id, workflow_id)
    counts["scheduled"] = await _scheduled(session, tenant_id, workflow_id)
    return {"counts": counts, "success_rate": c["success_rate"], "avg_duration_seconds": c["avg_duration_seconds"],
            "over_time": await _over_time(session, tenant_id, w, workflow_id),
            "recent": await _recent(session, tenant_id, w, workflow_id)}


# ---------------------------------------------------------------- nodes


async def node_stats(session: AsyncSession, tenant_id: uuid.UUID, w: Window,
                     workflow_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
    """Per (workflow, node) in the window: runs, failures, success rate, retries, duration percentiles
    (ms, over runs that ran), failures by error type. Sorted by failures, then retries, then runs."""
    if w.rollup:
        return await _node_stats_rollup(session, tenant_id, w, workflow_id)
    ran = col(NodeRun.reused).is_(False)
    failed = col(NodeRun.status) == "failed"
    conds = _node_conds(tenant_id, w, workflow_id)
    rows = (await session.exec(
        select(NodeRun.workflow_id, NodeRun.node_id, sa.func.max(NodeRun.node_type),
               sa.func.count().filter(ran), sa.func.count().filter(ran, col(NodeRun.status) == "completed"),
               sa.func.count().filter(ran, failed),
               sa.func.coalesce(sa.func.sum(sa.func.greatest(col(NodeRun.attempts) - 1, 0)).filter(ran), 0),
               sa.func.count().filter(ran, col(NodeRun.attempts) > 1),
               sa.func.count().filter(ran, col(NodeRun.attempts) > 1, col(NodeRun.status) == "completed"),
               sa.func.avg(NodeRun.duration_ms).filter(ran),
               _percentiles(NodeRun.duration_ms).filter(ran, col(NodeRun.duration_ms).is_not(None)),
               sa.func.sum(NodeRun.duration_ms).filter(ran),
               sa.func.count().filter(col(NodeRun.reused).is_(True)),
               sa.func.sum(sa.func.greatest(col(NodeRun.attempts), 1)).filter(ran))
        .where(*conds).group_by(NodeRun.workflow_id, NodeRun.node_id))).all()
    errors = (await session.exec(
        select(NodeRun.workflow_id, NodeRun.node_id, sa.func.coalesce(NodeRun.error_type, "Unknown"), sa.func.count())
        .where(*conds, ran, failed).group_by(NodeRun.workflow_id, NodeRun.node_id, NodeRun.error_type))).all()
    by_node: dict[tuple, dict[str, int]] = {}
    for wid, nid, etype, n in errors:
        by_node.setdefault((wid, nid), {})[etype] = n
    out = []
    for (wid, nid, ntype, runs, completed, nfailed, retries, retried, retried_ok, avg, pcts, total, reused,
         attempts) in rows:
        finished = completed + nfailed
        out.append({
            "workflow_id": wid, "node_id": nid, "node_type": ntype, "runs": runs, "completed": completed,
            "failed": nfailed, "success_rate": (completed / finished) if finished else None,
            "attempts": int(attempts or 0), "retries": int(retries), "retried_runs": retried,
            "retried_runs_succeeded": retried_ok,
            "avg_duration_ms": None if avg is None else round(float(avg), 1),
            "duration_ms": _pcts(pcts), "total_duration_ms": int(total or 0), "reused": reused,
            "failures_by_type": dict(sorted(by_node.get((wid, nid), {}).items(), key=lambda kv: -kv[1])),
        })
    return _sorted_nodes(out)


def _sorted_nodes(out: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out.sort(key=lambda n: (-n["failed"], -n["retries"], -n["runs"], str(n["workflow_id"]), n["node_id"]))
    return out


async def _node_stats_rollup(session: AsyncSession, tenant_id: uuid.UUID, w: Window,
                             workflow_id: uuid.UUID | None) -> list[dict[str, Any]]:
    t, e = node_rollup, node_error_rollup
    sums = [sa.func.sum(t.c[c]) for c in ("runs", "completed", "failed", "retries", "retried", "retried_ok",
                                          "dur_n", "dur_sum", "reused", "attempts")]
    rows = (await session.exec(
        select(t.c.workflow_id, t.c.node_id, sa.func.max(t.c.node_type), *sums, *(sa.func.sum(t.c[h]) for h in _H))
        .where(*_rollup_conds(t, tenant_id, w, workflow_id)).group_by(t.c.workflow_id, t.c.node_id))).all()
    errors = (await session.exec(
        select(e.c.workflow_id, e.c.node_id, e.c.error_type, sa.func.sum(e.c.n))
        .where(*_rollup_conds(e, tenant_id, w, workflow_id)).group_by(e.c.workflow_id, e.c.node_id, e.c.error_type)
    )).all()
    by_node: dict[tuple, dict[str, int]] = {}
    for wid, nid, etype, n in errors:
        if n:
            by_node.setdefault((wid, nid), {})[etype] = int(n)
    out = []
    for wid, nid, ntype, runs, completed, failed, retries, retried, retried_ok, dur_n, dur_sum, reused, attempts, \
            *hist in rows:
        runs, completed, failed = int(runs or 0), int(completed or 0), int(failed or 0)
        if runs == 0 and not reused:
            continue
        finished = completed + failed
        dur_n = int(dur_n or 0)
        out.append({
            "workflow_id": _wf(wid), "node_id": nid, "node_type": ntype, "runs": runs, "completed": completed,
            "failed": failed, "success_rate": (completed / finished) if finished else None,
            "attempts": int(attempts or 0), "retries": int(retries or 0), "retried_runs": int(retried or 0),
            "retried_runs_succeeded": int(retried_ok or 0),
            "avg_duration_ms": round(float(dur_sum) / dur_n, 1) if dur_n else None,
            "duration_ms": hist_percentiles([int(h or 0) for h in hist]), "total_duration_ms": int(dur_sum or 0),
            "reused": int(reused or 0),
            "failures_by_type": dict(sorted(by_node.get((wid, nid), {}).items(), key=lambda kv: -kv[1])),
            "_hist": [int(h or 0) for h in hist],
        })
    return _sorted_nodes(out)


async def workflow_analytics(session: AsyncSession, tenant_id: uuid.UUID, workflow_id: uuid.UUID,
                             w: Window) -> dict[str, Any]:
    """One workflow: executions and their outcome, duration percentiles, failures by error type, the nodes
    that fail and retry most, time waiting on approvals, executions over time."""
    c = await _counts(session, tenant_id, w, workflow_id)
    nodes = await node_stats(session, tenant_id, w, workflow_id)
    failures: dict[str, int] = {}
    for n in nodes:
        for etype, k in n["failures_by_type"].items():
            failures[etype] = failures.get(etype, 0) + k
    approvals = [n for n in nodes if n["node_type"] == "approval"]
    if w.rollup:
        hist = [sum(col_) for col_ in zip(*(n["_hist"] for n in approvals))] if approvals else []
        count = sum(hist)
        total_ms = sum(n["total_duration_ms"] for n in approvals)
        waits = (count, total_ms if count else None, (total_ms / count) if count else None, None)
        wait_pcts = hist_percentiles(hist, 0.001)
    else:
        waits = (await session.exec(
            select(sa.func.count(), sa.func.sum(NodeRun.duration_ms), sa.func.avg(NodeRun.duration_ms),
                   _percentiles(NodeRun.duration_ms))
            .where(*_node_conds(tenant_id, w, workflow_id), col(NodeRun.node_type) == "approval",
                   col(NodeRun.reused).is_(False), col(NodeRun.duration_ms).is_not(None)))).one()
        wait_pcts = _pcts(waits[3], 0.001)
    counts = dict(c["counts"])
    counts["running"] = await _running_now(session, tenant_id, workflow_id)
    return {
        "workflow_id": workflow_id, "window": {"since": w.since, "until": w.until},
        "executions": c["total"],
        "counts": counts, "success_rate": c["success_rate"], "avg_duration_seconds": c["avg_duration_seconds"],
        "duration_seconds": c["duration_seconds"],
        "failures_by_type": dict(sorted(failures.items(), key=lambda kv: -kv[1])),
        "top_failing_nodes": [_brief(n) for n in nodes if n["failed"]][:TOP_NODES],
        "top_retrying_nodes": [_brief(n) for n in sorted(nodes, key=lambda n: -n["retries"]) if n["retries"]][:TOP_NODES],
        "approval_wait": {
            "approvals": waits[0], "total_seconds": None if waits[1] is None else round(waits[1] / 1000, 3),
            "avg_seconds": None if waits[2] is None else round(float(waits[2]) / 1000, 3),
            **wait_pcts,
            "nodes": [n["node_id"] for n in approvals],
        },
        "nodes": [_public_node(n) for n in nodes],
        "over_time": await _over_time(session, tenant_id, w, workflow_id),
    }


def _public_node(n: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in n.items() if not k.startswith("_")}


def _brief(n: dict[str, Any]) -> dict[str, Any]:
    return {k: n[k] for k in ("workflow_id", "node_id", "node_type", "runs", "failed", "success_rate", "retries",
                              "failures_by_type")}


# ---------------------------------------------------------------- recommendations

MIN_RUNS = 3
"""Below this many runs in the window a node gets no recommendation (too little evidence)."""
FAILURE_RATE = 0.2
DOMINANT_SHARE = 0.5


def _fmt_s(ms: float | None) -> str:
    return "?" if ms is None else f"{ms / 1000:.3g} s"


def _days(w: Window) -> str:
    """The window in words: `7 days`, `1 hour`, `90 minutes`."""
    for unit, size in (("day", timedelta(days=1)), ("hour", timedelta(hours=1)), ("minute", timedelta(minutes=1))):
        n = w.length / size
        if n >= 1 and n == int(n):
            return f"{int(n)} {unit}" + ("s" if n != 1 else "")
    return f"{w.length.total_seconds():g} seconds"


async def _node_settings(session: AsyncSession, nodes: list[dict[str, Any]]) -> dict[tuple, dict[str, Any]]:
    """(workflow, node) -> the node's definition in the newest version of its workflow (timeout, retry)."""
    wids = {n["workflow_id"] for n in nodes if n["workflow_id"] is not None}
    if not wids:
        return {}
    newest = (select(WorkflowVersion.workflow_id, sa.func.max(WorkflowVersion.version).label("v"))
              .where(col(WorkflowVersion.workflow_id).in_(wids)).group_by(WorkflowVersion.workflow_id).subquery())
    rows = (await session.exec(
        select(WorkflowVersion.workflow_id, WorkflowVersion.definition)
        .join(newest, sa.and_(col(WorkflowVersion.workflow_id) == newest.c.workflow_id,
                              col(WorkflowVersion.version) == newest.c.v)))).all()
    out: dict[tuple, dict[str, Any]] = {}
    for wid, definition in rows:
        for node in (definition or {}).get("nodes") or []:
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                out[(wid, node["id"])] = node
    return out


async def recommendations(session: AsyncSession, tenant_id: uuid.UUID, w: Window,
                          workflow_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
    """Rules over the node statistics, each stated with the numbers that triggered it:

    - ``timeout_below_duration``: a node with a configured timeout failed with a timeout, and its p95
      duration (all attempts of a run) is at or above that timeout;
    - ``retries_never_succeed``: a node retried in at least MIN_RUNS runs and no retried run completed;
    - ``high_failure_rate``: a node failed in at least FAILURE_RATE of its runs;
    - ``dominant_node``: one node accounts for more than DOMINANT_SHARE of its workflow's node time.
    """
    nodes = await node_stats(session, tenant_id, w, workflow_id)
    settings = await _node_settings(session, nodes)
    span = _days(w)
    recs: list[dict[str, Any]] = []

    def add(rule: str, n: dict[str, Any], severity: str, message: str, **evidence: Any) -> None:
        recs.append({"rule": rule, "severity": severity, "workflow_id": n["workflow_id"], "node_id": n["node_id"],
                     "node_type": n["node_type"], "message": message, "evidence": evidence})

    totals: dict[Any, int] = {}
    for n in nodes:
        if n["node_type"] not in ("approval", "wait"):  # waiting on people or timers is not work to optimise
            totals[n["workflow_id"]] = totals.get(n["workflow_id"], 0) + n["total_duration_ms"]
    for n in nodes:
        if n["runs"] < MIN_RUNS:
            continue
        node_def = settings.get((n["workflow_id"], n["node_id"]), {})
        timeouts = sum(k for t, k in n["failures_by_type"].items() if "timeout" in t.lower())
        p95 = n["duration_ms"]["p95"]
        timeout_text = node_def.get("timeout")
        limit_ms = None
        if isinstance(timeout_text, str):
            try:
                limit_ms = parse_duration(timeout_text) / timedelta(milliseconds=1)
            except ValueError:
                limit_ms = None
        if timeouts and limit_ms is not None and p95 is not None and p95 >= limit_ms:
            share = timeouts / max(1, n["attempts"])
            add("timeout_below_duration", n, "high",
                f"node {n['node_id']} failed {share:.0%} of attempts with a timeout in {span}: its timeout "
                f"{timeout_text} is below its p95 duration {_fmt_s(p95)} (a run, all attempts); raise the timeout "
                "or make the call faster",
                timeout=timeout_text, timeout_failures=timeouts, attempts=n["attempts"], p95_ms=p95)
        if n["retried_runs"] >= MIN_RUNS and n["retried_runs_succeeded"] == 0:
            types = ", ".join(n["failures_by_type"]) or "unknown errors"
            add("retries_never_succeed", n, "medium",
                f"node {n['node_id']} was retried in {n['retried_runs']} runs in {span} ({n['retries']} retries) and "
                f"no retried run succeeded (failures: {types}); retrying does not help: mark these errors "
                "non-retryable or fix their cause",
                retried_runs=n["retried_runs"], retries=n["retries"], failures_by_type=n["failures_by_type"])
        finished = n["completed"] + n["failed"]
        if finished and n["failed"] / finished >= FAILURE_RATE:
            top = next(iter(n["failures_by_type"]), "unknown")
            add("high_failure_rate", n, "high" if n["failed"] / finished >= 0.5 else "medium",
                f"node {n['node_id']} failed {n['failed']} of {finished} runs ({n['failed'] / finished:.0%}) in "
                f"{span}, mostly with {top}",
                failed=n["failed"], runs=finished, failures_by_type=n["failures_by_type"])
        total = totals.get(n["workflow_id"], 0)
        if (total and n["node_type"] not in ("approval", "wait")
                and n["total_duration_ms"] / total > DOMINANT_SHARE
                and sum(1 for m in nodes if m["workflow_id"] == n["workflow_id"]) > 1 and n["total_duration_ms"] >= 1000):
            add("dominant_node", n, "low",
                f"node {n['node_id']} accounts for {n['total_duration_ms'] / total:.0%} of the time spent in "
                f"the nodes of its workflow in {span} (p50 {_fmt_s(n['duration_ms']['p50'])}, p95 "
                f"{_fmt_s(n['duration_ms']['p95'])}); it is where speeding up pays",
                share=round(n["total_duration_ms"] / total, 3), p50_ms=n["duration_ms"]["p50"],
                p95_ms=n["duration_ms"]["p95"])
    order = {"high": 0, "medium": 1, "low": 2}
    recs.sort(key=lambda r: (order[r["severity"]], r["rule"], str(r["workflow_id"]), r["node_id"]))
    return recs
