"""`mysql.query` against the real local MariaDB (:3306, db `test`), read back with PyMySQL's own client."""

from __future__ import annotations

import time
import uuid

import pymysql
import pytest

from connectors.base import ComponentError
from connectors.mysql_query import MysqlQuery
from connectors.registry import default_registry
from tests.connectors.conftest import FAST_RETRY
from tests.helpers import defn, node
from workflows.validation import validate_definition

CONNECTOR = MysqlQuery()
DB = {"host": "127.0.0.1", "port": 3306, "username": "root", "database": "test"}


@pytest.fixture(scope="module", autouse=True)
async def _close():
    yield
    await CONNECTOR.aclose()


@pytest.fixture
def peer():
    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", database="test", autocommit=True)
    yield conn
    conn.close()


@pytest.fixture
def table(peer):
    name = f"t_{uuid.uuid4().hex[:8]}"
    with peer.cursor() as cur:
        cur.execute(f"CREATE TABLE {name} (id INT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(100) UNIQUE NOT NULL, "
                    "amount DECIMAL(12,2), born DATE, meta JSON)")
    yield name
    with peer.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {name}")


def test_registered():
    spec = default_registry().get("mysql.query")
    assert spec.kind == "activity" and spec.category == "integration" and spec.docs and spec.example


async def test_write_then_read_back(vault, peer, table):
    cred = await vault.add("shop", "mysql", DB)
    ins = await CONNECTOR.run({"credential": cred, "mode": "execute",
                               "query": f"INSERT INTO {table} (email, amount, born, meta) VALUES (%s, %s, %s, %s)",
                               "params": ["a@x.org", 12.5, "1990-04-01", '{"k": 1}']}, vault.ctx())
    assert ins == {"row_count": 1, "last_insert_id": 1}
    await CONNECTOR.run({"credential": cred, "mode": "execute",
                         "query": f"INSERT INTO {table} (email, amount) VALUES (%(e)s, %(a)s)",
                         "params": {"e": "b@x.org", "a": "3"}}, vault.ctx())
    with peer.cursor() as cur:
        cur.execute(f"SELECT email, amount FROM {table} ORDER BY id")
        assert [(e, float(a)) for e, a in cur.fetchall()] == [("a@x.org", 12.5), ("b@x.org", 3.0)]

    out = await CONNECTOR.run({"credential": cred, "query": f"SELECT * FROM {table} ORDER BY id"}, vault.ctx())
    assert out["row_count"] == 2 and out["truncated"] is False
    assert out["rows"][0]["email"] == "a@x.org" and out["rows"][0]["amount"] == 12.5
    assert out["rows"][0]["born"] == "1990-04-01"
    one = await CONNECTOR.run({"credential": cred, "mode": "fetchrow",
                               "query": f"SELECT id FROM {table} WHERE email = %s", "params": ["b@x.org"]}, vault.ctx())
    assert one == {"row": {"id": 2}, "row_count": 1}
    capped = await CONNECTOR.run({"credential": cred, "max_rows": 1, "query": f"SELECT id FROM {table}"}, vault.ctx())
    assert capped["row_count"] == 1 and capped["truncated"] is True


async def test_sql_errors_not_retried(vault, table):
    cred = await vault.add("shop2", "mysql", {"url": "mysql://root@127.0.0.1:3306/test"})
    await CONNECTOR.run({"credential": cred, "mode": "execute", "query": f"INSERT INTO {table} (email) VALUES (%s)",
                         "params": ["dup@x.org"]}, vault.ctx())
    with pytest.raises(ComponentError) as exc:
        await CONNECTOR.run({"credential": cred, "mode": "execute",
                             "query": f"INSERT INTO {table} (email) VALUES (%s)", "params": ["dup@x.org"]}, vault.ctx())
    assert exc.value.type == "DbQueryError" and not exc.value.retryable and "Duplicate" in exc.value.message
    with pytest.raises(ComponentError) as exc:
        await CONNECTOR.run({"credential": cred, "query": "SELEC nonsense"}, vault.ctx())
    assert exc.value.type == "DbQueryError" and not exc.value.retryable
    with pytest.raises(ComponentError) as exc:
        await CONNECTOR.run({"credential": cred, "mode": "execute", "query": f"UPDATE {table} SET email = 'z'",
                             "read_only": True}, vault.ctx())
    assert not exc.value.retryable


async def test_statement_timeout(vault):
    cred = await vault.add("shop3", "mysql", DB)
    t0 = time.monotonic()
    with pytest.raises(ComponentError) as exc:
        await CONNECTOR.run({"credential": cred, "query": "SELECT SLEEP(5)", "timeout_seconds": 0.5}, vault.ctx())
    assert time.monotonic() - t0 < 4
    assert exc.value.type == "DbTimeout" and not exc.value.retryable


async def test_wrong_password_not_retried(vault):
    cred = await vault.add("shop4", "mysql", {**DB, "username": "nosuchuser", "password": "wrong-pw-123"})
    with pytest.raises(ComponentError) as exc:
        await CONNECTOR.run({"credential": cred, "query": "SELECT 1"}, vault.ctx())
    assert exc.value.type == "DbAuthError" and not exc.value.retryable
    assert "wrong-pw-123" not in exc.value.message


def test_bad_config_names_the_field():
    d = defn([node("start", "start"), node("q", "mysql.query", credential="c", query="SELECT 1", mode="fetchall"),
              node("end", "end")], ["start->q", "q->end"])
    problems = validate_definition(d, default_registry())
    assert [(p.node_id, p.field) for p in problems] == [("q", "config.mode")]


async def test_peer_down_retryable_then_error_port(vault, run_node):
    cred = await vault.add("down", "mysql", {"host": "127.0.0.1", "port": 1, "username": "root"})
    with pytest.raises(ComponentError) as exc:
        await CONNECTOR.run({"credential": cred, "query": "SELECT 1", "connect_timeout_seconds": 2}, vault.ctx())
    assert exc.value.retryable and exc.value.type == "DbConnectionError"
    flow = await run_node("mysql.query", {"credential": cred, "query": "SELECT 1", "connect_timeout_seconds": 2},
                          retry=FAST_RETRY)
    assert flow.result["error"]["type"] == "DbConnectionError" and flow.result["error"]["attempts"] == 2


async def test_in_a_workflow(vault, run_node):
    cred = await vault.add("wf", "mysql", DB)
    flow = await run_node("mysql.query", {"credential": cred, "mode": "fetchrow",
                                          "query": "SELECT %s + 1 AS n", "params": ["{{ input.n }}"]}, input={"n": 41})
    assert flow.result == {"ok": {"row": {"n": 42}, "row_count": 1}}
