"""Pure data components: specs and the deterministic functions that compute them.

Layer 0 (imports nothing of the project outside `workflows/`). Every function here is a pure function
of the node's config, the execution context and the `EvalEnv` (workflow time, workflow randomness): no
I/O, no clock, no global randomness, so it runs inline in the workflow and replays identically. The
engine dispatches here from `compute_pure` (through the `wfo.evaluate` activity instead when a node reads
a stored large payload or its output is too large for history).

Invariants:
- Config fields listed in a spec's `bare_expressions` are JSONata evaluated against the context; every
  other field is rendered as a `{{ }}` template (except `template_skip` fields, used literally).
- Work is bounded: inputs come from history (at most the payload threshold inline), templates have a loop
  budget and an output cap, decompression and parsing have byte caps. A bad value fails the node with a
  `DataError` naming the node type and field (its `error` port can handle it).
- Third-party libraries used here are pure Python (or stdlib C code) and are passed through the workflow
  sandbox (`SANDBOX_PASSTHROUGH`).
"""

from __future__ import annotations

import base64
import binascii
import calendar
import csv
import gzip
import hashlib
import io
import json
import math
import re
import uuid
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import bs4
import defusedxml.ElementTree as SafeET
import jinja2
import markdown as markdown_lib
import markdownify
import soupsieve
from defusedxml import DefusedXmlException
from jinja2 import nodes as jinja_nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from markdown.extensions.extra import ExtraExtension
from markdown.extensions.sane_lists import SaneListExtension

from workflows.components import ComponentSpec
from workflows.expressions import EvalEnv, evaluate, render

SANDBOX_PASSTHROUGH: tuple[str, ...] = (
    "bs4", "soupsieve", "defusedxml", "jinja2", "markupsafe", "markdown", "markdownify",
)
"""Modules this file uses inside the workflow; the worker passes them through the sandbox."""

MAX_TEMPLATE_STEPS = 500_000
"""Steps (loop iterations, calls, operators, concatenations) one `template.render` may take in all."""
INLINE_TEMPLATE_STEPS = 20_000
"""Steps a render may take inside a workflow task (well under a second even on a loaded machine); a longer
render is redone in the `wfo.evaluate` activity with `MAX_TEMPLATE_STEPS`."""
MAX_TEMPLATE_OUTPUT = 1_000_000
MAX_DECOMPRESSED = 50 * 1024 * 1024
MAX_ZIP_ENTRIES = 1000
MAX_PARSE_BYTES = 20 * 1024 * 1024

_MISSING = object()


INLINE_MAX_TEXT = {"csv.parse": 64 * 1024, "xml.parse": 64 * 1024, "html.extract": 16 * 1024, "markdown": 8 * 1024}
"""Characters of text a parsing component handles inside a workflow task; above, the engine runs it in the
`wfo.evaluate` activity, so no workflow task nears the deadlock detector's 2 s. Measured on a loaded 2-core
machine at the limit: csv ~60-80 ms, xml ~115 ms, html.extract ~130 ms, markdown ~200 ms.
These limits (and `INLINE_MAX_BYTES`, `INLINE_TEMPLATE_STEPS`) decide which commands a workflow emits: change
them only behind `workflow.patched` (tests/engine/histories/replay-data_components.json catches it)."""
INLINE_MAX_BYTES = 1024 * 1024
"""Decompressed bytes produced inside a workflow task; above, the node moves to the `wfo.evaluate` activity."""


class RunInActivity(Exception):
    """Raised only inline: this node has too much work for a workflow task; compute it in an activity."""


class DataError(Exception):
    """A data component could not compute its output from this input (the node fails; `error` port)."""

    def __init__(self, message: str, type: str = "DataError"):
        super().__init__(message)
        self.message = message
        self.type = type


# ---------------------------------------------------------------- helpers


def canonical(value: Any) -> str:
    """A JSON text equal for equal values (keys sorted): used for grouping, dedupe and joins."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def get_path(value: Any, path: str) -> Any:
    """`a.b.0.c` inside `value` (list indexes as numbers); `_MISSING` when absent."""
    cur = value
    if path == "":
        return cur
    for part in path.split("."):
        if isinstance(cur, Mapping):
            if part not in cur:
                return _MISSING
            cur = cur[part]
        elif isinstance(cur, list) and part.lstrip("-").isdigit():
            i = int(part)
            if not -len(cur) <= i < len(cur):
                return _MISSING
            cur = cur[i]
        else:
            return _MISSING
    return cur


def _value(value: Any) -> Any:
    return None if value is _MISSING else value


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _type_rank(v: Any) -> tuple:
    if isinstance(v, bool):
        return (1, v)
    if isinstance(v, (int, float)):
        return (2, v)
    if isinstance(v, str):
        return (3, v)
    return (4, canonical(v))


def _sort_key(v: Any, nulls_last: bool, descending: bool) -> tuple:
    """A total order over JSON values: by type (booleans, numbers, strings, the rest), then value."""
    if v is None or v is _MISSING:
        rank = 1 if nulls_last else -1
        return (-rank if descending else rank,)
    return (0,) + _type_rank(v)


def _number(value: Any, what: str) -> float | int | None:
    if value is None or value is _MISSING:
        return None
    if isinstance(value, bool):
        raise DataError(f"{what} is a boolean, not a number")
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            return float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            pass
    raise DataError(f"{what} is {json.dumps(value, default=str)[:60]}, not a number")


def _b64decode(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise DataError(f"{what} must be a base64 string, got {type(text).__name__}")
    try:
        return base64.b64decode(text.strip(), validate=False)
    except (binascii.Error, ValueError):
        raise DataError(f"{what} is not valid base64") from None


def _text_or_json(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _to_bytes(value: Any, encoding: str, what: str) -> bytes:
    if encoding == "base64":
        return _b64decode(value, what)
    return _text_or_json(value).encode("utf-8")


def _from_bytes(data: bytes, encoding: str) -> tuple[str, str]:
    """(text, encoding used): `auto` gives UTF-8 text when the bytes are UTF-8 without NULs, else base64."""
    if encoding in ("utf8", "auto"):
        try:
            text = data.decode("utf-8")
            if encoding == "utf8" or "\x00" not in text:  # NUL bytes: binary, even when valid UTF-8
                return text, "utf8"
        except UnicodeDecodeError:
            if encoding == "utf8":
                raise DataError("the data is not UTF-8 text; use output_encoding 'base64'") from None
    return base64.b64encode(data).decode("ascii"), "base64"


def _str(value: Any, what: str) -> str:
    if value is None:
        raise DataError(f"{what} is missing")
    if not isinstance(value, str):
        raise DataError(f"{what} must be a string, got {type(value).__name__}")
    return value


# ---------------------------------------------------------------- list operations


def op_merge(cfg: dict[str, Any], env: EvalEnv) -> Any:
    raw = cfg.get("inputs")
    if isinstance(raw, Mapping):  # a join's output: one entry per branch, in branch order
        inputs = [_as_list(v) for v in raw.values()]
    elif isinstance(raw, list) and all(isinstance(x, list) or x is None for x in raw):
        inputs = [_as_list(x) for x in raw]
    else:
        raise DataError("merge: 'inputs' must evaluate to a join's output or an object of lists, e.g. "
                        "`{'left': nodes.a, 'right': nodes.b}` (a JSONata array constructor flattens lists), got a "
                        f"{type(raw).__name__}")
    mode = cfg.get("mode") or "append"
    if mode == "append":
        return [item for lst in inputs for item in lst]
    if not inputs:
        return []
    prefer = cfg.get("prefer") or "last"
    if mode == "by_position":
        n = max(map(len, inputs)) if cfg.get("include_unpaired") else min(map(len, inputs))
        out = []
        for i in range(n):
            merged: dict[str, Any] = {}
            for k, lst in enumerate(inputs):
                if i < len(lst):
                    merged = _combine(merged, lst[i], prefer, f"inputs[{k}][{i}]")
            out.append(merged)
        return out
    # by_key: fold left, each step a join of the result so far with the next input
    left_key = cfg.get("left_key") or cfg.get("key")
    right_key = cfg.get("right_key") or cfg.get("key")
    if not left_key or not right_key:
        raise DataError("merge: mode 'by_key' needs 'key' (or 'left_key' and 'right_key')")
    how = cfg.get("join") or "inner"
    first_only = cfg.get("multiple") == "first"
    result = inputs[0]
    for k, right in enumerate(inputs[1:], start=1):
        index: dict[str, list[int]] = {}
        for j, item in enumerate(right):
            key = get_path(item, right_key)
            if key is not _MISSING and key is not None:
                index.setdefault(canonical(key), []).append(j)
        used: set[int] = set()
        joined: list[Any] = []
        for i, item in enumerate(result):
            key = get_path(item, left_key)
            matches = index.get(canonical(key), []) if key is not _MISSING and key is not None else []
            if first_only:
                matches = matches[:1]
            for j in matches:
                used.add(j)
                joined.append(_combine(_combine({}, item, prefer, f"inputs[0][{i}]"), right[j], prefer,
                                       f"inputs[{k}][{j}]"))
            if not matches and how in ("left", "outer"):
                joined.append(item)
        if how in ("right", "outer"):
            joined.extend(item for j, item in enumerate(right) if j not in used)
        result = joined
    return result


def _combine(acc: dict[str, Any], item: Any, prefer: str, where: str) -> dict[str, Any]:
    if not isinstance(item, Mapping):
        raise DataError(f"merge: {where} is a {type(item).__name__}; merging by key or position needs objects")
    if prefer == "first":
        return {**item, **acc}
    return {**acc, **item}


def op_aggregate(cfg: dict[str, Any], env: EvalEnv) -> Any:
    items = _as_list(cfg.get("items"))
    if (cfg.get("mode") or "fields") == "all":
        return {cfg.get("as") or "data": items}
    fields = cfg.get("fields") or []
    if not fields:
        raise DataError("aggregate: mode 'fields' needs at least one entry in 'fields'")
    keep_missing = bool(cfg.get("keep_missing"))
    out: dict[str, Any] = {}
    for f in fields:
        path = f["field"] if isinstance(f, Mapping) else str(f)
        name = (f.get("as") if isinstance(f, Mapping) else None) or path
        values: list[Any] = []
        for item in items:
            v = get_path(item, path)
            if v is _MISSING or v is None:
                if keep_missing:
                    values.append(None)
                continue
            if isinstance(v, list) and isinstance(f, Mapping) and f.get("flatten"):
                values.extend(v)
            else:
                values.append(v)
        if isinstance(f, Mapping) and f.get("unique"):
            seen: set[str] = set()
            unique = []
            for v in values:
                if canonical(v) not in seen:
                    seen.add(canonical(v))
                    unique.append(v)
            values = unique
        out[name] = values
    return out


def op_sort(cfg: dict[str, Any], env: EvalEnv) -> Any:
    items = _as_list(cfg.get("items"))
    mode = cfg.get("mode") or "fields"
    if mode == "reverse":
        return items[::-1]
    if mode == "random":  # Fisher-Yates with the workflow's randomness: the same on every replay
        out = list(items)
        for i in range(len(out) - 1, 0, -1):
            j = int(env.random() * (i + 1))
            out[i], out[j] = out[j], out[i]
        return out
    nulls_last = (cfg.get("nulls") or "last") == "last"
    by = cfg.get("by") or [{"field": "", "order": "asc"}]
    out = list(items)
    for spec in reversed(by):  # stable sorts, least significant key first
        path = spec.get("field", "")
        desc = spec.get("order") == "desc"
        fold = spec.get("case_insensitive")

        def key(item: Any, path=path, desc=desc, fold=fold) -> tuple:
            v = get_path(item, path)
            if fold and isinstance(v, str):
                v = v.casefold()
            return _sort_key(v, nulls_last, desc)

        out.sort(key=key, reverse=desc)
    return out


def op_limit(cfg: dict[str, Any], env: EvalEnv) -> Any:
    items = _as_list(cfg.get("items"))
    n = int(cfg.get("max_items", 1))
    if n < 0:
        raise DataError("limit: 'max_items' must be >= 0")
    if (cfg.get("keep") or "first") == "last":
        return items[-n:] if n else []
    return items[:n]


def op_dedupe(cfg: dict[str, Any], env: EvalEnv) -> Any:
    items = _as_list(cfg.get("items"))
    fields = cfg.get("fields") or []

    def identity(item: Any) -> str:
        if not fields:
            return canonical(item)
        return canonical([_value(get_path(item, f)) for f in fields])

    keep_last = cfg.get("keep") == "last"
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        k = identity(item)
        if k not in seen or keep_last:
            seen[k] = i
    kept = sorted(seen.values())
    return [items[i] for i in kept]


def op_split_out(cfg: dict[str, Any], env: EvalEnv) -> Any:
    items = _as_list(cfg.get("items"))
    path = cfg["field"]
    dest = cfg.get("destination") or path.split(".")[-1]
    include = cfg.get("include") or "none"
    selected = cfg.get("keep_fields") or []
    out: list[Any] = []
    for i, item in enumerate(items):
        value = get_path(item, path)
        if value is _MISSING or value is None:
            if cfg.get("skip_missing", True):
                continue
            raise DataError(f"split_out: item {i} has no field '{path}'")
        values = list(value.values()) if isinstance(value, Mapping) and cfg.get("split_objects") else \
            _as_list(value)
        others: dict[str, Any] = {}
        if include == "all" and isinstance(item, Mapping):
            top = path.split(".")[0]
            others = {k: v for k, v in item.items() if k != top}
        elif include == "selected":
            for f in selected:
                v = get_path(item, f)
                if v is not _MISSING:
                    others[f] = v
        for v in values:
            if include == "none" and isinstance(v, Mapping):
                out.append(v)
            else:
                out.append({**others, dest: v})
    return out


_SUMMARY_OPS = ("count", "count_distinct", "sum", "min", "max", "avg", "list", "concat", "first", "last")


def op_summarize(cfg: dict[str, Any], env: EvalEnv) -> Any:
    items = _as_list(cfg.get("items"))
    group_by = cfg.get("group_by") or []
    aggs = cfg.get("aggregations") or [{"op": "count"}]
    groups: dict[str, dict[str, Any]] = {}
    members: dict[str, list[Any]] = {}
    for item in items:
        keys = [_value(get_path(item, g)) for g in group_by]
        k = canonical(keys)
        if k not in groups:
            groups[k] = dict(zip(group_by, keys))
            members[k] = []
        members[k].append(item)
    if not group_by and not items:
        groups[canonical([])] = {}
        members[canonical([])] = []
    out = []
    for k, row in groups.items():
        row = dict(row)
        for n, agg in enumerate(aggs):
            op = agg["op"]
            path = agg.get("field")
            name = agg.get("as") or (f"{op}_{path}" if path else op)
            row[name] = _summary(op, path, members[k], agg, n)
        out.append(row)
    return out


def _summary(op: str, path: str | None, items: list[Any], agg: Mapping[str, Any], n: int) -> Any:
    if op == "count" and not path:
        return len(items)
    if not path:
        raise DataError(f"summarize: aggregations[{n}] ({op}) needs a 'field'")
    present = [v for v in (get_path(it, path) for it in items) if v is not _MISSING and v is not None]
    if op == "count":
        return len(present)
    if op == "count_distinct":
        return len({canonical(v) for v in present})
    if op == "list":
        return present
    if op == "first":
        return present[0] if present else None
    if op == "last":
        return present[-1] if present else None
    if op == "concat":
        return str(agg.get("separator", ", ")).join(_text_or_json(v) for v in present)
    if op in ("min", "max") and present and not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                     for v in present):
        ranked = sorted(present, key=_type_rank)
        return ranked[0] if op == "min" else ranked[-1]
    nums: list[float | int] = [x for x in (_number(v, f"summarize: field '{path}' value") for v in present)
                               if x is not None]
    if not nums:
        return 0 if op == "sum" else None
    if op == "sum":
        total = math.fsum(nums)
        return int(total) if all(isinstance(x, int) for x in nums) else total
    if op == "avg":
        return math.fsum(nums) / len(nums)
    return min(nums) if op == "min" else max(nums)


# ---------------------------------------------------------------- datetime

_UNITS_MS = {"weeks": 604_800_000, "days": 86_400_000, "hours": 3_600_000, "minutes": 60_000, "seconds": 1000,
             "milliseconds": 1}
_CAL_DURATION_RE = re.compile(
    r"^(?P<sign>-)?P(?!$)(?:(?P<y>\d+)Y)?(?:(?P<mo>\d+)M)?(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<h>\d+)H)?(?:(?P<mi>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$")


def _zone(name: Any, what: str) -> ZoneInfo | timezone:
    if name in (None, "", "UTC", "Z"):
        return timezone.utc
    try:
        return _zone_cached(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise DataError(f"datetime: {what} '{name}' is not a known IANA time zone (e.g. Europe/Paris)") from None


@lru_cache(maxsize=256)
def _zone_cached(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _zone_name(tz: Any) -> str:
    return "UTC" if tz is timezone.utc else str(getattr(tz, "key", tz))


def _parse_dt(value: Any, fmt: str, tz: Any, what: str) -> datetime:
    if isinstance(value, bool) or value is None:
        raise DataError(f"datetime: {what} is missing" if value is None else f"datetime: {what} is a boolean")
    if fmt in ("epoch_ms", "epoch_s") or (fmt == "auto" and isinstance(value, (int, float))):
        try:
            ms = float(value) * (1000 if fmt == "epoch_s" else 1)
            return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=ms)
        except (TypeError, ValueError, OverflowError):
            raise DataError(f"datetime: {what} {value!r} is not an epoch number") from None
    if not isinstance(value, str):
        raise DataError(f"datetime: {what} must be a string or an epoch number, got {type(value).__name__}")
    text = value.strip()
    try:
        if fmt in ("auto", "iso"):
            parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
        else:
            parsed = datetime.strptime(text, fmt)
    except ValueError:
        hint = "an ISO-8601 timestamp" if fmt in ("auto", "iso") else f"in the format {fmt!r}"
        raise DataError(f"datetime: {what} {value!r} is not {hint}") from None
    return parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed


def _add_months(dt: datetime, months: int) -> datetime:
    y, m = divmod(dt.month - 1 + months, 12)
    year, month = dt.year + y, m + 1
    if not 1 <= year <= 9999:
        raise DataError("datetime: the result is out of range (years 1-9999)")
    day = min(dt.day, calendar.monthrange(year, month)[1])
    return dt.replace(year=year, month=month, day=day)


def _shift(dt: datetime, duration: str, sign: int) -> datetime:
    """Calendar parts (years, months, weeks, days) move the wall clock in the value's zone; time parts
    (hours, minutes, seconds) move the instant (so PT1H across a DST change is one real hour)."""
    m = _CAL_DURATION_RE.match(duration or "")
    if not m:
        raise DataError(f"datetime: duration {duration!r} is not ISO-8601 (e.g. P1D, PT2H30M, P1M, -P1Y)")
    g = {k: v for k, v in m.groupdict().items() if v}
    if g.get("sign"):
        sign = -sign
    try:
        months = (int(g.get("y", 0)) * 12 + int(g.get("mo", 0))) * sign
        if months:
            dt = _add_months(dt, months)
        days = (int(g.get("w", 0)) * 7 + int(g.get("d", 0))) * sign
        if days:
            dt = (dt.replace(tzinfo=None) + timedelta(days=days)).replace(tzinfo=dt.tzinfo)
        clock = timedelta(hours=int(g.get("h", 0)), minutes=int(g.get("mi", 0)), seconds=float(g.get("s", 0)))
        if clock:
            dt = (dt.astimezone(timezone.utc) + sign * clock).astimezone(dt.tzinfo)
    except OverflowError:
        raise DataError("datetime: the result is out of range") from None
    return dt


def _truncate(dt: datetime, unit: str, end: bool) -> datetime:
    naive = dt.replace(tzinfo=None)
    if unit == "years":
        start = naive.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
        nxt = start.replace(year=start.year + 1) if start.year < 9999 else None
    elif unit == "months":
        start = naive.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        nxt = _add_months(start, 1)
    elif unit == "weeks":  # ISO weeks start on Monday
        start = (naive - timedelta(days=naive.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
        nxt = start + timedelta(weeks=1)
    else:
        step = {"days": timedelta(days=1), "hours": timedelta(hours=1), "minutes": timedelta(minutes=1),
                "seconds": timedelta(seconds=1)}[unit]
        keep = ("days", "hours", "minutes", "seconds").index(unit)  # how many time fields survive
        start = naive.replace(hour=naive.hour if keep >= 1 else 0, minute=naive.minute if keep >= 2 else 0,
                              second=naive.second if keep >= 3 else 0, microsecond=0)
        nxt = start + step
    if end:
        if nxt is None:
            raise DataError("datetime: the result is out of range")
        return (nxt - timedelta(milliseconds=1)).replace(tzinfo=dt.tzinfo)
    return start.replace(tzinfo=dt.tzinfo)


def _format_dt(dt: datetime, fmt: str) -> Any:
    if fmt in ("iso", "auto"):
        return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z") if dt.microsecond else \
            dt.isoformat().replace("+00:00", "Z")
    if fmt == "epoch_ms":
        return _epoch_ms(dt)
    if fmt == "epoch_s":
        return _epoch_ms(dt) // 1000
    if fmt == "date":
        return dt.date().isoformat()
    try:
        return dt.strftime(fmt)
    except ValueError as err:
        raise DataError(f"datetime: format {fmt!r}: {err}") from None


def _epoch_ms(dt: datetime) -> int:
    delta = dt - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


def _months_between(a: datetime, b: datetime) -> int:
    """Whole calendar months from `a` to `b` (negative when `b` is earlier)."""
    if b < a:
        return -_months_between(b, a)
    months = (b.year - a.year) * 12 + b.month - a.month
    if _add_months(a, months) > b:
        months -= 1
    return months


def op_datetime(cfg: dict[str, Any], env: EvalEnv) -> Any:
    op = cfg.get("operation") or "now"
    in_tz = _zone(cfg.get("input_timezone"), "input_timezone")
    in_fmt = cfg.get("input_format") or "auto"
    now = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=env.now_millis)
    raw = cfg.get("value")
    if op == "now" or raw is None or raw == "now":
        dt = now
    else:
        dt = _parse_dt(raw, in_fmt, in_tz, "value")
    # output zone: the configured one, else the value's own (its offset, or input_timezone for naive values)
    out_tz = _zone(cfg.get("timezone"), "timezone") if cfg.get("timezone") else (dt.tzinfo or timezone.utc)
    if op == "diff":
        raw_end = cfg.get("end")
        end = now if raw_end is None or raw_end == "now" else _parse_dt(raw_end, in_fmt, in_tz, "end")
        unit = cfg.get("unit") or "milliseconds"
        ms = _epoch_ms(end) - _epoch_ms(dt)
        if unit in ("months", "years"):
            months = _months_between(dt.astimezone(out_tz), end.astimezone(out_tz))
            value: Any = months if unit == "months" else int(months / 12)
        else:
            value = ms / _UNITS_MS[unit]
            if isinstance(value, float) and value.is_integer():
                value = int(value)
        return {"value": value, "unit": unit, "milliseconds": ms}
    dt = dt.astimezone(out_tz)
    if op in ("add", "subtract"):
        if cfg.get("duration"):
            dt = _shift(dt, str(cfg["duration"]), -1 if op == "subtract" else 1)
        else:
            amount = _number(cfg.get("amount", 0), "datetime: 'amount'") or 0
            unit = cfg.get("unit") or "days"
            sign = -1 if op == "subtract" else 1
            if unit in ("months", "years"):
                if not float(amount).is_integer():
                    raise DataError(f"datetime: 'amount' of {unit} must be a whole number")
                dt = _add_months(dt, sign * int(amount) * (12 if unit == "years" else 1))
            elif unit in ("weeks", "days"):
                dt = (dt.replace(tzinfo=None) + sign * timedelta(milliseconds=amount * _UNITS_MS[unit])) \
                    .replace(tzinfo=dt.tzinfo)
            else:
                dt = (dt.astimezone(timezone.utc) + sign * timedelta(milliseconds=amount * _UNITS_MS[unit])) \
                    .astimezone(dt.tzinfo)
    elif op in ("start_of", "end_of"):
        dt = _truncate(dt, cfg.get("unit") or "days", op == "end_of")
    fmt = cfg.get("format") or "iso"
    return {"value": _format_dt(dt, fmt), "iso": _format_dt(dt, "iso"), "epoch_ms": _epoch_ms(dt),
            "timezone": _zone_name(out_tz)}


# ---------------------------------------------------------------- crypto (pure part)

HASH_ALGORITHMS = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha3_256", "sha3_512")


def digest_encode(digest: bytes, encoding: str) -> str:
    return base64.b64encode(digest).decode("ascii") if encoding == "base64" else digest.hex()


def op_crypto(cfg: dict[str, Any], env: EvalEnv) -> Any:
    op = cfg.get("operation") or "hash"
    if op == "uuid":  # 122 random bits from the workflow's randomness: the same on replay
        bits = 0
        for _ in range(4):
            bits = (bits << 32) | int(env.random() * 2**32)
        return {"value": str(uuid.UUID(int=bits, version=4))}
    data = _to_bytes(cfg.get("value"), cfg.get("input_encoding") or "utf8", "crypto: 'value'")
    algorithm = cfg.get("algorithm") or "sha256"
    h = hashlib.new(algorithm, data, usedforsecurity=False)  # checksums and ids, not password storage
    return {"value": digest_encode(h.digest(), cfg.get("encoding") or "hex"), "algorithm": algorithm}


# ---------------------------------------------------------------- CSV


def _infer(text: str) -> Any:
    if text == "":
        return None
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if re.fullmatch(r"-?(0|[1-9]\d{0,17})", text):
        return int(text)
    if re.fullmatch(r"-?(0|[1-9]\d*)?\.\d+([eE][-+]?\d+)?|-?(0|[1-9]\d*)(\.\d+)?[eE][-+]?\d+", text):
        return float(text)
    return text


def op_csv_parse(cfg: dict[str, Any], env: EvalEnv) -> Any:
    text = _str(cfg.get("text"), "csv.parse: 'text'")
    if len(text) > MAX_PARSE_BYTES:
        raise DataError(f"csv.parse: 'text' is over {MAX_PARSE_BYTES} characters")
    text = text.lstrip("\ufeff")
    max_rows = int(cfg.get("max_rows") or 100_000)
    trim = bool(cfg.get("trim"))
    infer = bool(cfg.get("infer_types"))
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=cfg.get("delimiter") or ",",
                            quotechar=cfg.get("quote") or '"', strict=False)
        rows = []
        for row in reader:
            if not row and cfg.get("skip_empty_lines", True):
                continue
            rows.append([c.strip() if trim else c for c in row])
            if len(rows) > max_rows + 1:
                break
    except csv.Error as err:
        raise DataError(f"csv.parse: line {reader.line_num}: {err}") from None
    conv = _infer if infer else (lambda c: c)
    columns = cfg.get("columns")
    header = cfg.get("header", True)
    if not columns and not header:
        body = rows[:max_rows]
        if len(rows) > max_rows:
            raise DataError(f"csv.parse: more than max_rows={max_rows} rows")
        return [[conv(c) for c in r] for r in body]
    if not columns:
        columns = rows[0] if rows else []
        rows = rows[1:]
        seen: dict[str, int] = {}
        uniq: list[str] = []
        for c in columns:
            name = c or f"column_{len(uniq) + 1}"
            if name in seen:
                seen[name] += 1
                name = f"{name}_{seen[name]}"
            seen.setdefault(name, 1)
            uniq.append(name)
        columns = uniq
    if len(rows) > max_rows:
        raise DataError(f"csv.parse: more than max_rows={max_rows} rows")
    out = []
    for r in rows:
        rec = {col: (conv(r[i]) if i < len(r) else None) for i, col in enumerate(columns)}
        for i in range(len(columns), len(r)):
            rec[f"column_{i + 1}"] = conv(r[i])
        out.append(rec)
    return out


def _csv_cell(v: Any, escape: bool) -> str:
    if v is None:
        s = ""
    elif isinstance(v, bool):
        s = "true" if v else "false"
    elif isinstance(v, (dict, list)):
        s = json.dumps(v, separators=(",", ":"), ensure_ascii=False)
    else:
        s = str(v)
    if escape and s[:1] in ("=", "+", "-", "@", "\t", "\r"):
        s = "'" + s  # spreadsheet formula injection guard
    return s


def op_csv_format(cfg: dict[str, Any], env: EvalEnv) -> Any:
    items = _as_list(cfg.get("items"))
    columns = cfg.get("columns")
    if not columns:
        columns = []
        for item in items:
            if isinstance(item, Mapping):
                columns.extend(k for k in item if k not in columns)
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=cfg.get("delimiter") or ",", lineterminator=cfg.get("line_terminator")
                        or "\n", quoting=csv.QUOTE_MINIMAL)
    escape = bool(cfg.get("escape_formulas"))
    if cfg.get("header", True) and columns:
        writer.writerow([_csv_cell(c, escape) for c in columns])
    for i, item in enumerate(items):
        if isinstance(item, Mapping):
            writer.writerow([_csv_cell(_value(get_path(item, c)) if "." in c and c not in item else item.get(c),
                                       escape) for c in columns])
        elif isinstance(item, list):
            writer.writerow([_csv_cell(v, escape) for v in item])
        else:
            raise DataError(f"csv.format: item {i} is a {type(item).__name__}; rows must be objects or lists")
    return {"text": buf.getvalue(), "rows": len(items)}


# ---------------------------------------------------------------- XML

_XML_NAME_RE = re.compile(r"^[A-Za-z_][\w.\-]*(:[A-Za-z_][\w.\-]*)?$")


def _local(tag: str, strip: bool) -> str:
    if strip and tag.startswith("{"):
        return tag.split("}", 1)[1]
    return tag


def _xml_to_value(el: ET.Element, cfg: dict[str, Any]) -> Any:
    prefix = cfg.get("attribute_prefix", "@")
    text_key = cfg.get("text_key") or "#text"
    strip = cfg.get("strip_namespaces", True)
    force = cfg.get("force_list") or []
    out: dict[str, Any] = {prefix + _local(k, strip): v for k, v in el.attrib.items()}
    lists: set[str] = set()
    for child in el:
        if not isinstance(child.tag, str):  # comments, processing instructions
            continue
        name = _local(child.tag, strip)
        value = _xml_to_value(child, cfg)
        if name in lists:
            out[name].append(value)
        elif name in out or force is True or name in force:
            out[name] = [out[name], value] if name in out else [value]
            lists.add(name)
        else:
            out[name] = value
    text = (el.text or "").strip() if cfg.get("trim_text", True) else (el.text or "")
    if not out:
        return text if text != "" else None
    if text.strip():
        out[text_key] = text
    return out


def op_xml_parse(cfg: dict[str, Any], env: EvalEnv) -> Any:
    text = _str(cfg.get("text"), "xml.parse: 'text'")
    if len(text) > MAX_PARSE_BYTES:
        raise DataError(f"xml.parse: 'text' is over {MAX_PARSE_BYTES} characters")
    try:
        root = SafeET.fromstring(text.encode("utf-8") if text.lstrip().startswith("<?xml") else text,
                                 forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as err:
        raise DataError(f"xml.parse: refused unsafe XML ({type(err).__name__}: DTDs and entities are not "
                        "allowed)", type="UnsafeXml") from None
    except ET.ParseError as err:
        raise DataError(f"xml.parse: not well-formed XML: {err}", type="BadXml") from None
    return {_local(root.tag, cfg.get("strip_namespaces", True)): _xml_to_value(root, cfg)}


def _value_to_xml(parent: ET.Element, name: str, value: Any, cfg: dict[str, Any]) -> None:
    if isinstance(value, list):
        for v in value:
            _value_to_xml(parent, name, v, cfg)
        return
    if not _XML_NAME_RE.match(name):
        raise DataError(f"xml.format: {name!r} is not a valid XML element name")
    el = ET.SubElement(parent, name)
    _fill(el, value, cfg)


def _fill(el: ET.Element, value: Any, cfg: dict[str, Any]) -> None:
    prefix = cfg.get("attribute_prefix", "@")
    text_key = cfg.get("text_key") or "#text"
    if isinstance(value, Mapping):
        for k, v in value.items():
            if k == text_key:
                el.text = _scalar_text(v)
            elif prefix and k.startswith(prefix):
                attr = k[len(prefix):]
                if not _XML_NAME_RE.match(attr):
                    raise DataError(f"xml.format: {attr!r} is not a valid XML attribute name")
                el.set(attr, _scalar_text(v))
            else:
                _value_to_xml(el, k, v, cfg)
    elif value is not None:
        el.text = _scalar_text(value)


def _scalar_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return ""
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":"), ensure_ascii=False)
    return str(v)


def op_xml_format(cfg: dict[str, Any], env: EvalEnv) -> Any:
    value = cfg.get("value")
    root_name = cfg.get("root")
    if not root_name:
        if not (isinstance(value, Mapping) and len(value) == 1 and not isinstance(next(iter(value.values())), list)):
            raise DataError("xml.format: give 'root', or a 'value' that is an object with exactly one key (the "
                            "root element)")
        root_name, value = next(iter(value.items()))
    if not _XML_NAME_RE.match(str(root_name)):
        raise DataError(f"xml.format: {root_name!r} is not a valid XML element name")
    root = ET.Element(str(root_name))
    _fill(root, value, cfg)
    if cfg.get("pretty"):
        ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    if cfg.get("declaration", True):
        body = '<?xml version="1.0" encoding="UTF-8"?>\n' + body
    return {"text": body}


# ---------------------------------------------------------------- HTML and Markdown


def op_html_extract(cfg: dict[str, Any], env: EvalEnv) -> Any:
    html = _str(cfg.get("html"), "html.extract: 'html'")
    if len(html) > MAX_PARSE_BYTES:
        raise DataError(f"html.extract: 'html' is over {MAX_PARSE_BYTES} characters")
    soup = bs4.BeautifulSoup(html, "html.parser")
    out: dict[str, Any] = {}
    for i, spec in enumerate(cfg.get("extract") or []):
        try:
            compiled = _selector(spec["selector"])
        except soupsieve.SelectorSyntaxError as err:
            raise DataError(f"html.extract: extract[{i}].selector {spec['selector']!r}: {str(err).splitlines()[0]}") from None
        found = compiled.select(soup, limit=0 if spec.get("all") else 1)
        values = [_html_value(el, spec) for el in found]
        out[spec["key"]] = values if spec.get("all") else (values[0] if values else None)
    return out


@lru_cache(maxsize=512)
def _selector(text: str) -> Any:
    return soupsieve.compile(text)


def _html_value(el: Any, spec: Mapping[str, Any]) -> Any:
    kind = spec.get("value") or "text"
    if kind == "attribute":
        v = el.get(spec.get("attribute") or "")
        return " ".join(v) if isinstance(v, list) else v
    if kind == "html":
        return el.decode_contents()
    if kind == "outer_html":
        return str(el)
    text = el.get_text(" " if spec.get("separator") is None else spec["separator"])
    if spec.get("trim", True):
        text = re.sub(r"\s+", " ", text).strip()
    return text


def op_markdown(cfg: dict[str, Any], env: EvalEnv) -> Any:
    text = _str(cfg.get("text"), "markdown: 'text'")
    if len(text) > MAX_PARSE_BYTES:
        raise DataError(f"markdown: 'text' is over {MAX_PARSE_BYTES} characters")
    if (cfg.get("operation") or "to_html") == "to_html":
        md = markdown_lib.Markdown(extensions=[ExtraExtension(), SaneListExtension()], output_format="html")
        return {"text": md.convert(text)}
    style = {"atx": markdownify.ATX, "setext": markdownify.SETEXT}[cfg.get("heading_style") or "atx"]
    kwargs: dict[str, Any] = {"heading_style": style, "bullets": cfg.get("bullets") or "-"}
    if cfg.get("strip"):
        kwargs["strip"] = list(cfg["strip"])
    return {"text": markdownify.markdownify(text, **kwargs).strip() + "\n"}


# ---------------------------------------------------------------- JSON Schema


@lru_cache(maxsize=256)
def _schema_validator(schema_json: str) -> Draft202012Validator:
    schema = json.loads(schema_json)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def op_json_schema_validate(cfg: dict[str, Any], env: EvalEnv) -> tuple[Any, str]:
    schema = cfg.get("schema")
    if not isinstance(schema, Mapping):
        raise DataError("json_schema.validate: 'schema' must be a JSON Schema object")
    try:
        validator = _schema_validator(canonical(schema))
    except SchemaError as err:
        raise DataError(f"json_schema.validate: 'schema' is not a valid JSON Schema: {err.message}",
                        type="BadSchema") from None
    value = cfg.get("value")
    limit = int(cfg.get("max_errors") or 20)
    errors = []
    for found in sorted(validator.iter_errors(value), key=lambda e: (list(map(str, e.absolute_path)), e.message)):
        errors.append({"path": "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in found.absolute_path)
                       or "$", "message": found.message})
        if len(errors) >= limit:
            break
    valid = not errors
    return {"valid": valid, "errors": errors, "value": value}, "valid" if valid else "invalid"


# ---------------------------------------------------------------- Jinja2 templates

MAX_TEMPLATE_CALL_DEPTH = 50
MAX_TEMPLATE_WORK_CHARS = 20_000_000
"""Characters of intermediate strings (concatenations, joins, replaces...) one render may build."""
_GUARD = "__wfo_guard"
_ITER = "__wfo_iter"
_CONCAT = "__wfo_concat"


class _Guard:
    """Per-render budgets: steps (deterministic, so a replay decides the same) and characters built.
    Exceeding one fails the node; inside a workflow task, running out of steps moves it to an activity."""

    def __init__(self, autoescape: bool, inline: bool):
        self.inline = inline
        self.steps = INLINE_TEMPLATE_STEPS if inline else MAX_TEMPLATE_STEPS
        self.chars = MAX_TEMPLATE_WORK_CHARS
        self.depth = 0
        self.autoescape = autoescape

    def step(self) -> None:
        self.steps -= 1
        if self.steps < 0:
            if self.inline:
                raise RunInActivity("template.render")
            raise DataError(f"template.render: took more than {MAX_TEMPLATE_STEPS} steps (loop iterations, "
                            "calls, operators)", type="TemplateBudgetExceeded")

    def charge(self, n: int) -> None:
        if n > MAX_TEMPLATE_OUTPUT:
            raise DataError(f"template.render: a string or list of {n} elements would be too long "
                            f"(max {MAX_TEMPLATE_OUTPUT})", type="TemplateBudgetExceeded")
        self.chars -= n
        if self.chars < 0:
            raise DataError(f"template.render: built more than {MAX_TEMPLATE_WORK_CHARS} characters",
                            type="TemplateBudgetExceeded")

    def iter(self, iterable: Any) -> Any:
        for item in iterable:
            self.step()
            yield item

    def concat(self, parts: Any) -> str:
        self.step()
        parts = list(parts)
        self.charge(sum(len(p) if isinstance(p, str) else 16 for p in parts))
        return jinja2.runtime.markup_join(parts) if self.autoescape else jinja2.runtime.str_join(parts)


def _guard_of(context: Any) -> _Guard | None:
    try:
        guard = context.resolve_or_missing(_GUARD)
    except AttributeError:
        return None
    return guard if isinstance(guard, _Guard) else None


def _size(v: Any) -> int:
    return len(v) if isinstance(v, (str, list, tuple)) else 0


class _TemplateEnvironment(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox plus bounds on whatever can blow up memory or time, and no randomness."""

    intercepted_binops = frozenset(["*", "**", "%", "+"])

    def getattr(self, obj: Any, attribute: str) -> Any:
        # JSON data first: `input.items` is the field "items", not the dict method
        if isinstance(obj, Mapping) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        guard = _guard_of(context)
        if guard is not None:
            guard.step()
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > 100 and \
                isinstance(left, (int, float)) and abs(left) > 1:
            raise DataError("template.render: exponent too large")
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and guard is not None:
                    guard.charge(len(seq) * max(n, 0))
            if isinstance(left, int) and isinstance(right, int) and \
                    left.bit_length() + right.bit_length() > 4096:
                raise DataError("template.render: integer too large")
        if operator == "+" and guard is not None and isinstance(left, (str, list, tuple)):
            guard.charge(_size(left) + _size(right))
        if operator == "%" and isinstance(left, str) and _PCT_WIDTH_RE.search(left):
            raise DataError("template.render: a format width or precision is too large")
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        guard = _guard_of(__context)
        if guard is None:
            return super().call(__context, __obj, *args, **kwargs)
        guard.step()
        guard.depth += 1
        try:
            if guard.depth > MAX_TEMPLATE_CALL_DEPTH:
                raise DataError(f"template.render: calls nested deeper than {MAX_TEMPLATE_CALL_DEPTH} (recursive "
                                "macro?)", type="TemplateBudgetExceeded")
            return super().call(__context, __obj, *args, **kwargs)
        finally:
            guard.depth -= 1

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """`'...'.format(...)` from a template: refuse huge widths and precisions (nested ones too)."""
        wrapped = super().wrap_str_format(value)
        if wrapped is not None and _FMT_WIDTH_RE.search(str(getattr(value, "__self__", ""))):
            def refuse(*args: Any, **kwargs: Any) -> str:
                raise DataError("template.render: a format width or precision is too large")
            return refuse
        return wrapped


_PCT_WIDTH_RE = re.compile(r"%[-+ #0]*(?:\*|\d{5,}|\d*\.(?:\*|\d{5,}))")
"""A `%` conversion with a width or precision of 5+ digits, or taken from the arguments (`*`)."""
_FMT_WIDTH_RE = re.compile(r"\{[^{}]*:[^{}]*(?:\d{5,}|\{)")
"""A `str.format` field whose spec has 5+ digits or a nested field (`{:{}}`)."""


def _width_bounded(fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(value: Any, *args: Any, **kwargs: Any) -> Any:
        for v in list(args) + list(kwargs.values()):
            if isinstance(v, int) and not isinstance(v, bool) and v > 10_000:
                raise DataError("template.render: a width above 10000 is not allowed")
            if isinstance(v, str) and len(v) > 10_000:
                raise DataError("template.render: an indent or separator above 10000 characters is not allowed")
        return fn(value, *args, **kwargs)
    return wrapped


def _charged(fn: Callable[..., Any], estimate: Callable[..., int]) -> Callable[..., Any]:
    """`fn` (a built-in filter) charging the render's guard with the size `estimate` says it will build."""
    pass_arg = getattr(fn, "jinja_pass_arg", None)

    @jinja2.pass_context
    def wrapped(context: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(value, (str, list, tuple, Mapping)):
            value = list(value) if hasattr(value, "__iter__") else value
        guard = _guard_of(context)
        if guard is not None:
            guard.charge(estimate(value, *args, **kwargs))
        if pass_arg is jinja2.utils._PassArg.eval_context:
            return fn(context.eval_ctx, value, *args, **kwargs)
        if pass_arg is jinja2.utils._PassArg.context:
            return fn(context, value, *args, **kwargs)
        return fn(value, *args, **kwargs)
    return wrapped


def _join_estimate(value: Any, d: str = "", attribute: Any = None) -> int:
    items = value if isinstance(value, (list, tuple, str)) else []
    return sum(_size(x) if isinstance(x, str) else 16 for x in items) + len(str(d)) * max(len(items) - 1, 0)


def _replace_estimate(s: Any, old: Any, new: Any, count: Any = None) -> int:
    s, old, new = str(s), str(old), str(new)
    hits = s.count(old) if old else len(s) + 1
    if isinstance(count, int):
        hits = min(hits, count)
    return len(s) + hits * max(len(new) - len(old), 0)


def _pct_checked(fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(value: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) and _PCT_WIDTH_RE.search(value):
            raise DataError("template.render: a format width or precision is too large")
        return fn(value, *args, **kwargs)
    return wrapped


def _no_random(*args: Any, **kwargs: Any) -> Any:
    raise DataError("template.render: `random` is not available (a workflow is deterministic); use a `crypto` "
                    "uuid or `sort` with mode random")


def _template_env(autoescape: bool, strict: bool) -> _TemplateEnvironment:
    env = _TemplateEnvironment(autoescape=autoescape, undefined=jinja2.StrictUndefined if strict else
                               jinja2.Undefined, keep_trailing_newline=True)
    env.globals.pop("lipsum", None)  # random text: neither deterministic nor bounded
    env.filters["random"] = _no_random
    for name in ("center", "indent", "wordwrap", "truncate"):
        env.filters[name] = _width_bounded(env.filters[name])
    env.filters["format"] = _pct_checked(env.filters["format"])
    env.filters["join"] = _charged(env.filters["join"], _join_estimate)
    env.filters["replace"] = _charged(env.filters["replace"], _replace_estimate)
    return env


_TEMPLATE_ENVS = {(a, s): _template_env(a, s) for a in (False, True) for s in (False, True)}


@lru_cache(maxsize=256)
def _compile_template(source: str, autoescape: bool, strict: bool) -> jinja2.Template:
    """Compile with every `for` loop's iterable counted and every `~` concatenation charged (see `_Guard`)."""
    env = _TEMPLATE_ENVS[(autoescape, strict)]
    try:
        tree = env.parse(source)
    except jinja2.TemplateSyntaxError as err:
        raise DataError(f"template.render: line {err.lineno}: {err.message}", type="TemplateSyntaxError") from None
    for loop in tree.find_all(jinja_nodes.For):
        loop.iter = jinja_nodes.Call(jinja_nodes.Name(_ITER, "load"), [loop.iter], [], None, None)
    for parent in tree.find_all(jinja_nodes.Node):
        for field in parent.fields:
            value = getattr(parent, field, None)
            if isinstance(value, jinja_nodes.Concat):
                setattr(parent, field, _concat_call(value))
            elif isinstance(value, list):
                setattr(parent, field, [_concat_call(v) if isinstance(v, jinja_nodes.Concat) else v for v in value])
    try:
        return env.from_string(tree)
    except jinja2.TemplateSyntaxError as err:
        raise DataError(f"template.render: line {err.lineno}: {err.message}", type="TemplateSyntaxError") from None


def _concat_call(node: Any) -> Any:
    return jinja_nodes.Call(jinja_nodes.Name(_CONCAT, "load"), [jinja_nodes.List(list(node.nodes))], [], None, None)


def template_syntax_error(source: str) -> str | None:
    try:
        _compile_template(source, False, False)
    except DataError as err:
        return err.message
    return None


def op_template_render(cfg: dict[str, Any], env: EvalEnv, context: dict[str, Any], inline: bool = False) -> Any:
    source = _str(cfg.get("template"), "template.render: 'template'")
    autoescape = bool(cfg.get("autoescape"))
    tpl = _compile_template(source, autoescape, bool(cfg.get("strict")))
    data = cfg["data"] if "data" in cfg and cfg["data"] is not None else context
    if not isinstance(data, Mapping):
        data = {"data": data}
    limit = min(int(cfg.get("max_output_chars") or 100_000), MAX_TEMPLATE_OUTPUT)
    guard = _Guard(autoescape, inline)
    parts: list[str] = []
    size = 0
    try:
        for chunk in tpl.generate({**data, _GUARD: guard, _ITER: guard.iter, _CONCAT: guard.concat}):
            size += len(chunk)
            if size > limit:
                raise DataError(f"template.render: the output is longer than max_output_chars={limit}",
                                type="TemplateOutputTooLarge")
            parts.append(chunk)
    except (DataError, RunInActivity):
        raise
    except jinja2.exceptions.SecurityError as err:
        raise DataError(f"template.render: not allowed in the sandbox: {err}", type="TemplateSecurityError") \
            from None
    except jinja2.TemplateError as err:
        raise DataError(f"template.render: {err}", type="TemplateError") from None
    except RecursionError:
        raise DataError("template.render: recursion too deep", type="TemplateBudgetExceeded") from None
    except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError, MemoryError) as err:
        raise DataError(f"template.render: {type(err).__name__}: {err}", type="TemplateError") from None
    return {"text": "".join(parts)}


# ---------------------------------------------------------------- compression


def _inflate(data: bytes, wbits: int, limit: int) -> bytes:
    d = zlib.decompressobj(wbits)
    try:
        out = d.decompress(data, limit + 1)
    except zlib.error as err:
        raise DataError(f"compression: not valid gzip data ({err})") from None
    if len(out) > limit or d.unconsumed_tail:
        raise DataError(f"compression: decompressed data is larger than max_output_bytes={limit}",
                        type="DecompressedTooLarge")
    return out


def op_compression(cfg: dict[str, Any], env: EvalEnv) -> Any:
    op = cfg.get("operation") or "gzip"
    limit = min(int(cfg.get("max_output_bytes") or 10 * 1024 * 1024), MAX_DECOMPRESSED)
    out_enc = cfg.get("output_encoding") or "auto"
    if op == "gzip":
        raw = _to_bytes(cfg.get("data"), cfg.get("input_encoding") or "utf8", "compression: 'data'")
        packed = gzip.compress(raw, compresslevel=int(cfg.get("level") or 6), mtime=0)  # mtime 0: deterministic
        return {"data": base64.b64encode(packed).decode("ascii"), "bytes": len(packed), "input_bytes": len(raw)}
    if op == "gunzip":
        packed = _b64decode(cfg.get("data"), "compression: 'data'")
        raw = _inflate(packed, 47, limit)  # 47: gzip or zlib header, detected
        text, enc = _from_bytes(raw, out_enc)
        return {"data": text, "encoding": enc, "bytes": len(raw)}
    if op == "zip":
        files = cfg.get("files") or []
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for i, f in enumerate(files):
                name = f.get("name") if isinstance(f, Mapping) else None
                if not isinstance(name, str) or not name or name.startswith("/") or ".." in name.split("/"):
                    raise DataError(f"compression: files[{i}].name must be a relative path without '..'")
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # fixed: deterministic archives
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, _to_bytes(f.get("data"), f.get("encoding") or "utf8",
                                            f"compression: files[{i}].data"))
        packed = buf.getvalue()
        return {"data": base64.b64encode(packed).decode("ascii"), "bytes": len(packed), "files": len(files)}
    if op == "unzip":
        packed = _b64decode(cfg.get("data"), "compression: 'data'")
        try:
            zf = zipfile.ZipFile(io.BytesIO(packed))
            infos = [i for i in zf.infolist() if not i.is_dir()]
        except (zipfile.BadZipFile, ValueError) as err:
            raise DataError(f"compression: not a valid zip archive ({err})") from None
        if len(infos) > MAX_ZIP_ENTRIES:
            raise DataError(f"compression: the archive has more than {MAX_ZIP_ENTRIES} files")
        total = 0
        entries = []
        for info in infos:
            try:
                with zf.open(info) as fh:
                    raw = fh.read(limit - total + 1)
            except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError) as err:
                raise DataError(f"compression: cannot read {info.filename!r} from the archive ({err})") from None
            total += len(raw)
            if total > limit:
                raise DataError(f"compression: decompressed data is larger than max_output_bytes={limit}",
                                type="DecompressedTooLarge")
            text, enc = _from_bytes(raw, out_enc)
            entries.append({"name": info.filename, "data": text, "encoding": enc, "bytes": len(raw)})
        return {"files": entries, "bytes": total}
    raise DataError(f"compression: unknown operation {op!r}")


# ---------------------------------------------------------------- specs

_ITEMS = {"type": "string", "minLength": 1, "title": "Items",
          "description": "JSONata expression giving the list to work on, e.g. `nodes.fetch.body.items`"}
_PATH = {"type": "string", "title": "Field",
         "description": "Dotted path inside each item, e.g. `customer.id` (list indexes as numbers)"}
_LIST_OUT = {"type": "array"}
_TEXT_OUT = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"],
             "additionalProperties": False}
_DT_VALUE = {"title": "Value", "description": "ISO-8601 timestamp, epoch number or `now` (workflow time); "
             "a `{{ }}` template", "type": ["string", "number", "null"]}
_UNIT = {"enum": ["years", "months", "weeks", "days", "hours", "minutes", "seconds", "milliseconds"],
         "title": "Unit"}
_ENCODING = {"enum": ["utf8", "base64"], "default": "utf8", "title": "Input encoding",
             "description": "`utf8`: the value is text (non-strings as JSON); `base64`: binary data in base64"}


def _obj(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    return schema


def _titled(schema: dict[str, Any]) -> dict[str, Any]:
    """Every property gets a `title` for the designer's form (from its name when not given)."""
    for name, prop in (schema.get("properties") or {}).items():
        if isinstance(prop, dict):
            prop.setdefault("title", name.replace("_", " ").capitalize())
            if isinstance(prop.get("items"), dict):
                _titled(prop["items"])
    return schema


def _spec(type_: str, title: str, icon: str, description: str, config: dict[str, Any], output: dict[str, Any],
          example: dict[str, Any], docs: str, bare: tuple[str, ...] = (), skip: tuple[str, ...] = (),
          ports: tuple[str, ...] = ("out",)) -> ComponentSpec:
    config = _titled(json.loads(json.dumps(config)))  # a copy: shared fragments stay untouched
    return ComponentSpec(type_, "pure", description, config, ports=ports, bare_expressions=bare,
                         template_skip=skip, category="data", title=title, icon=icon, output_schema=output,
                         idempotent=True, docs=docs, example=example)


DATA_SPECS: tuple[ComponentSpec, ...] = (
    _spec("merge", "Merge", "merge", "Combines lists: appended, joined by a key field, or paired by position.",
          _obj({
              "inputs": {"type": "string", "minLength": 1, "title": "Inputs",
                         "description": "JSONata giving a join's output (an object of lists by branch) or an "
                                        "object of lists, e.g. `nodes.join` or `{'left': nodes.a, 'right': nodes.b}`"},
              "mode": {"enum": ["append", "by_key", "by_position"], "default": "append", "title": "Mode"},
              "key": {"type": "string", "title": "Key field", "description": "by_key: field matched on both sides"},
              "left_key": {"type": "string", "title": "Left key field"},
              "right_key": {"type": "string", "title": "Right key field"},
              "join": {"enum": ["inner", "left", "right", "outer"], "default": "inner", "title": "Join",
                       "description": "by_key: which unmatched items are kept"},
              "multiple": {"enum": ["all", "first"], "default": "all", "title": "Several matches",
                           "description": "by_key: one output per match, or only the first match"},
              "prefer": {"enum": ["last", "first"], "default": "last", "title": "On field clash",
                         "description": "which input's value wins when merged objects share a field"},
              "include_unpaired": {"type": "boolean", "default": False, "title": "Include unpaired",
                                   "description": "by_position: keep items beyond the shortest list"},
          }, ("inputs",)),
          _LIST_OUT, {"inputs": "nodes.join", "mode": "by_key", "key": "id", "join": "left"},
          "Appends lists (`append`), joins objects whose key fields are equal (`by_key`, like SQL inner/left/"
          "right/outer joins; more than two inputs are joined left to right), or merges the i-th objects of "
          "each list (`by_position`). Reads the output of a `join` node directly: its branches in order.",
          bare=("inputs",)),
    _spec("aggregate", "Aggregate", "layers", "Collects field values from all items into lists on one object.",
          _obj({
              "items": _ITEMS,
              "mode": {"enum": ["fields", "all"], "default": "fields", "title": "Mode",
                       "description": "`fields`: one list per field; `all`: every item in one list"},
              "fields": {"type": "array", "title": "Fields", "items": {
                  "type": "object", "required": ["field"], "additionalProperties": False, "properties": {
                      "field": _PATH, "as": {"type": "string", "title": "Output name"},
                      "unique": {"type": "boolean", "default": False, "title": "Unique values only"},
                      "flatten": {"type": "boolean", "default": False, "title": "Flatten list values"}}}},
              "as": {"type": "string", "default": "data", "title": "Output field (mode all)"},
              "keep_missing": {"type": "boolean", "default": False, "title": "Keep missing as null"},
          }, ("items",)),
          {"type": "object"}, {"items": "nodes.orders", "fields": [{"field": "id", "as": "ids"}]},
          "Turns many items into one object: `{ids: [1, 2, 3]}`. Items lacking a field are skipped unless "
          "`keep_missing`.", bare=("items",)),
    _spec("sort", "Sort", "arrow-up-down", "Sorts a list by fields, reverses it, or shuffles it with workflow "
          "randomness.",
          _obj({
              "items": _ITEMS,
              "mode": {"enum": ["fields", "reverse", "random"], "default": "fields", "title": "Mode"},
              "by": {"type": "array", "title": "Sort by", "items": {
                  "type": "object", "additionalProperties": False, "properties": {
                      "field": _PATH, "order": {"enum": ["asc", "desc"], "default": "asc", "title": "Order"},
                      "case_insensitive": {"type": "boolean", "default": False}}},
                  "description": "Keys, most significant first (none: sort the values themselves)"},
              "nulls": {"enum": ["first", "last"], "default": "last", "title": "Missing values"},
          }, ("items",)),
          _LIST_OUT, {"items": "input.orders", "by": [{"field": "total", "order": "desc"}]},
          "Stable sort. Values of different types order as booleans < numbers < strings < objects; missing "
          "and null values go last (or first). `random` uses the workflow's deterministic randomness.",
          bare=("items",)),
    _spec("limit", "Limit", "list-end", "Keeps the first (or last) `max_items` items.",
          _obj({"items": _ITEMS,
                "max_items": {"type": "integer", "minimum": 0, "default": 1, "title": "Max items"},
                "keep": {"enum": ["first", "last"], "default": "first", "title": "Keep"}}, ("items",)),
          _LIST_OUT, {"items": "nodes.sorted", "max_items": 10},
          "Like n8n's Limit: `max_items` of the list, from the start or the end.", bare=("items",)),
    _spec("dedupe", "Remove duplicates", "copy-minus", "Drops items equal to an earlier one (on all or some "
          "fields).",
          _obj({"items": _ITEMS,
                "fields": {"type": "array", "items": {"type": "string"}, "title": "Compare fields",
                           "description": "Fields that define a duplicate (empty: the whole item)"},
                "keep": {"enum": ["first", "last"], "default": "first", "title": "Keep"}}, ("items",)),
          _LIST_OUT, {"items": "input.contacts", "fields": ["email"]},
          "Keeps the first (or last) item of each set of duplicates, in the original order. Values compare as "
          "JSON (object key order does not matter).", bare=("items",)),
    _spec("split_out", "Split out", "ungroup", "Turns a list inside each item into separate items.",
          _obj({"items": _ITEMS, "field": {**_PATH, "title": "Field to split out"},
                "include": {"enum": ["none", "all", "selected"], "default": "none", "title": "Include other fields"},
                "keep_fields": {"type": "array", "items": {"type": "string"}, "title": "Selected fields"},
                "destination": {"type": "string", "title": "Destination field",
                                "description": "Name for each value (default: the field's last segment)"},
                "skip_missing": {"type": "boolean", "default": True, "title": "Skip items without the field"},
                "split_objects": {"type": "boolean", "default": False,
                                  "title": "Split an object's values too"}}, ("items", "field")),
          _LIST_OUT, {"items": "input", "field": "order.lines", "include": "selected", "keep_fields": ["id"]},
          "`{id: 1, lines: [a, b]}` becomes `[{id: 1, lines: a}, {id: 1, lines: b}]` (with `include`), or the "
          "list elements themselves when they are objects and nothing else is included.", bare=("items",)),
    _spec("summarize", "Summarize", "sigma", "Groups items and computes count, sum, min, max, avg per group.",
          _obj({"items": _ITEMS,
                "group_by": {"type": "array", "items": {"type": "string"}, "title": "Group by"},
                "aggregations": {"type": "array", "title": "Aggregations", "items": {
                    "type": "object", "required": ["op"], "additionalProperties": False, "properties": {
                        "op": {"enum": list(_SUMMARY_OPS), "title": "Operation"}, "field": _PATH,
                        "as": {"type": "string", "title": "Output name", "description": "default `<op>_<field>`"},
                        "separator": {"type": "string", "default": ", "}}}}}, ("items",)),
          {"type": "array", "items": {"type": "object"}},
          {"items": "input.sales", "group_by": ["region"],
           "aggregations": [{"op": "sum", "field": "amount", "as": "total"}, {"op": "count"}]},
          "One output row per group (in order of first appearance) with the group fields and one value per "
          "aggregation. Nulls and missing values are ignored; numeric strings count as numbers; other values "
          "in sum/avg fail the node. Without `group_by`: a single row.", bare=("items",)),
    _spec("datetime", "Date & time", "calendar-clock", "Parses, formats, shifts and compares dates in any time "
          "zone; `now` is the workflow's time.",
          _obj({"operation": {"enum": ["now", "parse", "format", "add", "subtract", "diff", "start_of", "end_of"],
                              "default": "now", "title": "Operation"},
                "value": _DT_VALUE, "end": {**_DT_VALUE, "title": "End (diff)"},
                "input_format": {"type": "string", "default": "auto", "title": "Input format",
                                 "description": "`auto` (ISO-8601, or epoch ms for numbers), `epoch_ms`, `epoch_s` "
                                                "or a strptime pattern like `%d/%m/%Y`"},
                "input_timezone": {"type": "string", "default": "UTC", "title": "Input time zone",
                                   "description": "Zone of values without an offset (IANA name)"},
                "timezone": {"type": "string", "title": "Output time zone", "description": "IANA name, e.g. "
                             "Europe/Paris (default: the input's)"},
                "format": {"type": "string", "default": "iso", "title": "Output format",
                           "description": "`iso`, `date`, `epoch_ms`, `epoch_s` or a strftime pattern"},
                "duration": {"type": "string", "title": "Duration", "description": "add/subtract: ISO-8601, e.g. "
                             "P1M, P2DT3H, -PT15M"},
                "amount": {"type": ["number", "string"], "title": "Amount"}, "unit": _UNIT}),
          {"type": "object", "properties": {
              "value": {"type": ["string", "number"]}, "iso": {"type": "string"}, "epoch_ms": {"type": "integer"},
              "timezone": {"type": "string"}, "unit": {"type": "string"}, "milliseconds": {"type": "integer"}},
           "additionalProperties": False},
          {"operation": "add", "value": "{{ input.created_at }}", "duration": "P1M", "timezone": "Europe/Paris"},
          "Every operation but `diff` outputs `{value, iso, epoch_ms, timezone}` (`value` in `format`); `diff` "
          "outputs `{value, unit, milliseconds}` for `end - value` (whole months/years for those units). "
          "Calendar parts of a duration (Y, M, W, D) move the wall clock in the zone; time parts (H, M, S) move "
          "the instant, so `PT24H` and `P1D` differ across a DST change. A missing `value` means now: the "
          "workflow's time, identical on replay."),
    _spec("crypto", "Crypto", "fingerprint", "Hashes a value (md5, sha1, sha256, sha512...) or makes a UUID.",
          _obj({"operation": {"enum": ["hash", "uuid"], "default": "hash", "title": "Operation"},
                "value": {"title": "Value", "description": "Text to hash (non-strings hash as JSON)"},
                "algorithm": {"enum": list(HASH_ALGORITHMS), "default": "sha256", "title": "Algorithm"},
                "encoding": {"enum": ["hex", "base64"], "default": "hex", "title": "Output encoding"},
                "input_encoding": _ENCODING}),
          {"type": "object", "properties": {"value": {"type": "string"}, "algorithm": {"type": "string"}},
           "additionalProperties": False},
          {"operation": "hash", "value": "{{ input.email }}", "algorithm": "sha256"},
          "`uuid` makes a version-4 UUID from the workflow's randomness (the same on replay, different per "
          "execution). HMAC needs a secret: use `crypto.hmac` (an activity, with a credential)."),
    _spec("csv.parse", "CSV parse", "sheet", "Parses CSV text into a list of objects (or rows).",
          _obj({"text": {"type": "string", "title": "CSV text", "description": "a `{{ }}` template, e.g. "
                         "`{{ nodes.download.body }}`"},
                "delimiter": {"type": "string", "minLength": 1, "maxLength": 1, "default": ",", "title": "Delimiter"},
                "quote": {"type": "string", "minLength": 1, "maxLength": 1, "default": "\"", "title": "Quote"},
                "header": {"type": "boolean", "default": True, "title": "First row is the header"},
                "columns": {"type": "array", "items": {"type": "string"}, "title": "Column names"},
                "trim": {"type": "boolean", "default": False, "title": "Trim cells"},
                "infer_types": {"type": "boolean", "default": False, "title": "Numbers, booleans and nulls"},
                "skip_empty_lines": {"type": "boolean", "default": True},
                "max_rows": {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 100_000}},
               ("text",)),
          {"type": "array"}, {"text": "{{ nodes.download.body }}", "infer_types": True},
          "RFC 4180 CSV (quoted fields, embedded newlines). With a header: objects keyed by column (extra cells "
          "as `column_N`, missing ones null); without: lists of strings."),
    _spec("csv.format", "CSV format", "sheet", "Formats a list of objects (or lists) as CSV text.",
          _obj({"items": _ITEMS,
                "columns": {"type": "array", "items": {"type": "string"}, "title": "Columns",
                            "description": "default: every key, in order of first appearance"},
                "delimiter": {"type": "string", "minLength": 1, "maxLength": 1, "default": ","},
                "header": {"type": "boolean", "default": True, "title": "Write a header row"},
                "line_terminator": {"enum": ["\n", "\r\n"], "default": "\n"},
                "escape_formulas": {"type": "boolean", "default": False, "title": "Guard against spreadsheet "
                                    "formulas", "description": "prefix cells starting with = + - @ with '"}},
               ("items",)),
          {"type": "object", "properties": {"text": {"type": "string"}, "rows": {"type": "integer"}},
           "additionalProperties": False},
          {"items": "nodes.rows", "columns": ["id", "email"]},
          "Objects and lists become cells as JSON; null as an empty cell.", bare=("items",)),
    _spec("xml.parse", "XML parse", "code-xml", "Parses XML into JSON (safely: no DTDs, no entities).",
          _obj({"text": {"type": "string", "title": "XML text"},
                "attribute_prefix": {"type": "string", "default": "@", "title": "Attribute prefix"},
                "text_key": {"type": "string", "default": "#text", "title": "Text key"},
                "force_list": {"oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "boolean"}],
                               "title": "Always lists", "description": "element names that are always lists "
                               "(true: all)"},
                "strip_namespaces": {"type": "boolean", "default": True},
                "trim_text": {"type": "boolean", "default": True}}, ("text",)),
          {"type": "object"}, {"text": "{{ nodes.soap.body }}", "force_list": ["item"]},
          "`<a x=\"1\"><b>t</b><b>u</b></a>` becomes `{a: {\"@x\": \"1\", b: [\"t\", \"u\"]}}`. Parsed with "
          "defusedxml: documents with a DTD or entities are refused (`UnsafeXml`), so no billion laughs and no "
          "external entities."),
    _spec("xml.format", "XML format", "code-xml", "Formats JSON as XML text.",
          _obj({"value": {"title": "Value", "description": "an object; with one key and no `root`, that key is the "
                          "root element"},
                "root": {"type": "string", "title": "Root element"},
                "attribute_prefix": {"type": "string", "default": "@"},
                "text_key": {"type": "string", "default": "#text"},
                "pretty": {"type": "boolean", "default": False, "title": "Indent"},
                "declaration": {"type": "boolean", "default": True, "title": "XML declaration"}}, ("value",)),
          _TEXT_OUT, {"value": "{{ { 'order': { '@id': input.id, 'line': input.lines } } }}", "pretty": True},
          "The inverse of `xml.parse`: keys with the attribute prefix become attributes, lists repeat the "
          "element, `#text` is the element's text. Names are checked to be valid XML names."),
    _spec("html.extract", "HTML extract", "scan-search", "Extracts text, HTML or attributes by CSS selectors.",
          _obj({"html": {"type": "string", "title": "HTML"},
                "extract": {"type": "array", "minItems": 1, "title": "Extract", "items": {
                    "type": "object", "required": ["key", "selector"], "additionalProperties": False,
                    "properties": {
                        "key": {"type": "string", "minLength": 1, "title": "Output key"},
                        "selector": {"type": "string", "minLength": 1, "title": "CSS selector"},
                        "value": {"enum": ["text", "html", "outer_html", "attribute"], "default": "text"},
                        "attribute": {"type": "string", "title": "Attribute (value attribute)"},
                        "all": {"type": "boolean", "default": False, "title": "All matches (a list)"},
                        "trim": {"type": "boolean", "default": True, "title": "Collapse whitespace"},
                        "separator": {"type": "string"}}}}}, ("html", "extract")),
          {"type": "object"},
          {"html": "{{ nodes.page.body }}", "extract": [{"key": "title", "selector": "h1"},
                                                       {"key": "links", "selector": "a", "value": "attribute",
                                                        "attribute": "href", "all": True}]},
          "CSS selectors (soupsieve, on BeautifulSoup's pure-Python `html.parser`). Each entry gives one output "
          "key: the first match (null if none) or, with `all`, a list."),
    _spec("markdown", "Markdown", "file-text", "Converts Markdown to HTML, or HTML to Markdown.",
          _obj({"operation": {"enum": ["to_html", "to_markdown"], "default": "to_html", "title": "Operation"},
                "text": {"type": "string", "title": "Text"},
                "heading_style": {"enum": ["atx", "setext"], "default": "atx"},
                "bullets": {"type": "string", "default": "-", "maxLength": 3},
                "strip": {"type": "array", "items": {"type": "string"}, "title": "Tags to drop (to_markdown)"}},
               ("text",)),
          _TEXT_OUT, {"operation": "to_html", "text": "# {{ input.title }}\n\n{{ input.body }}"},
          "`to_html` uses Python-Markdown with the `extra` extensions (tables, fenced code, footnotes...). Raw "
          "HTML in the Markdown is passed through: do not feed untrusted Markdown into an HTML email without "
          "sanitising. `to_markdown` uses markdownify."),
    _spec("json_schema.validate", "Validate JSON", "shield-check", "Checks a value against a JSON Schema; routes "
          "to `valid` or `invalid`.",
          _obj({"value": {"title": "Value", "description": "a `{{ }}` template, e.g. `{{ input }}`"},
                "schema": {"type": "object", "title": "JSON Schema (2020-12)"},
                "max_errors": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 20}},
               ("value", "schema")),
          {"type": "object", "properties": {"valid": {"type": "boolean"}, "value": {}, "errors": {
              "type": "array", "items": {"type": "object", "properties": {"path": {"type": "string"},
                                                                          "message": {"type": "string"}}}}},
           "additionalProperties": False},
          {"value": "{{ input }}", "schema": {"type": "object", "required": ["email"]}},
          "Outputs `{valid, errors: [{path, message}], value}` on port `valid` or `invalid`. Formats (email, "
          "date-time...) are checked. The schema is used literally (not rendered) and checked when the "
          "definition is validated.", skip=("schema",), ports=("valid", "invalid")),
    _spec("template.render", "Render template", "braces", "Renders a Jinja2 template (sandboxed) to text.",
          _obj({"template": {"type": "string", "title": "Jinja2 template",
                             "description": "`{{ input.name }}`, `{% for x in nodes.list %}`...; not rendered as a "
                                            "wfo template"},
                "data": {"type": "string", "minLength": 1, "title": "Data",
                         "description": "JSONata for the template's variables (default: input, nodes, vars, "
                                        "execution)"},
                "autoescape": {"type": "boolean", "default": False, "title": "Escape HTML"},
                "strict": {"type": "boolean", "default": False, "title": "Fail on undefined variables"},
                "max_output_chars": {"type": "integer", "minimum": 1, "maximum": MAX_TEMPLATE_OUTPUT,
                                     "default": 100_000}}, ("template",)),
          _TEXT_OUT, {"template": "Hello {{ input.name }}!\n{% for o in input.orders %}- {{ o.id }}\n{% endfor %}"},
          "Jinja2's `ImmutableSandboxedEnvironment` (no access to internals, no mutation of data; `a.b` reads "
          "the JSON field `b` first), with bounds so a template cannot stall the workflow: 500,000 steps "
          "(loop iterations, calls, operators) in all, of which a render inside the workflow task takes at most "
          "20,000 before it is redone in the `wfo.evaluate` activity; calls nested at most 50 deep; 20 million "
          "characters built by concatenation, "
          "`join`, `replace` or repetition, output at most `max_output_chars`; huge powers and format widths "
          "are refused. `random` and `lipsum` are not available (the render must replay identically).",
          bare=("data",), skip=("template",)),
    _spec("compression", "Compression", "file-archive", "gzip/gunzip and zip/unzip, with base64 in and out.",
          _obj({"operation": {"enum": ["gzip", "gunzip", "zip", "unzip"], "default": "gzip", "title": "Operation"},
                "data": {"title": "Data", "description": "gzip: the text (or base64 with input_encoding); gunzip/"
                         "unzip: base64"},
                "input_encoding": _ENCODING,
                "output_encoding": {"enum": ["auto", "utf8", "base64"], "default": "auto",
                                    "description": "gunzip/unzip: `auto` is UTF-8 text when it decodes, else base64"},
                "files": {"type": "array", "title": "Files (zip)", "items": {
                    "type": "object", "required": ["name"], "additionalProperties": False, "properties": {
                        "name": {"type": "string", "minLength": 1}, "data": {}, "encoding": _ENCODING}}},
                "level": {"type": "integer", "minimum": 1, "maximum": 9, "default": 6},
                "max_output_bytes": {"type": "integer", "minimum": 1, "maximum": MAX_DECOMPRESSED,
                                     "default": 10 * 1024 * 1024, "title": "Max decompressed bytes"}}),
          {"type": "object", "properties": {
              "data": {"type": "string"}, "encoding": {"type": "string"}, "bytes": {"type": "integer"},
              "input_bytes": {"type": "integer"}, "files": {}}, "additionalProperties": False},
          {"operation": "gunzip", "data": "{{ nodes.download.body_base64 }}"},
          "Archives are deterministic (no timestamps). Decompression stops at `max_output_bytes` (at most "
          "50 MB) and fails with `DecompressedTooLarge`, so a zip bomb cannot exhaust the worker. zip entries "
          "must be relative paths without `..`."),
)

DATA_TYPES: frozenset[str] = frozenset(s.type for s in DATA_SPECS)
DATA_BY_TYPE: dict[str, ComponentSpec] = {s.type: s for s in DATA_SPECS}

_OPS: dict[str, Callable[[dict[str, Any], EvalEnv], Any]] = {
    "merge": op_merge, "aggregate": op_aggregate, "sort": op_sort, "limit": op_limit, "dedupe": op_dedupe,
    "split_out": op_split_out, "summarize": op_summarize, "datetime": op_datetime, "crypto": op_crypto,
    "csv.parse": op_csv_parse, "csv.format": op_csv_format, "xml.parse": op_xml_parse,
    "xml.format": op_xml_format, "html.extract": op_html_extract, "markdown": op_markdown,
    "compression": op_compression,
}


_HEAVY_TEXT = {"csv.parse": "text", "xml.parse": "text", "html.extract": "html", "markdown": "text"}


def compute_data(type_: str, config: Mapping[str, Any], context: dict[str, Any], env: EvalEnv,
                 inline: bool = False) -> tuple[Any, str]:
    """(output, port) of a pure data node. Raises DataError, or ExpressionError from its expressions;
    with `inline`, RunInActivity when the input is too large to parse inside a workflow task."""
    spec = DATA_BY_TYPE[type_]
    skip = spec.bare_expressions + spec.template_skip
    cfg = render(dict(config), context, env, skip)
    # `{{ }}` values are only checked once rendered: check the whole config now, naming the field
    for err in _config_validator(type_).iter_errors(cfg):
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)
        raise DataError(f"{type_}: config{path}: {err.message}", type="BadConfig")
    for key in spec.bare_expressions:
        if isinstance(config.get(key), str):
            cfg[key] = evaluate(config[key], context, env)
    try:
        return _compute(type_, cfg, context, env, inline)
    except (DataError, RunInActivity):
        raise
    except (TypeError, ValueError, LookupError, AttributeError, ArithmeticError, RecursionError) as err:
        # a value of an unexpected shape: fail the node, never the workflow task
        raise DataError(f"{type_}: cannot use this data ({type(err).__name__}: {err})", type="BadData") from None


@lru_cache(maxsize=None)
def _config_validator(type_: str) -> Draft202012Validator:
    return Draft202012Validator(DATA_BY_TYPE[type_].config_schema)


def _compute(type_: str, cfg: dict[str, Any], context: dict[str, Any], env: EvalEnv, inline: bool) -> tuple[Any, str]:
    if inline:
        heavy = cfg.get(_HEAVY_TEXT.get(type_, ""))
        if isinstance(heavy, str) and len(heavy) > INLINE_MAX_TEXT[type_]:
            raise RunInActivity(type_)
        if type_ == "compression" and cfg.get("operation") in ("gunzip", "unzip"):
            cfg["max_output_bytes"] = cfg.get("max_output_bytes") or 10 * 1024 * 1024
            try:
                return _OPS[type_]({**cfg, "max_output_bytes": min(int(cfg["max_output_bytes"]), INLINE_MAX_BYTES)},
                                   env), "out"
            except DataError as err:
                if err.type == "DecompressedTooLarge" and int(cfg["max_output_bytes"]) > INLINE_MAX_BYTES:
                    raise RunInActivity(type_) from None
                raise
    if type_ == "json_schema.validate":
        return op_json_schema_validate(cfg, env)
    if type_ == "template.render":
        view = {k: context.get(k) for k in ("input", "nodes", "vars", "execution")}
        return op_template_render(cfg, env, view, inline), "out"
    return _OPS[type_](cfg, env), "out"


def static_problems(type_: str, config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Problems visible without running the node, as (field, message): bad JSON Schema, bad Jinja2 syntax,
    unknown time zone, bad CSS selector. Values holding `{{ }}` templates are checked when rendered."""
    found: list[tuple[str, str]] = []
    if type_ == "json_schema.validate" and isinstance(config.get("schema"), Mapping):
        try:
            Draft202012Validator.check_schema(config["schema"])
        except SchemaError as err:
            found.append(("config.schema", f"not a valid JSON Schema: {err.message}"))
    if type_ == "template.render" and isinstance(config.get("template"), str):
        err_msg = template_syntax_error(config["template"])
        if err_msg:
            found.append(("config.template", err_msg))
    if type_ == "datetime":
        for key in ("timezone", "input_timezone"):
            v = config.get(key)
            if isinstance(v, str) and "{{" not in v:
                try:
                    _zone(v, key)
                except DataError as err:
                    found.append((f"config.{key}", err.message))
    if type_ == "html.extract" and isinstance(config.get("extract"), list):
        for i, spec in enumerate(config["extract"]):
            sel = spec.get("selector") if isinstance(spec, Mapping) else None
            if isinstance(sel, str) and "{{" not in sel:
                try:
                    _selector(sel)
                except soupsieve.SelectorSyntaxError as err:
                    found.append((f"config.extract[{i}].selector", f"bad CSS selector: {str(err).splitlines()[0]}"))
    return found


__all__ = ["DATA_SPECS", "DATA_TYPES", "DataError", "SANDBOX_PASSTHROUGH", "compute_data", "static_problems",
           "canonical", "get_path", "digest_encode", "HASH_ALGORITHMS"]
