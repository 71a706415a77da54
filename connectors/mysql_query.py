"""`mysql.query`: one SQL statement on MySQL or MariaDB (aiomysql), with a `mysql` credential.

Placeholders are `%s` (positional, `params` a list) or `%(name)s` (`params` an object); values are
escaped by the driver, never interpolated by us. Modes and outputs are those of `db.query`:
``fetch`` -> {rows, row_count, truncated} (at most `max_rows`), ``fetchrow`` -> {row, row_count},
``execute`` -> {row_count, last_insert_id}. Autocommit; `read_only` runs the statement in a
read-only transaction. The statement timeout is enforced by the server (MariaDB
`max_statement_time`, MySQL `max_execution_time`) and a client-side guard.

Retried: failing to reach the server, lost connections, deadlocks and lock-wait timeouts. Not retried:
SQL errors, constraint violations, wrong credentials, unknown database, statement timeouts.
One pool (at most `POOL_MAX_SIZE` connections) per credential and worker; messages never hold credentials.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

import aiomysql
import pymysql

from connectors.base import ComponentError, NodeContext
from connectors.common import ClientCache, credential_field, validate_config
from connectors.database import _jsonable
from workflows.components import ComponentSpec

DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_CONNECT_TIMEOUT_SECONDS = 10.0
DEFAULT_MAX_ROWS = 10_000
POOL_MAX_SIZE = 10

_CONNECT_ERRORS = {2002, 2003, 2005, 2006, 2013, 2055, 1040, 1053}  # unreachable, gone away, too many connections
_RETRYABLE_ERRORS = {1205, 1213}  # lock wait timeout, deadlock (the statement was rolled back)
_AUTH_ERRORS = {1044, 1045, 1698}
_TIMEOUT_ERRORS = {1969, 3024}  # MariaDB max_statement_time, MySQL max_execution_time


def _params(values: dict[str, Any]) -> dict[str, Any]:
    url = values.get("url")
    if isinstance(url, str) and url:
        parts = urlsplit(url)
        return {"host": parts.hostname or "127.0.0.1", "port": parts.port or 3306,
                "user": unquote(parts.username or "") or None, "password": unquote(parts.password or ""),
                "db": parts.path.lstrip("/") or None}
    return {"host": values.get("host") or "127.0.0.1", "port": int(values.get("port") or 3306),
            "user": values.get("username") or None, "password": values.get("password") or "",
            "db": values.get("database") or None}


class MysqlQuery:
    spec: ClassVar[ComponentSpec] = ComponentSpec(
        "mysql.query", "activity",
        "Runs one SQL statement on MySQL/MariaDB; outputs rows (fetch), one row (fetchrow) or the row count (execute).",
        {
            "type": "object",
            "required": ["credential", "query"],
            "properties": {
                "credential": credential_field("mysql"),
                "query": {"type": "string", "minLength": 1, "title": "SQL",
                          "description": "with %s (params a list) or %(name)s (params an object) placeholders"},
                "params": {"type": ["array", "object"], "title": "Parameters"},
                "mode": {"enum": ["fetch", "fetchrow", "execute"], "default": "fetch"},
                "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 3600, "default": 30},
                "connect_timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 300},
                "max_rows": {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": DEFAULT_MAX_ROWS},
                "read_only": {"type": "boolean", "description": "run in a read-only transaction"},
            },
            "additionalProperties": False,
        },
        category="integration", title="MySQL / MariaDB", icon="database",
        output_schema={"type": "object", "properties": {
            "rows": {"type": "array", "items": {"type": "object"}}, "row": {"type": ["object", "null"]},
            "row_count": {"type": ["integer", "null"]}, "truncated": {"type": "boolean"},
            "last_insert_id": {"type": ["integer", "null"]}}},
        idempotent=False,
        docs="Reads (`fetch`, `fetchrow`) are idempotent; writes (`execute`) are retried only when the server "
             "rolled the statement back (deadlock, lock wait timeout) or was unreachable, so make writes "
             "idempotent (`INSERT ... ON DUPLICATE KEY UPDATE`) when a lost answer must not apply them twice.",
        example={"credential": "shop-db", "query": "SELECT id, total FROM orders WHERE customer = %s",
                 "params": ["{{ input.customer }}"]},
    )

    def __init__(self) -> None:
        self._pools: ClientCache[aiomysql.Pool] = ClientCache(_close_pool)

    async def aclose(self) -> None:
        await self._pools.aclose()

    async def run(self, config: dict[str, Any], ctx: NodeContext) -> Any:
        validate_config(self.spec, config)
        values = await ctx.credential(config["credential"], "mysql")
        conn_params = _params(values)
        where = f"{conn_params['host']}:{conn_params['port']}/{conn_params['db'] or ''}"
        timeout = float(config.get("timeout_seconds") or DEFAULT_TIMEOUT_SECONDS)
        connect_timeout = float(config.get("connect_timeout_seconds") or DEFAULT_CONNECT_TIMEOUT_SECONDS)
        max_rows = int(config.get("max_rows") or DEFAULT_MAX_ROWS)
        mode = config.get("mode") or "fetch"
        params = config.get("params")

        async def create() -> aiomysql.Pool:
            return await aiomysql.create_pool(minsize=0, maxsize=POOL_MAX_SIZE, autocommit=True, charset="utf8mb4",
                                              connect_timeout=connect_timeout, pool_recycle=300, **conn_params)

        try:
            pool = await asyncio.wait_for(self._pools.get(values, create, lambda p: not (p.closed or p._closing)), connect_timeout)
            conn = await asyncio.wait_for(pool.acquire(), connect_timeout)
        except asyncio.CancelledError:
            raise
        except BaseException as err:  # noqa: BLE001 - mapped, never leaks the credential
            await self._pools.drop(values)
            raise _map_error(err, where, connecting=True, timeout=timeout) from None
        healthy = False
        try:
            await _set_timeout(conn, timeout)
            result = await asyncio.wait_for(_run(conn, config["query"], params, mode, max_rows,
                                                 bool(config.get("read_only"))), timeout + 5)
            healthy = True
            return result
        except asyncio.CancelledError:
            raise
        except BaseException as err:  # noqa: BLE001
            code = _code(err)
            healthy = isinstance(err, pymysql.err.MySQLError) and code not in _CONNECT_ERRORS
            raise _map_error(err, where, connecting=False, timeout=timeout) from None
        finally:
            if healthy:
                pool.release(conn)
            else:
                conn.close()
                pool.release(conn)


async def _close_pool(pool: aiomysql.Pool) -> None:
    pool.close()
    await pool.wait_closed()


async def _set_timeout(conn: aiomysql.Connection, timeout: float) -> None:
    async with conn.cursor() as cur:
        try:
            await cur.execute("SET SESSION max_statement_time = %s", (timeout,))  # MariaDB (seconds)
        except pymysql.err.MySQLError:
            try:
                await cur.execute("SET SESSION max_execution_time = %s", (int(timeout * 1000),))  # MySQL (ms)
            except pymysql.err.MySQLError:
                pass


async def _run(conn: aiomysql.Connection, query: str, params: Any, mode: str, max_rows: int,
               read_only: bool) -> dict[str, Any]:
    async with conn.cursor(aiomysql.DictCursor) as cur:
        if read_only:
            await cur.execute("START TRANSACTION READ ONLY")
        try:
            args = tuple(params) if isinstance(params, list) else (params or None)
            count = await cur.execute(query, args)
            if mode == "execute":
                return {"row_count": count, "last_insert_id": cur.lastrowid or None}
            if mode == "fetchrow":
                row = await cur.fetchone()
                return {"row": _row(row) if row is not None else None, "row_count": 0 if row is None else 1}
            rows = await cur.fetchmany(max_rows + 1) if cur.description else []
            truncated = len(rows) > max_rows
            out = [_row(r) for r in rows[:max_rows]]
            return {"rows": out, "row_count": len(out), "truncated": truncated}
        finally:
            if read_only:
                await cur.execute("ROLLBACK")


def _row(record: dict[str, Any]) -> dict[str, Any]:
    return {str(k): _jsonable(v) for k, v in record.items()}


def _code(err: BaseException) -> int | None:
    args = getattr(err, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _map_error(err: BaseException, where: str, *, connecting: bool, timeout: float) -> ComponentError:
    code = _code(err)
    message = str(err.args[1]) if isinstance(err, pymysql.err.MySQLError) and len(err.args) > 1 else ""
    if code in _AUTH_ERRORS:
        return ComponentError(f"mysql.query: access to {where} denied", retryable=False, type="DbAuthError")
    if code == 1049:
        return ComponentError(f"mysql.query: database {where} does not exist", retryable=False, type="DbConfigError")
    if code in _TIMEOUT_ERRORS or (isinstance(err, (asyncio.TimeoutError, TimeoutError)) and not connecting):
        return ComponentError(f"mysql.query on {where}: statement timed out after {timeout:g}s", retryable=False,
                              type="DbTimeout")
    if code in _CONNECT_ERRORS or isinstance(err, (OSError, asyncio.TimeoutError, TimeoutError)) or (
            connecting and not isinstance(err, pymysql.err.MySQLError)):
        return ComponentError(f"mysql.query: cannot reach {where}: {type(err).__name__}", retryable=True,
                              type="DbConnectionError")
    if code in _RETRYABLE_ERRORS:
        return ComponentError(f"mysql.query on {where}: {message[:300]}", retryable=True, type="DbSerializationError")
    if isinstance(err, pymysql.err.MySQLError):
        return ComponentError(f"mysql.query on {where}: ({code}) {message[:500]}", retryable=False,
                              type="DbQueryError", details={"code": code})
    if isinstance(err, (TypeError, ValueError, KeyError)):  # params not matching the placeholders
        return ComponentError(f"mysql.query on {where}: parameters do not match the placeholders "
                              f"({type(err).__name__})", retryable=False, type="DbParamError")
    return ComponentError(f"mysql.query on {where}: {type(err).__name__}", retryable=False, type="DbError")
