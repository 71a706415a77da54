"""The audit trail: who (user or key), what (action, resource, tenant), when, from where, a hash of the
request body and a hash of the resource's state before and after the change, one row per state change
(table `audit_log`, model `wfo.models.AuditLog`).

Tamper evidence: rows form one chain. `hash = sha256(prev_hash | canonical JSON of the row's fields)` and
`prev_hash` is the previous row's `hash` (`GENESIS` for the first). The state hashes (`before_hash`,
`after_hash`, migration 0017) are part of the canonical JSON only when set, so rows written before they
existed still verify. Appends are serialized with a transaction advisory lock, so the chain has no forks
(several API processes share it). `verify` recomputes it: an edited row, a removed one (other than the
oldest ones pruned by retention, where the chain simply starts later) or an inserted one is reported.

Appends are group-committed (`Appender`): a process queues its entries and one writer task appends all
that are waiting (up to `MAX_BATCH`) in one transaction, so concurrent requests share one lock round and
one commit instead of taking turns.

State hashes: the request's audit scope (`open_scope`, opened by the API's audit middleware) collects
what services report with `audit_state(before=..., after=...)`: the sha256 of the canonical JSON of the
resource (`state_hash`; secret-bearing columns are left out) before and after the change, None for the
missing side of a create or delete.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import enum
import hashlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from wfo.db import PgPool

log = logging.getLogger("wfo.audit")

GENESIS = "0" * 64
_LOCK = 0x77666F_A0D1  # pg_advisory_xact_lock key of appends
_FIELDS = ("at", "tenant_id", "actor", "actor_kind", "action", "resource_type", "resource_id", "status",
           "client", "body_hash")
_OPTIONAL_FIELDS = ("before_hash", "after_hash")  # in the canonical form only when not null (0017)
MAX_BATCH = 500


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
    before_hash: str | None = None
    after_hash: str | None = None


def _canonical(row: dict[str, Any]) -> str:
    values = {}
    for name in _FIELDS + _OPTIONAL_FIELDS:
        v = row.get(name)
        if v is None and name in _OPTIONAL_FIELDS:
            continue
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


# ------------------------------------------------------------------------------------- state hashes

SECRET_COLUMNS = frozenset({"hashed_password", "hashed_key", "ciphertext", "nonce", "secret_enc", "key_id"})
"""Never part of a state hash: credential values and password/key/secret material (metadata only)."""


def _secretish(name: str) -> bool:
    return name in SECRET_COLUMNS or any(w in name for w in ("password", "secret", "token"))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        value = value.astimezone(UTC) if value.tzinfo else value
        return value.isoformat(timespec="microseconds")
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, (uuid.UUID, bytes, bytearray)):
        return value.hex() if isinstance(value, (bytes, bytearray)) else str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def state_of(obj: Any) -> dict[str, Any]:
    """The resource's state as a dict: a mapping as is; a SQLModel row by its loaded columns (never loads
    anything: an expired attribute is left out). Secret-bearing columns are dropped."""
    if isinstance(obj, dict):
        values = dict(obj)
    else:
        try:
            insp = sa_inspect(obj)
            values = {a.key: insp.dict[a.key] for a in insp.mapper.column_attrs if a.key in insp.dict}
        except Exception:  # noqa: BLE001 - not a mapped object: its public attributes
            values = {k: v for k, v in vars(obj).items() if not k.startswith("_")}
    return {k: _plain(v) for k, v in values.items() if not _secretish(k)}


def state_hash(obj: Any) -> str | None:
    """sha256 of the canonical JSON of a resource's state (None for None: the missing side of a create/delete)."""
    if obj is None:
        return None
    canon = json.dumps(state_of(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canon.encode()).hexdigest()


_UNSET: Any = object()


@dataclass
class Scope:
    """What one request changed: filled by `audit_state`, read by the audit middleware."""

    before_hash: str | None = None
    after_hash: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    resources: set[tuple[str | None, str | None]] = field(default_factory=set)
    has_before: bool = False
    has_after: bool = False

    @property
    def hashes(self) -> tuple[str | None, str | None]:
        """(before, after); none when the request changed several resources (e.g. a bulk call) or reported
        no outcome (a `before` without an `after`: refused or repeated, nothing changed)."""
        if len(self.resources) > 1 or not self.has_after:
            return None, None
        return self.before_hash, self.after_hash


_scope: contextvars.ContextVar[Scope | None] = contextvars.ContextVar("wfo_audit_scope", default=None)


@contextlib.contextmanager
def open_scope():
    scope = Scope()
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


def audit_state(*, before: Any = _UNSET, after: Any = _UNSET, resource_type: str | None = None,
                resource_id: Any = None) -> None:
    """Report a state change to the request's audit scope (no-op outside one). Call with `before=` the row
    before changing it and with `after=` the row once committed (either or both; None for the missing side
    of a create or delete). The hashes are computed now, so a row mutated afterwards does not matter."""
    scope = _scope.get()
    if scope is None:
        return
    rid = str(resource_id) if resource_id is not None else None
    if rid is None:
        for obj in (after, before):
            if obj is not _UNSET and obj is not None:
                ident = obj.get("id") if isinstance(obj, dict) else getattr(obj, "id", None)
                rid = str(ident) if ident is not None else None
                break
    scope.resources.add((resource_type, rid))
    scope.resource_type = scope.resource_type or resource_type
    scope.resource_id = scope.resource_id or rid
    if before is not _UNSET and not scope.has_before:
        scope.before_hash, scope.has_before = state_hash(before), True
    if after is not _UNSET:
        scope.after_hash, scope.has_after = state_hash(after), True


# ------------------------------------------------------------------------------------------ appends

_INSERT = """
INSERT INTO audit_log (at, tenant_id, actor, actor_kind, action, resource_type, resource_id, status, client,
                       body_hash, before_hash, after_hash, prev_hash, hash)
SELECT at, tenant_id, actor, actor_kind, action, resource_type, resource_id, status, client, body_hash,
       before_hash, after_hash, prev_hash, hash
FROM unnest($1::timestamptz[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[],
            $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[]) WITH ORDINALITY
     AS r (at, tenant_id, actor, actor_kind, action, resource_type, resource_id, status, client, body_hash,
           before_hash, after_hash, prev_hash, hash, n)
ORDER BY n
"""
"""Every row of a batch in one statement; ids follow the list's order (ORDER BY n, and we hold the lock)."""
_COLUMNS = ("at", "tenant_id", "actor", "actor_kind", "action", "resource_type", "resource_id", "status", "client",
            "body_hash", "before_hash", "after_hash", "prev", "hash")


def _row(entry: Entry) -> dict[str, Any]:
    return {**entry.__dict__, "tenant_id": str(entry.tenant_id) if entry.tenant_id else None}


@contextlib.asynccontextmanager
async def _transaction(db: AsyncEngine | PgPool) -> AsyncIterator[asyncpg.Connection]:
    """An asyncpg connection in a transaction: from a ``PgPool`` (the API), or under an engine (CLI, tests)."""
    if isinstance(db, PgPool):
        pool = await db()
        async with pool.acquire() as conn, conn.transaction():
            yield conn
    else:
        async with db.connect() as sa_conn:  # (its own transaction would start only with its own statements)
            raw = (await sa_conn.get_raw_connection()).driver_connection
            assert raw is not None
            async with raw.transaction():
                yield raw


async def append_many(db: AsyncEngine | PgPool, entries: list[Entry]) -> list[str]:
    """Append rows in order, in ONE transaction under the chain's advisory lock. Returns their hashes."""
    if not entries:
        return []
    async with _transaction(db) as conn:
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK)
        prev = await conn.fetchval("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1") or GENESIS
        columns: list[list[Any]] = [[] for _ in _COLUMNS]
        hashes = []
        for entry in entries:
            row = _row(entry)
            digest = row_hash(prev, row)
            row.update(prev=prev, hash=digest)
            for col, name in zip(columns, _COLUMNS, strict=True):
                col.append(row[name])
            hashes.append(digest)
            prev = digest
        await conn.execute(_INSERT, *columns)
    return hashes


async def append(db: AsyncEngine | PgPool, entry: Entry) -> str:
    """Append one row in a transaction of its own (the CLI, tests; the API uses an `Appender`)."""
    return (await append_many(db, [entry]))[0]


class Appender:
    """Group commit for one process and event loop: `submit` queues an entry and waits until the row is
    committed; one writer task appends everything queued (up to `max_batch`) in one transaction. A failed
    batch fails the futures of its entries (the caller logs it). `close` drains the queue. `db`: the API's
    ``PgPool`` (or an engine)."""

    def __init__(self, db: AsyncEngine | PgPool, max_batch: int = MAX_BATCH):
        self.db = db
        self.max_batch = max_batch
        self._queue: list[tuple[Entry, asyncio.Future[str]]] = []
        self._wake: asyncio.Event | None = None
        self._writer: asyncio.Task[None] | None = None
        self._closed = False
        self.batches = 0

    async def submit(self, entry: Entry) -> str:
        if self._closed:
            raise RuntimeError("the audit appender is closed")
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[str] = loop.create_future()
        self._queue.append((entry, fut))
        if self._wake is None:
            self._wake = asyncio.Event()
        self._wake.set()
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._run(), name="wfo-audit-appender")
        # shielded: a cancelled request still gets its row (the writer owns the entry now)
        return await asyncio.shield(fut)

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            if not self._queue:
                if self._closed:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch:]
            try:
                hashes = await append_many(self.db, [e for e, _ in batch])
            except BaseException as exc:  # handed to every waiting request (cancelled: they fail too)
                failure = exc if isinstance(exc, Exception) else RuntimeError("the audit writer was cancelled")
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(failure)
                        fut.exception()  # marked retrieved: the submitter may have gone (logged there)
                if not isinstance(exc, Exception):
                    for _, fut in self._queue:  # nobody writes these any more
                        if not fut.done():
                            fut.set_exception(failure)
                            fut.exception()
                    self._queue = []
                    raise
                continue
            self.batches += 1
            for (_, fut), digest in zip(batch, hashes, strict=True):
                if not fut.done():
                    fut.set_result(digest)

    async def close(self) -> None:
        """Stop taking entries and wait until everything queued is committed (or failed)."""
        self._closed = True
        if self._wake is not None:
            self._wake.set()
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await self._writer


# ----------------------------------------------------------------------------------- verify, prune

_SELECT = ("SELECT id, at, tenant_id, actor, actor_kind, action, resource_type, resource_id, status, client, "
           "body_hash, before_hash, after_hash, prev_hash, hash FROM audit_log WHERE id > :after ORDER BY id "
           "LIMIT :n")


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
            rows = (await conn.execute(text(_SELECT), {"after": last_id, "n": batch})).mappings().all()
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


PRUNE_CHUNK = 10_000


async def prune(engine: AsyncEngine, older_than: timedelta, now: datetime, chunk: int = PRUNE_CHUNK) -> int:
    """Retention: delete rows older than `older_than` (the chain then starts at the oldest kept row).

    Oldest first, `chunk` rows per transaction, so appends (which wait for the same lock) are held up for
    one chunk at a time, and the chain is valid after every chunk. Uses `ix_audit_log_at`."""
    deleted = 0
    while True:
        async with engine.begin() as conn:
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
            await conn.execute(text("SET LOCAL wfo.audit_prune = 'on'"))
            result = await conn.execute(text(
                "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < :cut ORDER BY id "
                "LIMIT :n)"), {"cut": now - older_than, "n": chunk})
        done = result.rowcount or 0
        deleted += done
        if done < chunk:
            return deleted


async def prune_loop(engine: AsyncEngine, retention: timedelta, interval_s: float) -> None:
    """Prune every `interval_s` seconds (first run right away) until cancelled; failures are logged."""
    while True:
        try:
            deleted = await prune(engine, retention, datetime.now(UTC))
            if deleted:
                log.info("audit retention: deleted %d row(s) older than %s", deleted, retention)
        except Exception as exc:  # noqa: BLE001 - the next round retries
            log.error("audit retention prune failed: %s", type(exc).__name__)
        await asyncio.sleep(interval_s)
