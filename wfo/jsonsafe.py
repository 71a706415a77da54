"""JSON a third party sends us, made storable: refuse what JSON forbids, scrub what Postgres can't hold."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

from pydantic import AfterValidator

from wfo.errors import InvalidInput

MAX_DEPTH = 64


class UnstorableJSON(InvalidInput, ValueError):
    """JSON a third party sent that cannot be stored (NaN, too deep, ...)."""


def _constant(name: str) -> Any:
    raise UnstorableJSON(f"{name} is not valid JSON")


def loads_strict(raw: bytes | str) -> Any:
    """``json.loads`` refusing NaN/Infinity and nesting deeper than ``MAX_DEPTH``."""
    try:
        value = json.loads(raw, parse_constant=_constant)
    except RecursionError:
        raise UnstorableJSON(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    check_depth(value)
    return value


def check_depth(value: Any, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise UnstorableJSON(f"JSON nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        for v in value.values():
            check_depth(v, depth + 1)
    elif isinstance(value, list):
        for v in value:
            check_depth(v, depth + 1)
    elif isinstance(value, float) and not math.isfinite(value):
        raise UnstorableJSON("NaN and Infinity are not valid JSON numbers")


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON (what a JSONB column stores); non-JSON leaves become strings."""
    return json.loads(json.dumps(value, default=str))


def scrub_nul(value: Any) -> Any:
    """A copy with NUL characters replaced by U+FFFD (Postgres text/JSONB cannot store NUL)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, dict):
        return {scrub_nul(k): scrub_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_nul(v) for v in value]
    return value


def _no_nul(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    return value


def _storable(value: Any) -> Any:
    try:
        check_depth(value)
    except UnstorableJSON as exc:
        raise ValueError(str(exc)) from None
    if scrub_nul(value) != value:
        raise ValueError("NUL characters (\\u0000) are not allowed in stored JSON")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
"""A string Postgres can store."""
StorableJSON = Annotated[Any, AfterValidator(_storable)]
"""A JSON value Postgres JSONB can store (finite numbers, no NUL, bounded depth)."""
