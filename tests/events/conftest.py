"""Fixtures for the events/triggers tests: a migrated DB session factory, a tenant, strict SSRF settings."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio

from tests.events.receiver import Receiver
from wfo.db import create_engine, create_sessionmaker, sql
from wfo.settings import Settings


@pytest.fixture
def ev_settings(settings: Settings) -> Settings:
    """Private networks refused except 127.0.0.1 through the allowlist (what production looks like)."""
    return settings.model_copy(update={"http_allow_private_networks": False, "outbound_allowlist": ["127.0.0.1"],
                                       "otel_traces_exporter": "none"})


@pytest_asyncio.fixture(scope="session")
async def db_engine(database_url: str):
    engine = create_engine(database_url, pool_size=5, max_overflow=5)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def sessionmaker(db_engine):
    return create_sessionmaker(db_engine)


@pytest_asyncio.fixture
async def tenant_id(sessionmaker) -> uuid.UUID:
    tid = uuid.uuid4()
    async with sessionmaker() as s:
        await sql(s, ("INSERT INTO tenants (id, name) VALUES (:id, :name)"), {"id": tid, "name": f"t-{tid.hex[:8]}"})
        await s.commit()
    return tid


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    try:
        yield r
    finally:
        await r.stop()


# ---------------------------------------------------------------- API fixtures

ECHO_DEFINITION = {
    "schema_version": 1,
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "end", "type": "end", "config": {"output": "{{ input }}"}},
    ],
    "edges": [{"source": "start", "target": "end"}],
}

SLOW_DEFINITION = {
    "schema_version": 1,
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "nap", "type": "wait", "config": {"duration": "PT3S"}},
        {"id": "end", "type": "end", "config": {"output": "{{ input.body }}"}},
    ],
    "edges": [{"source": "start", "target": "nap"}, {"source": "nap", "target": "end"}],
}


@dataclass
class ApiCtx:
    http: httpx.AsyncClient
    app: object
    tenant_id: uuid.UUID
    token: str
    settings: Settings

    @property
    def h(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def workflow(self, definition=None, status: str = "active") -> str:
        r = await self.http.post(
            "/api/v1/workflows",
            headers=self.h,
            json={"name": f"wf-{uuid.uuid4().hex[:6]}", "definition": definition or ECHO_DEFINITION, "status": status},
        )
        assert r.status_code == 201, r.text
        return r.json()["id"]

    async def trigger(self, workflow_id: str, **body) -> dict:
        r = await self.http.post(f"/api/v1/workflows/{workflow_id}/triggers", headers=self.h, json={"kind": "webhook", **body})
        assert r.status_code == 201, r.text
        return r.json()


async def make_user(sessionmaker, settings: Settings, tenant_id: uuid.UUID, role: str = "admin") -> str:
    from api import security

    uid = uuid.uuid4()
    async with sessionmaker() as s:
        await sql(
            s,
            "INSERT INTO users (id, tenant_id, email, hashed_password, role) VALUES (:id, :t, :e, 'x', :r)",
            {"id": uid, "t": tenant_id, "e": f"{uid.hex[:10]}@example.com", "r": role},
        )
        await s.commit()
    return security.create_access_token(settings, user_id=uid, tenant_id=tenant_id, role=role)


@asynccontextmanager
async def api_context(settings: Settings, client, sessionmaker, tenant_id, *, temporal_client=None):
    from api.main import create_app

    app = create_app(settings, temporal_client=temporal_client or client, reconcile_interval=None)
    token = await make_user(sessionmaker, settings, tenant_id)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=60) as http:
        try:
            yield ApiCtx(http=http, app=app, tenant_id=tenant_id, token=token, settings=settings)
        finally:
            from api.main import close_app

            await close_app(app)


@pytest_asyncio.fixture
async def api(ev_settings, client, sessionmaker, tenant_id) -> AsyncIterator[ApiCtx]:
    async with api_context(ev_settings, client, sessionmaker, tenant_id) as ctx:
        yield ctx


@asynccontextmanager
async def running_worker(client, settings: Settings):
    from worker.main import build_worker

    async with build_worker(client, settings):
        yield


@pytest_asyncio.fixture
async def worker(client, ev_settings):
    async with running_worker(client, ev_settings):
        yield


@asynccontextmanager
async def serve(app):
    """Run ``app`` on a real HTTP server at 127.0.0.1:<free port> (streaming responses, real sockets)."""
    import asyncio
    import socket

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()
