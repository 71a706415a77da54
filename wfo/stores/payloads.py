"""Where large node inputs/outputs live instead of Temporal history: a small interface, Postgres behind it.

Invariant: a payload is read only by its own tenant and its own execution tree (the execution that stored
it, its parent or its children: child ids are `<parent id>/<node>/<seq>/<i>`). A reference to any other
payload reads as "not found" (ids are visible in the Temporal UI and can come back in HTTP responses or
user input, so an id alone must never be enough).
"""

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

    async def get(self, key: str, tenant_id: str | None, execution_id: str | None) -> bytes:
        """The payload's data if `tenant_id`/`execution_id` may read it (module invariant); else KeyError."""
        ...


def execution_root(execution_id: str) -> str:
    """The top-level execution of a (child) execution id."""
    return execution_id.split("/", 1)[0]


def may_read(owner_tenant: Any, owner_execution: str | None, tenant_id: str | None,
             execution_id: str | None) -> bool:
    """The module invariant. A payload stored without an execution is readable within its tenant."""
    if (str(owner_tenant) if owner_tenant else None) != (str(tenant_id) if tenant_id else None):
        return False
    if owner_execution is None:
        return True
    return execution_id is not None and execution_root(owner_execution) == execution_root(execution_id)


def _checked(key: str, row: Any, tenant_id: str | None, execution_id: str | None) -> bytes:
    if row is None or not may_read(row[1], row[2], tenant_id, execution_id):
        raise KeyError(f"stored payload {key} not found")
    return bytes(row[0])


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

    async def get(self, key: str, tenant_id: str | None, execution_id: str | None) -> bytes:
        async with self._engine.connect() as conn:
            row = (await conn.execute(text("SELECT data, tenant_id, execution_id FROM payloads WHERE id = :id"),
                                      {"id": key})).first()
        return _checked(key, row, tenant_id, execution_id)


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


async def resolve(value: Any, store: PayloadStore, tenant_id: str | None, execution_id: str | None) -> Any:
    """Load a reference's data for `tenant_id`/`execution_id` (other values are returned as they are).

    KeyError if the payload does not exist or belongs to another tenant or execution tree."""
    if is_ref(value) and value[REF_KEY].startswith(REF_PREFIX):
        return json.loads(await store.get(value[REF_KEY][len(REF_PREFIX):], tenant_id, execution_id))
    return value


async def resolve_context(ctx: dict[str, Any], store: PayloadStore, tenant_id: str | None,
                          execution_id: str | None) -> dict[str, Any]:
    out = dict(ctx)
    out["input"] = await resolve(ctx.get("input"), store, tenant_id, execution_id)
    out["nodes"] = {k: await resolve(v, store, tenant_id, execution_id) for k, v in (ctx.get("nodes") or {}).items()}
    return out

