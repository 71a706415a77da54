"""Health endpoints."""

from __future__ import annotations

import httpx

from api.main import create_app
from wfo.settings import Settings


async def test_health(http):
    r = await http.get("/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


async def test_health_detailed_all_up(http):
    r = await http.get("/health/detailed")
    assert r.status_code == 200, r.text
    checks = r.json()["checks"]
    assert set(checks) == {"postgres", "redis", "temporal"}
    for c in checks.values():
        assert c["status"] == "ok" and isinstance(c["latency_ms"], float | int)


async def test_health_detailed_reports_down_dependencies(api_settings):
    settings = Settings(**{**api_settings.model_dump(), "redis_url": "redis://127.0.0.1:1/0",
                           "temporal_address": "127.0.0.1:1", "database_url": "postgresql://nobody:secretpw@127.0.0.1:1/x"})
    app = create_app(settings, reconcile_interval=None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.get("/health/detailed")
    await app.state.engine.dispose()
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "degraded"
    assert all(v["status"] == "error" for v in body["checks"].values())
    assert "secretpw" not in r.text


async def test_database_down_is_503_not_500(api_settings, tenant_a):
    down = api_settings.model_copy(update={"database_url": "postgresql://postgres:pw-secret@127.0.0.1:1/x"})
    app = create_app(down, reconcile_interval=None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.get("/api/v1/workflows", headers=tenant_a.h())
        assert r.status_code == 503 and "pw-secret" not in r.text
        r = await c.post("/api/v1/auth/token", data={"username": "a@b.c", "password": "whatever"})
        assert r.status_code == 503
        assert (await c.get("/health")).status_code == 200
    await app.state.engine.dispose()
