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


async def test_health_detailed_reports_workers_and_backlog(http, worker, api_settings):
    """With a worker polling the API's task queue, /health/detailed names it; the backlog is a number."""
    import asyncio

    for _ in range(40):  # pollers appear once the worker's first long polls reach the server
        body = (await http.get("/health/detailed")).json()
        if body["task_queue"].get("workers_live"):
            break
        await asyncio.sleep(0.25)
    tq = body["task_queue"]
    assert tq["status"] == "ok" and tq["workers_live"] is True, tq
    assert tq["task_queue"] == api_settings.temporal_task_queue
    assert tq["workflow_pollers"] and tq["activity_pollers"]
    assert isinstance(tq["backlog"], int) and tq["backlog"] >= 0


async def test_health_detailed_without_worker_says_so(api_settings):
    settings = api_settings.model_copy(update={"temporal_task_queue": "nobody-polls-this"})
    app = create_app(settings, reconcile_interval=None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.get("/health/detailed")
    await app.state.engine.dispose()
    body = r.json()
    assert body["task_queue"]["status"] == "no_worker" and body["task_queue"]["workers_live"] is False
    assert body["task_queue"]["backlog"] == 0
