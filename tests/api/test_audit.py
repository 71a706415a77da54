"""Issue 10 (build): the audit log: every state change recorded, append-only, hash-chained, verifiable."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest

from tests.api.conftest import VALID_DEFINITION

ROOT = Path(__file__).resolve().parents[2]


async def _wfo(database_url: str, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli.main", *args, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, env={**os.environ, "DATABASE_URL": database_url})
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode, out.decode()


async def test_state_changes_are_audited_and_listed_for_admins_only(http, tenant_a, tenant_b):
    r = await http.post("/api/v1/workflows", headers=tenant_a.h("developer"),
                        json={"name": f"audited-{uuid.uuid4().hex[:6]}", "definition": VALID_DEFINITION})
    assert r.status_code == 201, r.text
    wf = r.json()["id"]
    r = await http.put(f"/api/v1/workflows/{wf}", headers=tenant_a.h("developer"), json={"description": "x"})
    assert r.status_code in (200, 201), r.text
    r = await http.post("/api/v1/api-keys", headers=tenant_a.h("admin"), json={"name": "audited key"})
    assert r.status_code == 201
    assert (await http.delete(f"/api/v1/workflows/{wf}", headers=tenant_a.h("viewer"))).status_code == 403
    await asyncio.sleep(0.1)

    r = await http.get("/api/v1/audit", headers=tenant_a.h("admin"), params={"resource_id": wf})
    assert r.status_code == 200, r.text
    rows = r.json()["items"]
    actions = {(row["action"], row["status"], row["actor"]) for row in rows}
    dev = tenant_a.users["developer"].email
    assert ("POST /api/v1/workflows", 201, dev) in actions  # the service reports the id it created
    assert any(a.startswith("PUT /api/v1/workflows/{") and s == 200 and who == dev for a, s, who in actions)
    assert any(a.startswith("DELETE /api/v1/workflows/{") and s == 403 for a, s, who in actions)  # refusals too
    created = (await http.get("/api/v1/audit", headers=tenant_a.h("admin"),
                              params={"action": "POST /api/v1/workflows", "actor": dev})).json()["items"]
    assert created and created[0]["resource_type"] == "workflows" and created[0]["client"]
    assert len(created[0]["hash"]) == 64 and created[0]["body_hash"]
    keys = (await http.get("/api/v1/audit", headers=tenant_a.h("admin"),
                           params={"action": "POST /api/v1/api-keys"})).json()["items"]
    assert keys and keys[0]["actor"] == tenant_a.users["admin"].email

    # another tenant sees none of it; non-admins see nothing
    other = (await http.get("/api/v1/audit", headers=tenant_b.h("admin"), params={"resource_id": wf})).json()
    assert other["total"] == 0
    assert (await http.get("/api/v1/audit", headers=tenant_a.h("developer"))).status_code == 403


async def test_logins_are_audited_without_the_password(http, tenant_a, database_url):
    email = tenant_a.users["viewer"].email
    assert (await http.post("/api/v1/auth/token", data={"username": email, "password": "wrong-1"})).status_code == 401
    assert (await http.post("/api/v1/auth/token",
                            data={"username": email, "password": tenant_a.passwords["viewer"]})).status_code == 200
    await asyncio.sleep(0.1)
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT status, body_hash FROM audit_log WHERE action = 'auth.login' AND actor = $1 "
                                "ORDER BY id", email)
    finally:
        await conn.close()
    assert [r["status"] for r in rows][-2:] == [401, 200]
    assert all(r["body_hash"] is None for r in rows)  # no hash of a password form


async def test_append_only_and_the_hash_chain_verifies(http, tenant_a, database_url):
    assert (await http.post("/api/v1/api-keys", headers=tenant_a.h("admin"), json={"name": "k"})).status_code == 201
    await asyncio.sleep(0.1)
    conn = await asyncpg.connect(database_url)
    try:
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute("UPDATE audit_log SET actor = 'someone-else'")
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute("DELETE FROM audit_log")
        code, out = await _wfo(database_url, "audit", "verify")
        assert code == 0 and "hash chain verified" in out, out

        # someone with the database's superuser rights edits history: verify finds the row
        row = await conn.fetchrow("SELECT id, actor FROM audit_log ORDER BY id DESC OFFSET 1 LIMIT 1")
        await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        await conn.execute("UPDATE audit_log SET actor = 'forged@x.test' WHERE id = $1", row["id"])
        code, out = await _wfo(database_url, "audit", "verify")
        assert code == 1 and f"row {row['id']}" in out and "changed" in out, out
        await conn.execute("UPDATE audit_log SET actor = $2 WHERE id = $1", row["id"], row["actor"])
        await conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
        code, out = await _wfo(database_url, "audit", "verify")
        assert code == 0, out
    finally:
        await conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
        await conn.close()
