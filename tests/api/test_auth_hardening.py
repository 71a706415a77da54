"""Issue 10 items 5 and 6: login throttling and lockout, session lifetime, API keys bound to their creator.

Before: 30 wrong passwords in 4 s, then a success; an unbound admin key kept working after its creator was
disabled and the key row recorded no creator.
"""

from __future__ import annotations

import asyncio
import random
import uuid

import httpx
import jwt
import pytest

from api import security
from api.main import create_app
from tests.api.conftest import make_tenant


def _address() -> str:
    return f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


async def _client(app, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 4321)), base_url="http://t")


async def _login(c: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await c.post("/api/v1/auth/token", data={"username": email, "password": password})


def _app(api_settings, window: int, **extra):
    """An app with small limits: 3 per account, 6 per address, counted and locked for `window` seconds."""
    return create_app(api_settings.model_copy(update={"max_login_attempts": 3, "max_login_attempts_per_address": 6,
                                                      "login_lockout_seconds": window, **extra}),
                      reconcile_interval=None)


@pytest.fixture
async def throttled(api_settings):
    app = _app(api_settings, 60)  # long enough that no count expires on a slow machine
    yield app
    await app.state.engine.dispose()


@pytest.fixture
async def expiring(api_settings):
    app = _app(api_settings, 8)  # short enough to wait out the lock
    yield app
    await app.state.engine.dispose()


@pytest.fixture
async def expiring_without_redis(api_settings):
    app = _app(api_settings, 8, redis_url="redis://127.0.0.1:1/0")
    yield app
    await app.state.engine.dispose()


async def _lockout_cycle(app, api_settings) -> None:
    tenant = await make_tenant(api_settings)
    user, pw = tenant.users["viewer"], tenant.passwords["viewer"]
    async with await _client(app, _address()) as c:
        for _ in range(3):
            assert (await _login(c, user.email, "wrong-password")).status_code == 401
        r = await _login(c, user.email, pw)  # the right password, but the account is locked
        assert r.status_code == 429, r.text
        wait = int(r.headers["Retry-After"])
        assert 1 <= wait <= 8 and "account" in r.json()["detail"]
    async with await _client(app, _address()) as other:  # the account lock holds from any address
        assert (await _login(other, user.email, pw)).status_code == 429
        await asyncio.sleep(wait + 0.3)  # the lock expires
        r = await _login(other, user.email, pw)
        assert r.status_code == 200, r.text


async def test_account_lockout_with_retry_after_and_expiry(expiring, api_settings):
    await _lockout_cycle(expiring, api_settings)


async def test_lockout_holds_when_redis_is_down(expiring_without_redis, api_settings):
    await _lockout_cycle(expiring_without_redis, api_settings)


async def test_success_clears_the_account_count(throttled, api_settings):
    tenant = await make_tenant(api_settings)
    user, pw = tenant.users["viewer"], tenant.passwords["viewer"]
    for _ in range(3):  # 2 failures + a success, three times: the account never reaches 3
        async with await _client(throttled, _address()) as c:  # (each round from its own address)
            for _ in range(2):
                assert (await _login(c, user.email, "nope-nope")).status_code == 401
            assert (await _login(c, user.email, pw)).status_code == 200


async def test_address_lockout_across_accounts(throttled, api_settings):
    tenant = await make_tenant(api_settings)
    address = _address()
    async with await _client(throttled, address) as c:
        for i in range(6):  # six different (unknown) accounts from one address
            assert (await _login(c, f"nobody{i}-{uuid.uuid4().hex[:6]}@x.test", "guess")).status_code == 401
        r = await _login(c, tenant.users["admin"].email, tenant.passwords["admin"])
        assert r.status_code == 429 and "address" in r.json()["detail"] and r.headers["Retry-After"]
    async with await _client(throttled, _address()) as elsewhere:
        assert (await _login(elsewhere, tenant.users["admin"].email, tenant.passwords["admin"])).status_code == 200


async def test_failed_api_keys_are_throttled_per_address(throttled, api_settings):
    tenant = await make_tenant(api_settings)
    address = _address()
    async with await _client(throttled, address) as c:
        r = await c.post("/api/v1/api-keys", headers=tenant.h("admin"), json={"name": "svc"})
        assert r.status_code == 201, r.text
        good = r.json()["key"]
        for _ in range(6):
            r = await c.get("/api/v1/workflows", headers={"X-API-Key": f"wfo_{uuid.uuid4().hex}"})
            assert r.status_code == 401
        r = await c.get("/api/v1/workflows", headers={"X-API-Key": good})
        assert r.status_code == 429 and r.headers["Retry-After"]
        r = await c.get("/api/v1/workflows", headers={"Authorization": f"Bearer wfo_{uuid.uuid4().hex}"})
        assert r.status_code == 429
    async with await _client(throttled, _address()) as elsewhere:
        assert (await elsewhere.get("/api/v1/workflows", headers={"X-API-Key": good})).status_code == 200


async def test_session_timeout_sets_the_token_lifetime(http, api_settings, tenant_a):
    r = await http.post("/api/v1/auth/token", data={"username": tenant_a.users["viewer"].email,
                                                    "password": tenant_a.passwords["viewer"]})
    assert r.status_code == 200 and r.json()["expires_in"] == 8 * 3600
    claims = jwt.decode(r.json()["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 8 * 3600

    short = api_settings.model_copy(update={"session_timeout_hours": 1 / 3600})
    app = create_app(short, reconcile_interval=None)
    try:
        async with await _client(app, _address()) as c:
            r = await _login(c, tenant_a.users["viewer"].email, tenant_a.passwords["viewer"])
            assert r.status_code == 200 and r.json()["expires_in"] == 1
            token = r.json()["access_token"]
            assert (await c.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})).status_code == 200
            await asyncio.sleep(2.1)
            assert (await c.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})).status_code == 401
    finally:
        await app.state.engine.dispose()


async def test_api_key_stops_when_its_creator_is_disabled_or_demoted(http, api_settings):
    tenant = await make_tenant(api_settings)
    admin2 = await make_tenant(api_settings)  # noqa: F841  (another tenant, untouched)
    r = await http.post("/api/v1/api-keys", headers=tenant.h("admin"), json={"name": "unbound admin key"})
    assert r.status_code == 201, r.text
    key, key_id = r.json()["key"], r.json()["id"]
    assert r.json()["created_by"] == tenant.users["admin"].email
    assert r.json()["created_by_user_id"] == str(tenant.users["admin"].id) and r.json()["user_id"] is None
    # a key made by that key answers to the same person
    r = await http.post("/api/v1/api-keys", headers={"X-API-Key": key}, json={"name": "child", "role": "developer"})
    assert r.status_code == 201, r.text
    child = r.json()["key"]
    assert r.json()["created_by"].startswith("api-key:") and r.json()["created_by_user_id"] == str(tenant.users["admin"].id)
    assert (await http.get("/api/v1/workflows", headers={"X-API-Key": key})).status_code == 200

    listed = (await http.get("/api/v1/api-keys", headers=tenant.h("admin"))).json()
    mine = next(k for k in listed if k["id"] == key_id)
    assert mine["created_by"] == tenant.users["admin"].email and mine["last_used_at"] is not None

    # the creator loses the admin role: the admin key stops, the developer key made from it still works
    other_admin = tenant.h("admin")
    creator = tenant.users["admin"]
    second = await http.post("/api/v1/users", headers=other_admin,
                             json={"email": f"boss-{uuid.uuid4().hex[:6]}@{tenant.name}.test",
                                   "password": "a-long-unusual-passphrase-9", "role": "admin"})
    assert second.status_code == 201, second.text
    boss = security.create_access_token(api_settings, user_id=uuid.UUID(second.json()["id"]),
                                        tenant_id=tenant.id, role="admin")
    boss_h = {"Authorization": f"Bearer {boss}"}
    r = await http.patch(f"/api/v1/users/{creator.id}", headers=boss_h, json={"role": "developer"})
    assert r.status_code == 200, r.text
    r = await http.get("/api/v1/workflows", headers={"X-API-Key": key})
    assert r.status_code == 401 and "role" in r.json()["detail"]
    assert (await http.get("/api/v1/workflows", headers={"X-API-Key": child})).status_code == 200
    r = await http.post("/api/v1/users", headers={"X-API-Key": key},
                        json={"email": f"evil-{uuid.uuid4().hex[:6]}@x.test", "password": "another-long-pass-7",
                              "role": "admin"})
    assert r.status_code == 401

    # the creator is disabled: every key on their authority stops
    r = await http.patch(f"/api/v1/users/{creator.id}", headers=boss_h, json={"is_active": False})
    assert r.status_code == 200, r.text
    r = await http.get("/api/v1/workflows", headers={"X-API-Key": child})
    assert r.status_code == 401 and "creator" in r.json()["detail"]
