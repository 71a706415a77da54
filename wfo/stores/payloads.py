"""Where large node inputs/outputs live instead of Temporal history: a small interface, Postgres behind it."""

from __future__ import annotations

import json
import uuid
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from workflows.engine import REF_KEY, is_ref, json_size

REF_PREFIX = "payload:"


class PayloadStore(Protocol):
    async def put(self, data: bytes, tenant_id: str | None, execution_id: str | None = None) -> str: ...

    async def get(self, key: str) -> bytes: ...


class SqlPayloadStore:
    """The `payloads` table (created by the migrations) through an SQLAlchemy async engine.

    The one payload store: the API, the hooks and the worker's activities all use it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def put(self, data: bytes, tenant_id: str | None, execution_id: str | None = None) -> str:
        key = uuid.uuid4().hex
        async with self._engine.begin() as conn:
            await conn.execute(text("INSERT INTO payloads (id, tenant_id, data, size, execution_id) "
                                    "VALUES (:id, :t, :d, :s, :e)"),
                               {"id": key, "t": tenant_id, "d": data, "s": len(data), "e": execution_id})
        return key

    async def get(self, key: str) -> bytes:
        async with self._engine.connect() as conn:
            data = (await conn.execute(text("SELECT data FROM payloads WHERE id = :id"), {"id": key})).scalar()
        if data is None:
            raise KeyError(f"stored payload {key} not found")
        return bytes(data)


async def offload_if_large(value: Any, store: PayloadStore, threshold: int, tenant_id: str | None = None,
                           execution_id: str | None = None) -> Any:
    """Replace `value` by a reference if its JSON form exceeds `threshold` bytes."""
    if value is None or is_ref(value):
        return value
    size = json_size(value)
    if size <= threshold:
        return value
    key = await store.put(json.dumps(value, separators=(",", ":"), default=str).encode(), tenant_id, execution_id)
    return {REF_KEY: REF_PREFIX + key, "size": size}


async def resolve(value: Any, store: PayloadStore) -> Any:
    """Load a reference's data (other values are returned as they are)."""
    if is_ref(value) and value[REF_KEY].startswith(REF_PREFIX):
        return json.loads(await store.get(value[REF_KEY][len(REF_PREFIX):]))
    return value


async def resolve_context(ctx: dict[str, Any], store: PayloadStore) -> dict[str, Any]:
    out = dict(ctx)
    out["input"] = await resolve(ctx.get("input"), store)
    out["nodes"] = {k: await resolve(v, store) for k, v in (ctx.get("nodes") or {}).items()}
    return out
