"""Shared fixtures: real Temporal servers (dev + time-skipping), a private Postgres database, Redis."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from cli.dev import DEV_SERVER_ARGS
from wfo.db import run_migrations
from wfo.settings import Settings
from wfo.temporal import SEARCH_ATTRIBUTES, ensure_search_attributes, temporal_cli_path, test_server_path
from workflows.converter import data_converter

PG_ADMIN_URL = os.environ.get("WFO_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("WFO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# The whole suite talks to its apps from one loopback address (and Redis keeps counts between runs): the
# per-address throttle of failed logins / API keys would lock it. tests/api/test_auth_hardening.py tests
# that limit with settings of its own.
os.environ.setdefault("MAX_LOGIN_ATTEMPTS_PER_ADDRESS", "1000000")


@pytest_asyncio.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """A real Temporal dev server (in-memory) with our search attributes registered and `wfo dev`'s settings
    (eager workflow start, eager activities)."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli_path(),
        search_attributes=SEARCH_ATTRIBUTES,
        data_converter=data_converter,
        dev_server_extra_args=list(DEV_SERVER_ARGS),
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest_asyncio.fixture(scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server, for timers and long waits."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=test_server_path(), data_converter=data_converter
    )
    await ensure_search_attributes(env.client)
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
def client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4().hex[:12]}"


@contextlib.asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """A new database on the local Postgres server, migrated to head, dropped on exit."""
    name = f"wfo_test_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        await run_migrations(url)
        yield url
    finally:
        admin = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest_asyncio.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    """A fresh database for the whole session (``fresh_database``)."""
    async with fresh_database() as url:
        yield url


@pytest_asyncio.fixture
async def own_database_url() -> AsyncIterator[str]:
    """A fresh database for one test (one that migrates it up and down, say)."""
    async with fresh_database() as url:
        yield url


@pytest.fixture
def redis_url() -> str:
    return REDIS_URL


@pytest.fixture
def settings(temporal_env: WorkflowEnvironment, database_url: str, redis_url: str, task_queue: str) -> Settings:
    """Settings pointing at the real test servers; each test gets its own task queue."""
    return Settings(
        environment="test",
        database_url=database_url,
        redis_url=redis_url,
        temporal_address=temporal_env.client.service_client.config.target_host,
        temporal_task_queue=task_queue,
        http_allow_private_networks=True,
        worker_shutdown_grace_seconds=1,
    )


def pytest_collection_modifyitems(session, config, items):
    """The browser tests (tests/e2e) run last: Playwright's sync API runs its own event loop in this thread
    for as long as its browser fixture lives, which the session-scoped asyncio loop of every other test
    cannot share."""
    items.sort(key=lambda item: "/tests/e2e/" in str(item.path).replace("\\", "/"))
