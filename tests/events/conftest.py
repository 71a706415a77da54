"""Fixtures for the events/triggers tests: a migrated DB session factory, a tenant, strict SSRF settings."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from api.events.db import sql

from tests.events.receiver import Receiver
from wfo.db import create_engine, create_sessionmaker
from wfo.settings import Settings


@pytest.fixture
def ev_settings(settings: Settings) -> Settings:
    """Private networks refused except 127.0.0.1 through the allowlist (what production looks like)."""
    return settings.model_copy(update={"http_allow_private_networks": False, "outbound_allowlist": ["127.0.0.1"]})


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
