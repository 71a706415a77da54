"""Fixtures for the API tests: one app per session on the real Postgres + Temporal dev server,
two tenants with a user of every role."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
import pytest_asyncio

from api import security
from api.main import create_app
from wfo.db import create_engine, create_sessionmaker
from wfo.models import Role, Tenant, User
from wfo.settings import Settings

ROLES = [r.value for r in Role]

VALID_DEFINITION = {
    "schema_version": 1,
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "double", "type": "transform", "config": {"expression": "{ 'value': input.x * 2 }"}},
        {"id": "end", "type": "end", "config": {"output": "{{ nodes.double }}"}},
    ],
    "edges": [{"source": "start", "target": "double"}, {"source": "double", "target": "end"}],
}


@pytest.fixture(scope="session")
def api_settings(temporal_env, database_url) -> Settings:
    redis_url = os.environ.get("WFO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    return Settings(
        environment="test",
        database_url=database_url,
        redis_url=redis_url,
        temporal_address=temporal_env.client.service_client.config.target_host,
        temporal_task_queue=f"api-{uuid.uuid4().hex[:10]}",
        http_allow_private_networks=True,
        max_request_bytes=64 * 1024,
        worker_shutdown_grace_seconds=1,
    )


@pytest_asyncio.fixture(scope="session")
async def app(api_settings, temporal_env):
    application = create_app(api_settings, temporal_client=temporal_env.client, reconcile_interval=None)
    async with application.router.lifespan_context(application):
        yield application


@pytest_asyncio.fixture(scope="session")
async def http(app) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


@pytest_asyncio.fixture(scope="session")
async def worker(temporal_env, api_settings):
    """The engine's worker on the API's task queue."""
    from worker.main import build_worker

    async with build_worker(temporal_env.client, api_settings):
        yield


@dataclass
class TenantCtx:
    id: uuid.UUID
    name: str
    users: dict[str, User] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)

    def h(self, role: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


async def make_tenant(settings: Settings, name: str | None = None) -> TenantCtx:
    engine = create_engine(settings, pool_size=1, max_overflow=0)
    try:
        async with create_sessionmaker(engine)() as session:
            tenant = Tenant(name=name or f"t-{uuid.uuid4().hex[:8]}")
            session.add(tenant)
            await session.flush()
            ctx = TenantCtx(id=tenant.id, name=tenant.name)
            for role in ROLES:
                pw = f"pw-{uuid.uuid4().hex[:12]}"
                user = User(
                    tenant_id=tenant.id,
                    email=f"{role}-{uuid.uuid4().hex[:8]}@{tenant.name}.test",
                    hashed_password=security.hash_password(pw),
                    role=role,
                )
                session.add(user)
                ctx.users[role] = user
                ctx.passwords[role] = pw
            await session.commit()
            for role, user in ctx.users.items():
                ctx.tokens[role] = security.create_access_token(
                    settings, user_id=user.id, tenant_id=tenant.id, role=role
                )
            return ctx
    finally:
        await engine.dispose()


@pytest_asyncio.fixture(scope="session")
async def tenant_a(api_settings) -> TenantCtx:
    return await make_tenant(api_settings)


@pytest_asyncio.fixture(scope="session")
async def tenant_b(api_settings) -> TenantCtx:
    return await make_tenant(api_settings)


@pytest.fixture
def definition() -> dict:
    import copy

    return copy.deepcopy(VALID_DEFINITION)
