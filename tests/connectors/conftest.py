"""Connector test fixtures: a tenant with a credentials vault on the test Postgres, a node context that
resolves credentials like the worker does, and a runner for one-node workflows on the real Temporal."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest_asyncio
from temporalio.client import WorkflowHandle

from activities.services import Services
from connectors.base import NodeContext
from tests.helpers import defn, node
from wfo.db import create_engine, create_sessionmaker
from wfo.executions import start_execution
from wfo.models import Tenant
from wfo.settings import Settings
from wfo.stores import credentials as store
from worker.main import build_worker


@dataclass
class Vault:
    tenant_id: uuid.UUID
    settings: Settings
    services: Services

    async def add(self, name: str, type: str, values: dict[str, Any]) -> str:
        async with self.services.sessionmaker()() as session:
            await store.create_credential(session, store.keyring_for(self.settings), tenant_id=self.tenant_id,
                                          name=name, type=type, values=values)
        return name

    def ctx(self, node_id: str = "n", attempt: int = 1) -> NodeContext:
        """What the component activity gives a connector (credentials resolved from this tenant's vault)."""
        return NodeContext(execution_id=f"exec-{uuid.uuid4().hex[:8]}", node_id=node_id, attempt=attempt,
                           idempotency_key=f"k-{uuid.uuid4().hex}", tenant_id=str(self.tenant_id),
                           services=self.services, credentials=self.services.credentials)


@pytest_asyncio.fixture
async def vault(settings: Settings) -> AsyncIterator[Vault]:
    engine = create_engine(settings, pool_size=1, max_overflow=0)
    try:
        async with create_sessionmaker(engine)() as session:
            tenant = Tenant(name=f"conn-{uuid.uuid4().hex[:8]}")
            session.add(tenant)
            await session.commit()
            tenant_id = tenant.id
    finally:
        await engine.dispose()
    services = Services(settings)
    try:
        yield Vault(tenant_id, settings, services)
    finally:
        await services.close()


@dataclass
class Flow:
    handle: WorkflowHandle
    result: Any


@pytest_asyncio.fixture
async def run_node(temporal_env, settings: Settings, vault: Vault):
    """Run `start -> <node> -> end` (the node's `error` port to an end that outputs the error) on a worker
    of this test's task queue, as the vault's tenant. Returns the Flow (result: {"ok": output} or
    {"error": error})."""
    client = temporal_env.client

    async def _run(type_: str, config: dict[str, Any], *, input: Any = None, retry: dict | None = None,
                   timeout: str | None = None) -> Flow:
        extra: dict[str, Any] = {}
        if retry:
            extra["retry"] = retry
        if timeout:
            extra["timeout"] = timeout
        d = defn([node("start", "start"), {"id": "n", "type": type_, "config": config, **extra},
                  node("ok", "end", output="{{ {'ok': nodes.n} }}"),
                  node("failed", "end", output="{{ {'error': nodes.n.error} }}")],
                 ["start->n", "n->ok", "n:error->failed"])
        handle = await start_execution(client, definition=d, input=input, task_queue=settings.temporal_task_queue,
                                       tenant_id=str(vault.tenant_id))
        return Flow(handle, await asyncio.wait_for(handle.result(), 60))

    async with build_worker(client, settings):
        yield _run


async def history_bytes(handle: WorkflowHandle) -> bytes:
    """Every event of the execution's history, serialized (payload data appears there as written)."""
    return b"".join([ev.SerializeToString() async for ev in handle.fetch_history_events()])


FAST_RETRY = {"max_attempts": 2, "initial_interval": "PT0.1S", "backoff_coefficient": 1.0}
