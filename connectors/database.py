"""`db.query`: one SQL statement against a PostgreSQL database (asyncpg).

The server is a `postgres` `credential` of the tenant's vault (resolved inside the activity), or a
`connection` DSN (``postgresql://user:pw@host:5432/db``) that definitions write as ``secret://NAME`` so the
activity wrapper resolves it; either way the DSN never enters Temporal history.
There is deliberately no default connection: a workflow cannot reach the service's own database
by omission.

Modes:
- ``fetch`` (default): ``{"rows": [{col: value}...], "row_count": n, "truncated": bool}``, at most ``max_rows``;
- ``fetchrow``: ``{"row": {col: value} | null, "row_count": 0|1}``;
- ``execute``: ``{"status": "UPDATE 3", "row_count": 3}`` (without params, `query` may hold several statements).

Parameters are positional (``$1``, ``$2``...) from `params`. JSON values are coerced to the types the server
inferred for each placeholder (ISO strings to dates/timestamps, strings/floats to numerics, objects to json...),
so templates can pass expression results directly. Values read back are made JSON-friendly: numerics become
int/float, dates and times ISO-8601 strings, UUIDs strings, bytea base64, json/jsonb decoded.

Connections come from a small pool per DSN and worker (at most `POOL_MAX_SIZE`, idle ones closed after
`POOL_IDLE_SECONDS`), so a `map` over thousands of items cannot exhaust the server's connections; each call sets its
own statement timeout, application name and read-only mode for the session, and the pool resets them on release.

Errors are `ComponentError`s; only transient ones are retried by Temporal: failing to reach the server
(refused, reset, too many connections, server starting/shutting down) and deadlock/serialization failures
(the statement was rolled back, so running it again is safe). Bad SQL, constraint violations, wrong
credentials, unknown database and statement timeouts are not retried. Messages never contain the DSN.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import decimal
import hashlib
import ipaddress
import json
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

import asyncpg
from asyncpg import exceptions as pgerr

from connectors.base import ComponentError, NodeContext
from connectors.common import credential_field, server_url
from workflows.components import ComponentSpec

DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_CONNECT_TIMEOUT_SECONDS = 10.0
DEFAULT_MAX_ROWS = 10_000
POOL_MAX_SIZE = 10
POOL_IDLE_SECONDS = 30.0

_INT_TYPES = {"int2", "int4", "int8", "oid"}
_FLOAT_TYPES = {"float4", "float8"}
_TEXT_TYPES = {"text", "varchar", "bpchar", "name", "char", "citext", "unknown"}
_RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected


class DatabaseQuery:
    spec: ClassVar[ComponentSpec] = ComponentSpec(
        "db.query", "activity",
        "Runs one SQL statement on PostgreSQL; outputs rows (fetch), one row (fetchrow) or the status (execute).",
        {
            "type": "object",
            "required": ["query"],
            "properties": {
                "credential": credential_field("postgres"),
                "connection": {
                    "type": "string", "minLength": 1,
                    "description": "DSN postgresql://user:pw@host:port/db; write it as secret://NAME "
                                   "(or use `credential`)",
                },
                "query": {"type": "string", "minLength": 1, "description": "SQL with $1, $2... placeholders"},
                "params": {"type": "array", "description": "values for $1, $2..."},
                "mode": {"enum": ["fetch", "fetchrow", "execute"]},
                "timeout_seconds": {
                    "type": "number", "exclusiveMinimum": 0, "maximum": 3600,
                    "description": "statement timeout (server side), default 30",
                },
                "connect_timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 300},
                "max_rows": {"type": "integer", "minimum": 1, "maximum": 1_000_000,
                             "description": "fetch mode: at most this many rows (default 10000)"},
                "read_only": {"type": "boolean", "description": "refuse writes (default_transaction_read_only)"},
            },
            "oneOf": [{"required": ["credential"]}, {"required": ["connection"]}],
            "additionalProperties": False,
        },
        category="integration", title="PostgreSQL", icon="database",
        output_schema={"type": "object", "properties": {
            "rows": {"type": "array", "items": {"type": "object"}}, "row": {"type": ["object", "null"]},
            "row_count": {"type": ["integer", "null"]}, "truncated": {"type": "boolean"},
            "status": {"type": "string"}}},
        idempotent=False,
        docs="Connects with a `postgres` credential from the vault (or a `connection` DSN written as "
             "`secret://NAME`). Reads are idempotent; writes are retried only on deadlock/serialization failures "
             "(rolled back by the server) and connection failures.",
        example={"credential": "billing-db", "query": "SELECT id, total FROM invoices WHERE customer = $1",
                 "params": ["{{ input.customer }}"]},
    )

    async def run(self, config: dict[str, Any], ctx: NodeContext) -> Any:
        if config.get("credential"):
            if config.get("connection"):
                raise ComponentError("db.query: give `credential` or `connection`, not both", retryable=False,
                                     type="DbConfigError")
            values = await ctx.credential(config["credential"], "postgres")
            config = {**config, "connection": server_url(values, "postgresql", 5432)}
        dsn = config.get("connection")
        if not isinstance(dsn, str) or not dsn.strip():
            raise ComponentError("db.query needs a `credential` (or a `connection`: a secret://NAME holding a DSN)",
                                 retryable=False, type="DbConfigError")
        if dsn.startswith("secret://"):
            raise ComponentError(f"db.query: connection secret {dsn[len('secret://'):]!r} was not resolved",
                                 retryable=False, type="DbConfigError")
        query = config.get("query")
        if not isinstance(query, str) or not query.strip():
            raise ComponentError("db.query needs a `query`", retryable=False, type="DbConfigError")
        params = config.get("params") or []
        if not isinstance(params, list):
            raise ComponentError("db.query: `params` must be a list", retryable=False, type="DbConfigError")
        mode = config.get("mode") or "fetch"
        if mode not in ("fetch", "fetchrow", "execute"):
            raise ComponentError(f"db.query: unknown mode {mode!r}", retryable=False, type="DbConfigError")
        timeout = float(config.get("timeout_seconds") or DEFAULT_TIMEOUT_SECONDS)
        connect_timeout = float(config.get("connect_timeout_seconds") or DEFAULT_CONNECT_TIMEOUT_SECONDS)
        max_rows = int(config.get("max_rows") or DEFAULT_MAX_ROWS)
        where = _describe(dsn)

        try:
            pool = await self._pool(dsn, connect_timeout)
            conn = await pool.acquire(timeout=connect_timeout)
        except BaseException as err:
            if isinstance(err, asyncio.CancelledError):
                raise
            raise _map_error(err, where, connecting=True) from None
        healthy = False
        try:
            await conn.fetchval(
                "SELECT set_config('statement_timeout', $1, false), set_config('application_name', $2, false), "
                "set_config('default_transaction_read_only', $3, false)",
                str(int(timeout * 1000)), f"wfo:{ctx.node_id}"[:63], "on" if config.get("read_only") else "off")
            # client-side guard a little past the server's statement_timeout
            result = await asyncio.wait_for(_run(conn, query, params, mode, max_rows, timeout), timeout + 5)
            healthy = True
            return result
        except ComponentError:
            healthy = True  # raised before or after talking to the server: the connection is fine
            raise
        except BaseException as err:
            if isinstance(err, asyncio.CancelledError):
                raise
            healthy = isinstance(err, pgerr.PostgresError) and not isinstance(
                err, (pgerr.PostgresConnectionError, pgerr.QueryCanceledError))
            raise _map_error(err, where, connecting=False, timeout=timeout) from None
        finally:
            if healthy:
                try:
                    await pool.release(conn, timeout=5)  # resets the session (RESET ALL, rollback)
                except BaseException:  # noqa: BLE001
                    conn.terminate()
            else:
                conn.terminate()
                try:
                    await pool.release(conn)
                except BaseException:  # noqa: BLE001 - already terminated
                    pass

    def __init__(self) -> None:
        self._pools: dict[tuple[int, str], asyncpg.Pool] = {}
        self._locks: dict[tuple[int, str], asyncio.Lock] = {}

    async def _pool(self, dsn: str, connect_timeout: float) -> asyncpg.Pool:
        """The pool for `dsn` on this event loop (keyed by a hash: no DSN kept as a key)."""
        key = (id(asyncio.get_running_loop()), hashlib.sha256(dsn.encode()).hexdigest())
        pool = self._pools.get(key)
        if pool is not None and not pool.is_closing():
            return pool
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            pool = self._pools.get(key)
            if pool is None or pool.is_closing():
                pool = await asyncpg.create_pool(
                    dsn, min_size=0, max_size=POOL_MAX_SIZE, max_inactive_connection_lifetime=POOL_IDLE_SECONDS,
                    init=_set_codecs, timeout=connect_timeout)
                self._pools[key] = pool
        return pool

    async def aclose(self) -> None:
        """Close every pool (worker shutdown)."""
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            try:
                await asyncio.wait_for(pool.close(), 10)
            except BaseException:  # noqa: BLE001
                pool.terminate()


async def _run(conn: asyncpg.Connection, query: str, params: list[Any], mode: str, max_rows: int,
               timeout: float) -> dict[str, Any]:
    if mode == "execute" and not params:
        status = await conn.execute(query)  # may be several statements
        return {"status": status, "row_count": _count_from_status(status)}
    stmt = await conn.prepare(query)
    args = _coerce_params(params, stmt.get_parameters())
    if mode == "fetch":
        async with conn.transaction():
            cursor = await stmt.cursor(*args)
            records = await cursor.fetch(max_rows + 1)
        truncated = len(records) > max_rows
        rows = [_row(r) for r in records[:max_rows]]
        return {"rows": rows, "row_count": len(rows), "truncated": truncated}
    if mode == "fetchrow":
        record = await stmt.fetchrow(*args)
        return {"row": _row(record) if record is not None else None, "row_count": 0 if record is None else 1}
    await stmt.fetch(*args)
    status = stmt.get_statusmsg() or ""
    return {"status": status, "row_count": _count_from_status(status)}


async def _set_codecs(conn: asyncpg.Connection) -> None:
    for typ in ("json", "jsonb"):
        await conn.set_type_codec(typ, encoder=lambda v: json.dumps(v, default=str), decoder=json.loads,
                                  schema="pg_catalog")


def _count_from_status(status: str) -> int | None:
    last = (status or "").split()[-1:] or [""]
    return int(last[0]) if last[0].isdigit() else None


# --- values in -----------------------------------------------------------------------------------

def _coerce_params(params: list[Any], types: tuple[Any, ...]) -> list[Any]:
    if len(params) != len(types):
        raise ComponentError(
            f"db.query: the query has {len(types)} placeholder(s) but `params` has {len(params)} value(s)",
            retryable=False, type="DbParamError")
    out = []
    for i, (value, typ) in enumerate(zip(params, types, strict=True), start=1):
        try:
            out.append(_coerce(value, typ.name, typ.kind))
        except (ValueError, TypeError, decimal.InvalidOperation, ArithmeticError) as err:
            raise ComponentError(
                f"db.query: parameter ${i} ({_short(value)}) is not a valid {typ.name}: {err}",
                retryable=False, type="DbParamError") from None
    return out


def _coerce(value: Any, name: str, kind: str) -> Any:
    if value is None:
        return None
    if kind == "array" and name.endswith("[]"):
        if not isinstance(value, list):
            raise TypeError("expected a list")
        return [_coerce(v, name[:-2], "scalar") for v in value]
    if name in ("json", "jsonb"):
        return value
    if name in _INT_TYPES:
        if isinstance(value, bool):
            raise TypeError("expected an integer, got a boolean")
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError("expected an integer")
            return int(value)
        if isinstance(value, str):
            return int(value.strip())
        return value
    if name == "numeric":
        if isinstance(value, bool):
            raise TypeError("expected a number, got a boolean")
        if isinstance(value, (int, float, str)):
            return decimal.Decimal(str(value).strip())
        return value
    if name in _FLOAT_TYPES:
        if isinstance(value, bool):
            raise TypeError("expected a number, got a boolean")
        if isinstance(value, (int, str)):
            return float(value)
        return value
    if name == "bool":
        if isinstance(value, str):
            low = value.strip().lower()
            if low in ("true", "t", "yes", "y", "1", "on"):
                return True
            if low in ("false", "f", "no", "n", "0", "off"):
                return False
            raise ValueError("expected a boolean")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return bool(value)
        return value
    if name in ("timestamptz", "timestamp") and isinstance(value, str):
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        if name == "timestamptz" and parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        if name == "timestamp" and parsed.tzinfo is not None:
            parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
        return parsed
    if name == "date" and isinstance(value, str):
        text = value.strip()
        return dt.date.fromisoformat(text[:10]) if len(text) > 10 else dt.date.fromisoformat(text)
    if name in ("time", "timetz") and isinstance(value, str):
        return dt.time.fromisoformat(value.strip())
    if name == "interval" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return dt.timedelta(seconds=value)
    if name == "uuid" and isinstance(value, str):
        return uuid.UUID(value.strip())
    if name == "bytea" and isinstance(value, str):
        return base64.b64decode(value, validate=True)
    if name in _TEXT_TYPES and not isinstance(value, str):
        if isinstance(value, (dict, list)):
            return json.dumps(value)
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)
    return value


# --- values out ----------------------------------------------------------------------------------

def _row(record: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        out[key] = _jsonable(value)
    return out


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else str(value)
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return str(value)
        return int(value) if value == value.to_integral_value() and abs(value) < 2**63 else float(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, asyncpg.Record):
        return _row(value)
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address,
                          ipaddress.IPv4Network, ipaddress.IPv6Network,
                          ipaddress.IPv4Interface, ipaddress.IPv6Interface)):
        return str(value)
    return str(value)


# --- errors --------------------------------------------------------------------------------------

def _describe(dsn: str) -> str:
    """`host:port/db` of a DSN, for messages: never the user or password."""
    try:
        parts = urlsplit(dsn)
        host = parts.hostname or "localhost"
        port = parts.port or 5432
        db = parts.path.lstrip("/") or "?"
        return f"{host}:{port}/{db}"
    except ValueError:
        return "the configured database"


def _map_error(err: BaseException, where: str, *, connecting: bool, timeout: float | None = None) -> ComponentError:
    if isinstance(err, (pgerr.InvalidPasswordError, pgerr.InvalidAuthorizationSpecificationError)):
        return ComponentError(f"db.query: authentication to {where} failed", retryable=False, type="DbAuthError")
    if isinstance(err, pgerr.InvalidCatalogNameError):
        return ComponentError(f"db.query: database {where} does not exist", retryable=False, type="DbConfigError")
    if isinstance(err, pgerr.QueryCanceledError):
        return ComponentError(
            f"db.query on {where}: statement cancelled ({err})" if "timeout" not in str(err)
            else f"db.query on {where}: statement timed out after {timeout:g}s",
            retryable=False, type="DbTimeout")
    if isinstance(err, (pgerr.PostgresConnectionError, pgerr.CannotConnectNowError,
                        pgerr.TooManyConnectionsError, pgerr.AdminShutdownError, pgerr.CrashShutdownError,
                        pgerr.ConnectionDoesNotExistError)):
        return ComponentError(f"db.query: connection to {where} failed: {type(err).__name__}: {err}",
                              retryable=True, type="DbConnectionError")
    if isinstance(err, pgerr.PostgresError):
        sqlstate = getattr(err, "sqlstate", None) or ""
        retryable = sqlstate in _RETRYABLE_SQLSTATES
        details = {"sqlstate": sqlstate}
        for attr in ("detail", "hint", "constraint_name", "table_name", "column_name"):
            val = getattr(err, attr, None)
            if val:
                details[attr] = str(val)[:500]
        return ComponentError(f"db.query on {where}: {type(err).__name__}: {err}", retryable=retryable,
                              type="DbSerializationError" if retryable else "DbQueryError", details=details)
    if isinstance(err, (asyncio.TimeoutError, TimeoutError)):
        if connecting:
            return ComponentError(f"db.query: no connection to {where} within the connect timeout "
                                  "(server unreachable or every pooled connection busy)", retryable=True,
                                  type="DbConnectionError")
        return ComponentError(f"db.query on {where}: statement timed out after {timeout:g}s",
                              retryable=False, type="DbTimeout")
    if isinstance(err, (OSError, ConnectionError, pgerr.InternalClientError)) or (
            connecting and isinstance(err, pgerr.InterfaceError) and "connection" in str(err).lower()):
        return ComponentError(f"db.query: cannot reach {where}: {type(err).__name__}", retryable=True,
                              type="DbConnectionError")
    if isinstance(err, (pgerr.ClientConfigurationError, ValueError)) and connecting:
        # asyncpg's DSN parse errors may quote the DSN: say only that it is invalid
        return ComponentError("db.query: the connection string is not a valid postgresql:// DSN",
                              retryable=False, type="DbConfigError")
    if isinstance(err, pgerr.InterfaceError) and not connecting:
        # e.g. "invalid input for query argument $1": a client-side type error, the message quotes values
        return ComponentError(f"db.query on {where}: {err}", retryable=False, type="DbParamError")
    if isinstance(err, pgerr.DataError):
        return ComponentError(f"db.query on {where}: {err}", retryable=False, type="DbParamError")
    return ComponentError(f"db.query on {where}: {type(err).__name__}", retryable=False, type="DbError")


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit] + "..."
