"""The audit trail: who (user or key), what (action, resource, tenant), when, from where, and a hash of the
request body, one row per state change (table `audit_log`, model `wfo.models.AuditLog`).

Tamper evidence: rows form one chain. `hash = sha256(prev_hash | canonical JSON of the row's fields)` and
`prev_hash` is the previous row's `hash` (`GENESIS` for the first). Appends are serialized with a transaction
advisory lock, so the chain has no forks. `verify` recomputes it: an edited row, a removed one (other than
the oldest ones pruned by retention, where the chain simply starts later) or an inserted one is reported.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

GENESIS = "0" * 64
_LOCK = 0x77666F_A0D1  # pg_advisory_xact_lock key of appends
_FIELDS = ("at", "tenant_id", "actor", "actor_kind", "action", "resource_type", "resource_id", "status",
           "client", "body_hash")


@dataclass
class Entry:
    at: datetime
    action: str
    status: int
    tenant_id: uuid.UUID | str | None = None
    actor: str | None = None
    actor_kind: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    client: str | None = None
    body_hash: str | None = None


def _canonical(row: dict[str, Any]) -> str:
    values = {}
    for name in _FIELDS:
        v = row.get(name)
        if isinstance(v, datetime):
            v = v.isoformat(timespec="microseconds")
        elif v is not None and not isinstance(v, (str, int)):
            v = str(v)
        values[name] = v
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def row_hash(prev_hash: str, row: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + "|" + _canonical(row)).encode()).hexdigest()


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


async def append(engine: AsyncEngine, entry: Entry) -> str:
    """Append one row (serialized: reads the chain's head under an advisory lock). Returns its hash."""
    row = {**entry.__dict__, "at": entry.at.replace(microsecond=entry.at.microsecond),
           "tenant_id": str(entry.tenant_id) if entry.tenant_id else None}
    async with engine.begin() as conn:
        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
        prev = (await conn.execute(text("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1"))).scalar()
        prev = prev or GENESIS
        digest = row_hash(prev, row)
        await conn.execute(text(
            "INSERT INTO audit_log (at, tenant_id, actor, actor_kind, action, resource_type, resource_id, status, "
            "client, body_hash, prev_hash, hash) VALUES (:at, CAST(:tenant_id AS uuid), :actor, :actor_kind, "
            ":action, :resource_type, :resource_id, :status, :client, :body_hash, :prev, :hash)"),
            {**row, "prev": prev, "hash": digest})
    return digest


@dataclass
class Verification:
    rows: int
    broken_at: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_at is None


async def verify(engine: AsyncEngine, batch: int = 5000) -> Verification:
    """Walk the whole chain in id order and recompute every hash."""
    checked, last_id, prev = 0, 0, None
    async with engine.connect() as conn:
        while True:
            rows = (await conn.execute(text(
                "SELECT id, at, tenant_id, actor, actor_kind, action, resource_type, resource_id, status, client, "
                "body_hash, prev_hash, hash FROM audit_log WHERE id > :after ORDER BY id LIMIT :n"),
                {"after": last_id, "n": batch})).mappings().all()
            if not rows:
                return Verification(checked)
            for r in rows:
                row = dict(r)
                if prev is not None and row["prev_hash"] != prev:
                    return Verification(checked, row["id"], "prev_hash does not match the previous row "
                                                            "(a row was removed or inserted)")
                row["tenant_id"] = str(row["tenant_id"]) if row["tenant_id"] else None
                if row_hash(row["prev_hash"], row) != row["hash"]:
                    return Verification(checked, row["id"], "hash does not match the row (the row was changed)")
                prev, last_id, checked = row["hash"], row["id"], checked + 1


async def prune(engine: AsyncEngine, older_than: timedelta, now: datetime) -> int:
    """Retention: delete rows older than `older_than` (the chain then starts at the oldest kept row)."""
    async with engine.begin() as conn:
        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
        await conn.execute(text("SET LOCAL wfo.audit_prune = 'on'"))
        result = await conn.execute(text("DELETE FROM audit_log WHERE at < :cut"), {"cut": now - older_than})
    return result.rowcount or 0
