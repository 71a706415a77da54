"""`db.query` against the real local Postgres (a private database from the `database_url` fixture)."""

from __future__ import annotations

import time
import uuid
from types import SimpleNamespace

import jsonschema
import pytest

from connectors.base import ComponentError, NodeContext
from connectors.database import DatabaseQuery
from connectors.registry import default_registry
from wfo.settings import Settings


def _ctx() -> NodeContext:
    return NodeContext(execution_id="exec-1", node_id="q", attempt=1, idempotency_key="exec-1/q/1",
                       services=SimpleNamespace(settings=Settings(environment="test")))


CONNECTOR = DatabaseQuery()  # one instance, like a worker: its pools are shared by the tests


@pytest.fixture(scope="module", autouse=True)
async def _close_pools():
    yield
    await CONNECTOR.aclose()


async def run(config: dict, node_id: str = "q") -> dict:
    jsonschema.validate(config, DatabaseQuery.spec.config_schema)
    ctx = _ctx()
    ctx.node_id = node_id
    return await CONNECTOR.run(config, ctx)


@pytest.fixture
async def table(database_url: str):
    """A scratch table in the session's database, dropped afterwards (the migrations-vs-models test reads
    the same database)."""
    name = f"t_{uuid.uuid4().hex[:8]}"
    await run({"connection": database_url, "mode": "execute", "query": f"""
        CREATE TABLE {name} (id serial PRIMARY KEY, email text UNIQUE NOT NULL, amount numeric(12,2),
                             born date, seen timestamptz, meta jsonb, ref uuid, tags text[], ok boolean)"""})
    yield name
    await run({"connection": database_url, "mode": "execute", "query": f"DROP TABLE IF EXISTS {name}"})


def test_registered():
    assert "db.query" in default_registry()
    assert default_registry().get("db.query").kind == "activity"


async def test_insert_fetch_roundtrip_with_coercion(database_url: str, table: str):
    ref = str(uuid.uuid4())
    ins = await run({"connection": database_url, "mode": "execute",
                     "query": f"INSERT INTO {table} (email, amount, born, seen, meta, ref, tags, ok) "
                              "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                     # JSON-ish values as an expression would produce them
                     "params": ["a@example.com", 12.5, "1990-04-01", "2024-05-06T07:08:09Z",
                                {"src": "web", "n": [1, 2]}, ref, ["x", "y"], "true"]})
    assert ins == {"status": "INSERT 0 1", "row_count": 1}
    await run({"connection": database_url, "mode": "execute",
               "query": f"INSERT INTO {table} (email, amount) VALUES ($1, $2)", "params": ["b@example.com", "3"]})

    out = await run({"connection": database_url, "query": f"SELECT * FROM {table} ORDER BY id"})
    assert out["row_count"] == 2 and out["truncated"] is False
    first = out["rows"][0]
    assert first["email"] == "a@example.com"
    assert first["amount"] == 12.5
    assert first["born"] == "1990-04-01"
    assert first["seen"].startswith("2024-05-06T07:08:09")
    assert first["meta"] == {"src": "web", "n": [1, 2]}
    assert first["ref"] == ref and first["tags"] == ["x", "y"] and first["ok"] is True
    assert out["rows"][1]["amount"] == 3 and out["rows"][1]["meta"] is None

    row = await run({"connection": database_url, "mode": "fetchrow",
                     "query": f"SELECT id, email FROM {table} WHERE email = $1", "params": ["b@example.com"]})
    assert row == {"row": {"id": 2, "email": "b@example.com"}, "row_count": 1}
    none = await run({"connection": database_url, "mode": "fetchrow",
                      "query": f"SELECT id FROM {table} WHERE id = $1", "params": [99.0]})
    assert none == {"row": None, "row_count": 0}

    upd = await run({"connection": database_url, "mode": "execute",
                     "query": f"UPDATE {table} SET ok = $1", "params": [False]})
    assert upd == {"status": "UPDATE 2", "row_count": 2}


async def test_fetch_caps_rows_and_returning(database_url: str, table: str):
    out = await run({"connection": database_url, "max_rows": 3,
                     "query": f"INSERT INTO {table} (email) SELECT 'u' || g || '@x.org' FROM generate_series(1, 5) g "
                              "RETURNING id"})
    assert out["row_count"] == 3 and out["truncated"] is True
    count = await run({"connection": database_url, "mode": "fetchrow", "query": f"SELECT count(*) AS n FROM {table}"})
    assert count["row"]["n"] == 5  # the whole statement ran and committed


async def test_multi_statement_execute(database_url: str, table: str):
    out = await run({"connection": database_url, "mode": "execute",
                     "query": f"INSERT INTO {table} (email) VALUES ('m1@x.org'); "
                              f"DELETE FROM {table} WHERE email = 'm1@x.org'"})
    assert out == {"status": "DELETE 1", "row_count": 1}


async def test_statement_timeout_is_not_retried(database_url: str):
    t0 = time.monotonic()
    with pytest.raises(ComponentError) as exc:
        await run({"connection": database_url, "query": "SELECT pg_sleep(5)", "timeout_seconds": 0.3})
    assert time.monotonic() - t0 < 3
    assert exc.value.type == "DbTimeout" and exc.value.retryable is False
    assert "timed out after 0.3s" in exc.value.message


async def test_connection_refused_is_retryable_and_hides_password():
    dsn = "postgresql://alice:s3cr3t-pw@127.0.0.1:1/db"
    with pytest.raises(ComponentError) as exc:
        await run({"connection": dsn, "query": "SELECT 1", "connect_timeout_seconds": 2})
    assert exc.value.retryable is True and exc.value.type == "DbConnectionError"
    assert "s3cr3t" not in exc.value.message and "alice" not in exc.value.message
    assert "127.0.0.1:1/db" in exc.value.message


async def test_unknown_database_not_retried_and_hides_password(database_url: str):
    dsn = database_url.rsplit("/", 1)[0].replace("postgres@", "postgres:hunter2@") + "/no_such_db_wfo"
    with pytest.raises(ComponentError) as exc:
        await run({"connection": dsn, "query": "SELECT 1"})
    assert exc.value.retryable is False
    assert "hunter2" not in exc.value.message and "hunter2" not in str(exc.value.details)


async def test_invalid_dsn_not_echoed():
    with pytest.raises(ComponentError) as exc:
        await CONNECTOR.run({"connection": "postgresql://u:topsecret@host:notaport/db", "query": "SELECT 1"}, _ctx())
    assert exc.value.retryable is False and "topsecret" not in exc.value.message


async def test_sql_errors_not_retried(database_url: str, table: str):
    with pytest.raises(ComponentError) as exc:
        await run({"connection": database_url, "query": "SELEC 1"})
    assert exc.value.retryable is False and exc.value.type == "DbQueryError"
    assert exc.value.details["sqlstate"] == "42601"

    await run({"connection": database_url, "mode": "execute",
               "query": f"INSERT INTO {table} (email) VALUES ($1)", "params": ["dup@x.org"]})
    with pytest.raises(ComponentError) as exc:
        await run({"connection": database_url, "mode": "execute",
                   "query": f"INSERT INTO {table} (email) VALUES ($1)", "params": ["dup@x.org"]})
    assert exc.value.retryable is False and exc.value.details["sqlstate"] == "23505"
    assert exc.value.details["constraint_name"].endswith("email_key")


async def test_bad_params(database_url: str, table: str):
    with pytest.raises(ComponentError) as exc:
        await run({"connection": database_url, "query": f"SELECT * FROM {table} WHERE id = $1 AND email = $2",
                   "params": [1]})
    assert exc.value.type == "DbParamError" and "2 placeholder(s)" in exc.value.message
    with pytest.raises(ComponentError) as exc:
        await run({"connection": database_url, "query": f"SELECT * FROM {table} WHERE born = $1",
                   "params": ["not a date"]})
    assert exc.value.type == "DbParamError" and "$1" in exc.value.message and not exc.value.retryable


async def test_read_only_refuses_writes(database_url: str, table: str):
    with pytest.raises(ComponentError) as exc:
        await run({"connection": database_url, "mode": "execute", "read_only": True,
                   "query": f"DELETE FROM {table}"})
    assert exc.value.details["sqlstate"] == "25006" and exc.value.retryable is False


async def test_missing_or_unresolved_connection():
    with pytest.raises(ComponentError) as exc:
        await DatabaseQuery().run({"query": "SELECT 1"}, _ctx())
    assert exc.value.type == "DbConfigError" and not exc.value.retryable
    with pytest.raises(ComponentError) as exc:
        await DatabaseQuery().run({"connection": "secret://CRM_DB", "query": "SELECT 1"}, _ctx())
    assert "CRM_DB" in exc.value.message and not exc.value.retryable
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"query": "SELECT 1"}, DatabaseQuery.spec.config_schema)


async def test_pool_bounds_connections_and_resets_sessions(database_url: str, table: str):
    import asyncio

    import asyncpg

    from connectors.database import POOL_MAX_SIZE

    db = database_url.rsplit("/", 1)[1]
    seen: list[int] = []
    stop = asyncio.Event()

    async def watch():
        conn = await asyncpg.connect(database_url)
        try:
            while not stop.is_set():
                seen.append(await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'wfo:burst'", db))
                await asyncio.sleep(0.02)
        finally:
            await conn.close()

    watcher = asyncio.create_task(watch())
    outs = await asyncio.gather(*(run({"connection": database_url, "mode": "fetchrow",
                                       "query": "SELECT pg_sleep(0.15), $1::int AS i", "params": [i]}, node_id="burst")
                                  for i in range(3 * POOL_MAX_SIZE)))
    stop.set()
    await watcher
    assert [o["row"]["i"] for o in outs] == list(range(3 * POOL_MAX_SIZE))
    assert 1 <= max(seen) <= POOL_MAX_SIZE

    # session settings of one call do not leak into the next on the same pooled connection
    with pytest.raises(ComponentError):
        await run({"connection": database_url, "mode": "execute", "read_only": True,
                   "query": f"INSERT INTO {table} (email) VALUES ('ro@x.org')"})
    with pytest.raises(ComponentError):
        await run({"connection": database_url, "query": "SELECT pg_sleep(1)", "timeout_seconds": 0.2})
    ok = await run({"connection": database_url, "mode": "execute", "timeout_seconds": 5,
                    "query": f"INSERT INTO {table} (email) SELECT 'rw@x.org' FROM pg_sleep(0.3)"})
    assert ok["row_count"] == 1
    name = await run({"connection": database_url, "mode": "fetchrow", "query": "SELECT current_setting('application_name') AS a"},
                     node_id="other")
    assert name["row"]["a"] == "wfo:other"
