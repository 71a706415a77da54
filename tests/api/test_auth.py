"""Accounts: password login (JWT), API keys (shown once, stored hashed), users, bootstrap."""

from __future__ import annotations

import uuid

import asyncpg
import httpx

from api import security
from api.bootstrap import ensure_default_admin
from wfo.db import run_migrations
from wfo.settings import Settings


async def test_login_and_me(http, tenant_a):
    user = tenant_a.users["developer"]
    r = await http.post("/api/v1/auth/token", data={"username": user.email.upper(), "password": tenant_a.passwords["developer"]})
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    me = await http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    body = me.json()
    assert body["role"] == "developer" and body["tenant_id"] == str(tenant_a.id)
    assert "workflow.create" in body["permissions"] and "admin.system" not in body["permissions"]


async def test_login_failures(http, tenant_a):
    user = tenant_a.users["viewer"]
    r = await http.post("/api/v1/auth/token", data={"username": user.email, "password": "wrong-password"})
    assert r.status_code == 401
    r = await http.post("/api/v1/auth/token", data={"username": "nobody@x.test", "password": "whatever1"})
    assert r.status_code == 401
    r = await http.post("/api/v1/auth/token", data={"username": user.email})
    assert r.status_code == 422


async def test_bad_tokens_are_401(http, api_settings, tenant_a):
    for header in (
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Bearer wfo_notakey"},
        {"X-API-Key": "wfo_nope"},
        {"Authorization": "Bearer " + security.create_access_token(
            Settings(environment="test", secret_key="another-secret"),
            user_id=tenant_a.users["admin"].id, tenant_id=tenant_a.id, role="admin")},
    ):
        r = await http.get("/api/v1/workflows", headers=header)
        assert r.status_code == 401, header
    r = await http.get("/api/v1/workflows")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"


async def test_users_admin_and_tenancy(http, tenant_a, tenant_b):
    email = f"new-{uuid.uuid4().hex[:6]}@a.test"
    r = await http.post("/api/v1/users", headers=tenant_a.h(), json={"email": email, "password": "s3cret-pass", "role": "operator"})
    assert r.status_code == 201, r.text
    created = r.json()
    assert "password" not in r.text and "hashed" not in r.text
    assert created["role"] == "operator" and created["tenant_id"] == str(tenant_a.id)
    # duplicate
    r = await http.post("/api/v1/users", headers=tenant_a.h(), json={"email": email, "password": "s3cret-pass"})
    assert r.status_code == 409
    # the new user can log in
    r = await http.post("/api/v1/auth/token", data={"username": email, "password": "s3cret-pass"})
    assert r.status_code == 200
    # listing is tenant-scoped
    r = await http.get("/api/v1/users", headers=tenant_a.h())
    emails = {u["email"] for u in r.json()["items"]}
    assert email in emails and not emails & {u.email for u in tenant_b.users.values()}
    # another tenant's user id -> 404
    r = await http.get(f"/api/v1/users/{created['id']}", headers=tenant_b.h())
    assert r.status_code == 404
    # disable -> token stops working
    r = await http.patch(f"/api/v1/users/{created['id']}", headers=tenant_a.h(), json={"is_active": False})
    assert r.status_code == 200 and r.json()["is_active"] is False
    r = await http.post("/api/v1/auth/token", data={"username": email, "password": "s3cret-pass"})
    assert r.status_code == 403
    # non-admins can't manage users
    r = await http.get("/api/v1/users", headers=tenant_a.h("developer"))
    assert r.status_code == 403


async def test_api_keys_shown_once_and_hashed(http, tenant_a, database_url):
    r = await http.post("/api/v1/api-keys", headers=tenant_a.h(), json={"name": "ci", "role": "operator"})
    assert r.status_code == 201, r.text
    created = r.json()
    key = created["key"]
    assert key.startswith("wfo_") and created["prefix"] == key[:12] and created["role"] == "operator"
    # never listed again
    r = await http.get("/api/v1/api-keys", headers=tenant_a.h())
    assert key not in r.text and any(k["id"] == created["id"] for k in r.json())
    # stored hashed only
    conn = await asyncpg.connect(database_url)
    try:
        stored = await conn.fetchval("SELECT hashed_key FROM api_keys WHERE id = $1", uuid.UUID(created["id"]))
        assert stored == security.hash_api_key(key) and key not in stored
    finally:
        await conn.close()
    # works with both headers, with the key's role
    for headers in ({"X-API-Key": key}, {"Authorization": f"Bearer {key}"}):
        r = await http.get("/api/v1/auth/me", headers=headers)
        assert r.status_code == 200 and r.json()["role"] == "operator" and r.json()["kind"] == "api_key"
        assert key not in r.text
    r = await http.post("/api/v1/workflows", headers={"X-API-Key": key}, json={})
    assert r.status_code == 403  # operator can't create workflows
    listed = {k["id"]: k for k in (await http.get("/api/v1/api-keys", headers=tenant_a.h())).json()}
    assert listed[created["id"]]["last_used_at"] is not None
    r = await http.get("/api/v1/api-keys/", headers={"X-API-Key": key})
    assert r.status_code in (403, 404, 405, 307)
    # revoke
    r = await http.delete(f"/api/v1/api-keys/{created['id']}", headers=tenant_a.h())
    assert r.status_code == 200 and r.json()["revoked_at"]
    r = await http.get("/api/v1/auth/me", headers={"X-API-Key": key})
    assert r.status_code == 401


async def test_api_key_role_ceiling_and_other_tenant(http, tenant_a, tenant_b, api_settings):
    # an admin key is fine for an admin
    r = await http.post("/api/v1/api-keys", headers=tenant_a.h(), json={"name": "svc"})
    assert r.status_code == 201 and r.json()["role"] == "admin"
    # another tenant can't revoke it (404, not 403)
    r2 = await http.delete(f"/api/v1/api-keys/{r.json()['id']}", headers=tenant_b.h())
    assert r2.status_code == 404


async def test_ensure_default_admin_on_fresh_database(temporal_env):
    name = f"wfo_boot_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        await run_migrations(url)
        settings = Settings(environment="test", database_url=url)
        created = await ensure_default_admin(settings)
        assert created is not None
        email, password = created
        assert await ensure_default_admin(settings) is None  # only once
        from api.main import create_app

        app = create_app(settings, temporal_client=temporal_env.client, reconcile_interval=None)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            r = await c.post("/api/v1/auth/token", data={"username": email, "password": password})
            assert r.status_code == 200
            me = await c.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"})
            assert me.json()["role"] == "admin"
        await app.state.engine.dispose()
    finally:
        admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_user_bound_key_follows_its_user(http, tenant_a):
    email = f"bound-{uuid.uuid4().hex[:6]}@a.test"
    uid = (await http.post("/api/v1/users", headers=tenant_a.h(), json={"email": email, "password": "bound-pass-1", "role": "admin"})).json()["id"]
    tok = (await http.post("/api/v1/auth/token", data={"username": email, "password": "bound-pass-1"})).json()["access_token"]
    key = (await http.post("/api/v1/api-keys", headers={"Authorization": f"Bearer {tok}"},
                           json={"name": "mine", "bind_to_user": True})).json()
    assert key["user_id"] == uid and key["role"] == "admin"
    kh = {"X-API-Key": key["key"]}
    assert (await http.get("/api/v1/auth/me", headers=kh)).json()["role"] == "admin"
    await http.patch(f"/api/v1/users/{uid}", headers=tenant_a.h(), json={"role": "viewer"})
    assert (await http.get("/api/v1/auth/me", headers=kh)).json()["role"] == "viewer"
    assert (await http.get("/api/v1/users", headers=kh)).status_code == 403
    await http.patch(f"/api/v1/users/{uid}", headers=tenant_a.h(), json={"is_active": False})
    assert (await http.get("/api/v1/auth/me", headers=kh)).status_code == 401


async def test_login_with_an_email_in_two_tenants(http, tenant_a, tenant_b):
    """Emails are unique per tenant: when one has accounts in two, login asks for the tenant (409, once the
    password opened one of them; a wrong password stays a plain 401) and the `tenant` form field (name or
    id; OAuth2 `client_id` alike) picks the account."""
    email = f"both-{uuid.uuid4().hex[:8]}@example.test"
    pw_a, pw_b = f"alpha-{uuid.uuid4().hex[:10]}", f"bravo-{uuid.uuid4().hex[:10]}"
    for ctx, pw in ((tenant_a, pw_a), (tenant_b, pw_b)):
        r = await http.post("/api/v1/users", headers=ctx.h(), json={"email": email, "password": pw})
        assert r.status_code == 201, r.text

    async def login(password: str, **extra: str) -> httpx.Response:
        return await http.post("/api/v1/auth/token", data={"username": email, "password": password, **extra})

    async def tenant_of(r: httpx.Response) -> str:
        assert r.status_code == 200, r.text
        me = await http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"})
        return me.json()["tenant_id"]

    r = await login("wrong-password-1")
    assert r.status_code == 401 and "tenant" not in r.text  # not an oracle for other tenants' emails
    r = await login(pw_a)
    assert r.status_code == 409, r.text
    detail = r.json()["detail"]
    assert detail["code"] == "tenant_required" and "several tenants" in detail["message"]
    assert detail["tenants"] == [tenant_a.name]  # only the tenants the password opened
    assert await tenant_of(await login(pw_a, tenant=tenant_a.name)) == str(tenant_a.id)
    assert await tenant_of(await login(pw_b, tenant=str(tenant_b.id))) == str(tenant_b.id)
    assert await tenant_of(await login(pw_b, client_id=tenant_b.name)) == str(tenant_b.id)
    r = await login(pw_a, tenant=tenant_b.name)  # the right password of the other tenant's account
    assert r.status_code == 401
    # one email in a single tenant needs no tenant; a tenant that is not its own is a plain 401
    user = tenant_a.users["operator"]
    r = await http.post("/api/v1/auth/token", data={"username": user.email, "password": tenant_a.passwords["operator"]})
    assert r.status_code == 200
    r = await http.post("/api/v1/auth/token", data={"username": user.email, "password": tenant_a.passwords["operator"],
                                                    "tenant": tenant_b.name})
    assert r.status_code == 401


async def test_login_same_password_in_two_tenants_lists_both(http, tenant_a, tenant_b):
    email = f"same-{uuid.uuid4().hex[:8]}@example.test"
    pw = f"shared-{uuid.uuid4().hex[:10]}"
    for ctx in (tenant_a, tenant_b):
        assert (await http.post("/api/v1/users", headers=ctx.h(), json={"email": email, "password": pw})).status_code == 201
    r = await http.post("/api/v1/auth/token", data={"username": email, "password": pw})
    assert r.status_code == 409 and r.json()["detail"]["tenants"] == [tenant_a.name, tenant_b.name]
