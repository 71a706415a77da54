"""Issue 10 (audit log, completed): before/after state hashes, group-commit appends shared by several
processes, old-format rows still verifying, retention run by the API itself."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from api.main import create_app
from tests.api.conftest import VALID_DEFINITION
from tests.conftest import PG_ADMIN_URL
from wfo import audit
from wfo.db import PgPool, create_engine, run_migrations
from wfo.models import Workflow
from wfo.models_credentials import Credential
from wfo.settings import Settings


def _engine(database_url: str):
    return create_engine(Settings(environment="test", database_url=database_url), pool_size=2, max_overflow=0)


async def _rows(database_url: str, sql: str, *args):
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def test_each_change_of_a_workflow_hashes_its_state_before_and_after(http, tenant_a, database_url):
    dev = tenant_a.h("developer")
    r = await http.post("/api/v1/workflows", headers=dev,
                        json={"name": f"stateful-{uuid.uuid4().hex[:6]}", "definition": VALID_DEFINITION})
    assert r.status_code == 201, r.text
    wf = r.json()["id"]
    for body in ({"description": "one"}, {"description": "two", "definition": VALID_DEFINITION}):
        r = await http.put(f"/api/v1/workflows/{wf}", headers=dev, json=body)
        assert r.status_code == 200, r.text
    assert (await http.put(f"/api/v1/workflows/{wf}", headers=tenant_a.h("viewer"),
                           json={"description": "no"})).status_code == 403
    assert (await http.delete(f"/api/v1/workflows/{wf}", headers=tenant_a.h("admin"))).status_code in (200, 204)

    r = await http.get("/api/v1/audit", headers=tenant_a.h("admin"), params={"resource_id": wf, "limit": 50})
    assert r.status_code == 200, r.text
    rows = list(reversed(r.json()["items"]))  # oldest first
    assert [(x["action"].split(" ")[0], x["status"]) for x in rows] == [
        ("POST", 201), ("PUT", 200), ("PUT", 200), ("PUT", 403), ("DELETE", rows[-1]["status"])]
    create, put1, put2, refused, archive = rows
    assert create["before_hash"] is None and len(create["after_hash"]) == 64
    # each change starts from the state the previous one left
    assert put1["before_hash"] == create["after_hash"] and put1["after_hash"] != put1["before_hash"]
    assert put2["before_hash"] == put1["after_hash"] and put2["after_hash"] != put2["before_hash"]
    assert refused["before_hash"] is None and refused["after_hash"] is None  # nothing changed
    assert archive["before_hash"] == put2["after_hash"] and archive["after_hash"] not in (None, put2["after_hash"])

    # and the last after hash is the hash of the row as stored now
    engine = _engine(database_url)
    try:
        async with AsyncSession(engine) as session:
            stored = await session.get(Workflow, uuid.UUID(wf))
            assert audit.state_hash(stored) == archive["after_hash"]
    finally:
        await engine.dispose()


async def test_credential_state_hashes_never_cover_the_values(http, tenant_a):
    r = await http.post("/api/v1/credentials", headers=tenant_a.h("developer"),
                        json={"name": f"c{uuid.uuid4().hex[:6]}", "type": "http_bearer",
                              "values": {"token": "s3cret-value-1"}})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = await http.put(f"/api/v1/credentials/{cid}", headers=tenant_a.h("developer"),
                         json={"values": {"token": "s3cret-value-2"}})
    assert r.status_code == 200, r.text
    rows = (await http.get("/api/v1/audit", headers=tenant_a.h("admin"), params={"resource_id": cid})).json()["items"]
    update, create = rows[0], rows[-1]
    assert create["after_hash"] and update["before_hash"] == create["after_hash"]
    assert update["after_hash"] != update["before_hash"]  # updated_at moved; the values are not in the state
    row = Credential(tenant_id=uuid.uuid4(), name="n", type="http_bearer", ciphertext=b"x", nonce=b"y", key_id="k")
    assert not {"ciphertext", "nonce", "key_id"} & set(audit.state_of(row)) and "name" in audit.state_of(row)


def _old_format_hash(prev: str, row: dict) -> str:
    """The chain hash as written before 0017 (ten fields, no state hashes): frozen here on purpose."""
    fields = ("at", "tenant_id", "actor", "actor_kind", "action", "resource_type", "resource_id", "status",
              "client", "body_hash")
    values = {k: (row[k].isoformat(timespec="microseconds") if isinstance(row[k], datetime) else row[k])
              for k in fields}
    canon = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev + "|" + canon).encode()).hexdigest()


async def test_old_and_new_rows_verify_together_and_tampered_state_hashes_are_found(database_url):
    engine = _engine(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        # an old-format row, written the way the code before 0017 wrote it
        prev = await conn.fetchval("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1") or audit.GENESIS
        old = {"at": datetime.now(UTC), "tenant_id": None, "actor": "old@x.test", "actor_kind": "user",
               "action": "PUT /api/v1/old", "resource_type": "old", "resource_id": "1", "status": 200,
               "client": "127.0.0.1", "body_hash": None}
        await conn.execute(
            "INSERT INTO audit_log (at, tenant_id, actor, actor_kind, action, resource_type, resource_id, status, "
            "client, body_hash, prev_hash, hash) VALUES ($1, NULL, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $10)",
            old["at"], old["actor"], old["actor_kind"], old["action"], old["resource_type"], old["resource_id"],
            old["status"], old["client"], prev, _old_format_hash(prev, old))
        new = audit.Entry(at=datetime.now(UTC), action="PUT /api/v1/new", status=200, actor="new@x.test",
                          resource_type="new", resource_id="2", before_hash="a" * 64, after_hash="b" * 64)
        await audit.append(engine, new)
        await audit.append(engine, audit.Entry(at=datetime.now(UTC), action="POST /api/v1/next", status=201))
        assert (await audit.verify(engine)).ok

        ids = {r["action"]: r["id"] for r in await conn.fetch(
            "SELECT id, action FROM audit_log WHERE action IN ('PUT /api/v1/old', 'PUT /api/v1/new')")}
        await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        try:
            for row_id, column, value in ((ids["PUT /api/v1/new"], "after_hash", "c" * 64),
                                          (ids["PUT /api/v1/new"], "before_hash", None),
                                          (ids["PUT /api/v1/old"], "before_hash", "d" * 64)):
                original = await conn.fetchval(f"SELECT {column} FROM audit_log WHERE id = $1", row_id)
                await conn.execute(f"UPDATE audit_log SET {column} = $2 WHERE id = $1", row_id, value)
                result = await audit.verify(engine)
                assert not result.ok and result.broken_at == row_id and "changed" in (result.reason or ""), column
                await conn.execute(f"UPDATE audit_log SET {column} = $2 WHERE id = $1", row_id, original)
        finally:
            await conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
        assert (await audit.verify(engine)).ok
    finally:
        await conn.close()
        await engine.dispose()


@pytest.mark.parametrize("kind", ["engine", "pg pool"])
async def test_group_commit_from_two_processes_keeps_one_unbroken_chain(database_url, kind):
    """200 concurrent appends through two appenders with databases of their own (two API processes: the API's
    asyncpg pool, or an engine as the CLI has)."""
    marker = f"POST /bench/{uuid.uuid4().hex[:8]}"
    engines = [_engine(database_url), _engine(database_url)] if kind == "engine" else \
        [PgPool(database_url), PgPool(database_url)]
    appenders = [audit.Appender(e) for e in engines]
    try:
        async def one(i: int) -> str:
            return await appenders[i % 2].submit(audit.Entry(at=datetime.now(UTC), action=marker, status=200,
                                                             resource_id=str(i)))

        hashes = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(200))), 60)
        assert len(set(hashes)) == 200
        assert all(a.batches < 100 for a in appenders), [a.batches for a in appenders]  # grouped, not row by row

        # the shutdown drain: entries still queued when close() is called are committed
        pending = [asyncio.ensure_future(appenders[0].submit(audit.Entry(
            at=datetime.now(UTC), action=marker + "/drain", status=200))) for _ in range(30)]
        await asyncio.sleep(0)
        await appenders[0].close()
        # committed once close() returns
        assert len(await _rows(database_url, "SELECT 1 FROM audit_log WHERE action = $1", marker + "/drain")) == 30
        assert len(set(await asyncio.gather(*pending))) == 30
        with pytest.raises(RuntimeError):
            await appenders[0].submit(audit.Entry(at=datetime.now(UTC), action=marker, status=200))
    finally:
        for a in appenders:
            await a.close()
        for e in engines:
            await (e.close() if isinstance(e, PgPool) else e.dispose())
    rows = await _rows(database_url, "SELECT id, resource_id, prev_hash, hash FROM audit_log "
                                     "WHERE action = $1 ORDER BY id", marker)
    assert sorted(int(r["resource_id"]) for r in rows) == list(range(200))  # all there, none twice
    assert {r["hash"] for r in rows} == set(hashes)
    engine = _engine(database_url)
    try:
        result = await audit.verify(engine)
        assert result.ok, result
    finally:
        await engine.dispose()


async def test_a_failed_append_is_logged_and_never_undoes_the_answer(caplog):
    bad = create_engine(Settings(environment="test", database_url="postgresql://postgres@127.0.0.1:1/none"),
                        pool_size=1, max_overflow=0)
    appender = audit.Appender(bad)
    with pytest.raises(Exception):
        await asyncio.wait_for(appender.submit(audit.Entry(at=datetime.now(UTC), action="x", status=200)), 30)
    await appender.close()
    await bad.dispose()

    from api.audit import AuditMiddleware

    async def inner(scope, receive, send):
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    failing = audit.Appender(create_engine(Settings(environment="test",
                                                    database_url="postgresql://postgres@127.0.0.1:1/none"),
                                           pool_size=1, max_overflow=0))
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message):
        sent.append(message)

    mw = AuditMiddleware(inner, appender_of=lambda: failing)
    with caplog.at_level(logging.ERROR, logger="wfo.api.audit"):
        await asyncio.wait_for(mw({"type": "http", "method": "POST", "path": "/api/v1/things", "headers": []},
                                  receive, send), 30)
    assert sent[0]["status"] == 201 and sent[1]["body"] == b"ok"
    assert any("audit append failed" in r.getMessage() for r in caplog.records)
    await failing.close()
    await failing.db.dispose()


async def test_the_api_prunes_past_the_retention_setting(temporal_env):
    name = f"wfo_audit_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        await run_migrations(url)
        engine = _engine(url)
        now = datetime.now(UTC)
        for days in (60, 50, 40, 20, 1):
            await audit.append(engine, audit.Entry(at=now - timedelta(days=days), action=f"POST /aged/{days}",
                                                   status=200))
        assert await audit.prune(engine, timedelta(days=45), now, chunk=1) == 2  # chunk by chunk, oldest first
        assert (await audit.verify(engine)).ok
        await engine.dispose()
        settings = Settings(environment="test", database_url=url, audit_retention_days=10,
                            audit_prune_interval_seconds=0.2)
        app = create_app(settings, temporal_client=temporal_env.client, reconcile_interval=None)
        async with app.router.lifespan_context(app):
            for _ in range(100):
                left = [r["action"] for r in await _rows(url, "SELECT action FROM audit_log ORDER BY id")]
                if left == ["POST /aged/1"]:
                    break
                await asyncio.sleep(0.1)
        assert left == ["POST /aged/1"]
        engine = _engine(url)
        assert (await audit.verify(engine)).ok  # the chain now starts at the oldest kept row
        await engine.dispose()
        # 0 turns it off
        assert Settings(environment="test", audit_retention_days=0).audit_retention_days == 0
    finally:
        admin = await asyncpg.connect(PG_ADMIN_URL)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _chain(http, tenant, resource_id: str) -> list[dict]:
    r = await http.get("/api/v1/audit", headers=tenant.h("admin"), params={"resource_id": resource_id})
    assert r.status_code == 200, r.text
    return list(reversed(r.json()["items"]))


def _assert_chained(rows: list[dict], *, deleted: bool = False) -> None:
    assert rows and rows[0]["before_hash"] is None and rows[0]["after_hash"], rows
    for prev, row in zip(rows, rows[1:], strict=False):
        assert row["before_hash"] == prev["after_hash"], (prev, row)
    if deleted:
        assert rows[-1]["after_hash"] is None and rows[-1]["before_hash"]


async def test_users_api_keys_subscriptions_and_triggers_hash_their_states(http, tenant_a):
    admin = tenant_a.h("admin")
    r = await http.post("/api/v1/users", headers=admin, json={
        "email": f"aud-{uuid.uuid4().hex[:6]}@x.test", "password": "a-long-unusual-passphrase-71", "role": "viewer"})
    assert r.status_code == 201, r.text
    user = r.json()["id"]
    assert (await http.patch(f"/api/v1/users/{user}", headers=admin, json={"role": "operator"})).status_code == 200
    assert (await http.patch(f"/api/v1/users/{user}", headers=admin, json={"is_active": False})).status_code == 200
    rows = await _chain(http, tenant_a, user)
    assert len(rows) == 3 and rows[1]["resource_type"] == "users"
    _assert_chained(rows)

    r = await http.post("/api/v1/api-keys", headers=admin, json={"name": "audited"})
    key = r.json()["id"]
    assert (await http.delete(f"/api/v1/api-keys/{key}", headers=admin)).status_code == 200
    rows = await _chain(http, tenant_a, key)
    assert len(rows) == 2 and rows[1]["after_hash"] != rows[1]["before_hash"]
    _assert_chained(rows)

    r = await http.post("/api/v1/webhooks", headers=admin,
                        json={"endpoint_url": "http://127.0.0.1:9/hook", "events": ["workflow.created"]})
    assert r.status_code == 201, r.text
    sub = r.json()["id"]
    assert (await http.delete(f"/api/v1/webhooks/{sub}", headers=admin)).status_code in (200, 204)
    rows = await _chain(http, tenant_a, sub)
    assert len(rows) == 2
    _assert_chained(rows)  # a soft delete: the row stays, so an after hash

    r = await http.post("/api/v1/workflows", headers=admin,
                        json={"name": f"trig-{uuid.uuid4().hex[:6]}", "definition": VALID_DEFINITION})
    wf = r.json()["id"]
    r = await http.post(f"/api/v1/workflows/{wf}/triggers", headers=admin, json={"kind": "webhook"})
    assert r.status_code == 201, r.text
    trig = r.json()["id"]
    assert (await http.delete(f"/api/v1/workflows/{wf}/triggers/{trig}", headers=admin)).status_code in (200, 204)
    rows = await _chain(http, tenant_a, trig)
    assert [(x["action"].split(" ")[0], x["resource_type"]) for x in rows] == [
        ("POST", "triggers"), ("DELETE", "triggers")], rows
    _assert_chained(rows, deleted=True)


async def test_execution_start_cancel_and_retry_hash_the_lifecycle(http, tenant_a, worker):
    from tests.api.test_executions import _workflow, wait_def

    wid = await _workflow(http, tenant_a, wait_def("PT60S"))
    r = await http.post(f"/api/v1/workflows/{wid}/execute", headers=tenant_a.h("operator"), json={"input": {}})
    assert r.status_code in (201, 202), r.text
    eid = r.json()["id"]
    await asyncio.sleep(0.3)
    assert (await http.post(f"/api/v1/executions/{eid}/cancel", headers=tenant_a.h("operator"))).status_code == 202
    retried = await http.post(f"/api/v1/executions/{eid}/retry", headers=tenant_a.h("operator"))
    assert retried.status_code == 202, retried.text
    start, cancel = await _chain(http, tenant_a, eid)
    assert start["action"] == "POST /api/v1/workflows/{workflow_id}/execute" and start["resource_type"] == "executions"
    assert start["before_hash"] is None and start["after_hash"]
    assert cancel["before_hash"] and cancel["after_hash"] and cancel["before_hash"] != cancel["after_hash"]
    (retry,) = await _chain(http, tenant_a, retried.json()["id"])  # the row names the execution it started
    assert retry["action"] == "POST /api/v1/executions/{execution_id}/retry"
    assert retry["before_hash"] is None and retry["after_hash"]


async def test_an_approval_decision_hashes_the_task_before_and_its_outcome(http, tenant_a, worker):
    from tests.api.test_tasks import approval_definition, start, wait_execution, wait_task

    op = tenant_a.users["operator"].email
    ex = await start(http, tenant_a, approval_definition([op]), {"order": "A1", "total": 1})
    task = await wait_task(http, tenant_a, ex, "operator")
    url = f"/api/v1/tasks/{task['id']}/complete"
    headers = {**tenant_a.h("operator"), "Idempotency-Key": f"k-{uuid.uuid4().hex[:6]}"}
    assert (await http.post(url, headers=tenant_a.h("viewer"), json={"decision": "approved"})).status_code == 403
    r = await http.post(url, headers=headers, json={"decision": "approved"})
    assert r.status_code == 200, r.text
    assert (await http.post(url, headers=headers, json={"decision": "approved"})).json() == r.json()  # a repeat
    assert (await wait_execution(http, tenant_a, ex))["status"] == "completed"
    refused, decided, repeated = await _chain(http, tenant_a, task["id"])
    assert refused["status"] == 403 and refused["before_hash"] is None and refused["after_hash"] is None
    assert decided["resource_type"] == "tasks" and decided["before_hash"] and decided["after_hash"]
    assert decided["before_hash"] != decided["after_hash"]
    assert repeated["status"] == 200 and repeated["before_hash"] is None and repeated["after_hash"] is None
