"""`db.query` with a `postgres` credential from the vault, against the real local Postgres."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import asyncpg
import pytest

from connectors.base import ComponentError
from connectors.database import DatabaseQuery
from connectors.registry import default_registry
from tests.connectors.conftest import FAST_RETRY
from tests.helpers import defn, node
from workflows.validation import validate_definition

CONNECTOR = DatabaseQuery()


@pytest.fixture(scope="module", autouse=True)
async def _close():
    yield
    await CONNECTOR.aclose()


def _parts(database_url: str) -> dict:
    u = urlsplit(database_url)
    return {"host": u.hostname, "port": u.port or 5432, "username": u.username or "postgres",
            "database": u.path.lstrip("/")}


async def test_write_by_credential_then_read_back(vault, database_url):
    cred = await vault.add("billing", "postgres", _parts(database_url))
    table = f"t_{uuid.uuid4().hex[:8]}"
    await CONNECTOR.run({"credential": cred, "mode": "execute",
                         "query": f"CREATE TABLE {table} (id int PRIMARY KEY, total numeric)"}, vault.ctx())
    out = await CONNECTOR.run({"credential": cred, "mode": "execute",
                               "query": f"INSERT INTO {table} VALUES ($1, $2)", "params": [1, "9.5"]}, vault.ctx())
    assert out == {"status": "INSERT 0 1", "row_count": 1}
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval(f"SELECT total FROM {table} WHERE id = 1") == 9.5
    finally:
        await conn.close()
    url_cred = await vault.add("billing-url", "postgres", {"url": database_url})
    got = await CONNECTOR.run({"credential": url_cred, "mode": "fetchrow", "query": f"SELECT * FROM {table}"},
                              vault.ctx())
    assert got == {"row": {"id": 1, "total": 9.5}, "row_count": 1}
    await CONNECTOR.run({"credential": url_cred, "mode": "execute", "query": f"DROP TABLE {table}"}, vault.ctx())


def test_bad_config_names_the_field():
    d = defn([node("start", "start"), node("q", "db.query", query="SELECT 1"), node("end", "end")],
             ["start->q", "q->end"])
    problems = validate_definition(d, default_registry())
    assert problems and problems[0].node_id == "q" and "credential" in problems[0].message
    d["nodes"][1]["config"] = {"query": "SELECT 1", "credential": "a", "connection": "secret://B"}
    assert validate_definition(d, default_registry())


async def test_credential_of_another_type(vault):
    await vault.add("redis-not-pg", "redis", {"host": "127.0.0.1"})
    with pytest.raises(ComponentError) as exc:
        await CONNECTOR.run({"credential": "redis-not-pg", "query": "SELECT 1"}, vault.ctx())
    assert exc.value.type == "CredentialTypeMismatch"


async def test_peer_down_retryable_then_error_port(vault, run_node):
    cred = await vault.add("pg-down", "postgres", {"host": "127.0.0.1", "port": 1, "username": "u",
                                                   "password": "pg-down-pw", "database": "d"})
    with pytest.raises(ComponentError) as exc:
        await CONNECTOR.run({"credential": cred, "query": "SELECT 1", "connect_timeout_seconds": 2}, vault.ctx())
    assert exc.value.retryable and "pg-down-pw" not in exc.value.message
    flow = await run_node("db.query", {"credential": cred, "query": "SELECT 1", "connect_timeout_seconds": 2},
                          retry=FAST_RETRY)
    assert flow.result["error"]["type"] == "DbConnectionError" and flow.result["error"]["attempts"] == 2
