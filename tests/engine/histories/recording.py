"""What the history recorders (`record_alerts`, `record_events`, and `record`'s file writing) share: a fresh
migrated database with one tenant, a local Temporal dev server with the project's search attributes and
data converter, test `Settings` on both, and the replay file format. Recording is manual (never part of the
test run); the recorded files are what `tests/engine/test_replay.py` replays."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import text
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from wfo.db import create_engine, create_sessionmaker, run_migrations
from wfo.settings import Settings
from wfo.temporal import SEARCH_ATTRIBUTES, temporal_cli_path
from workflows.converter import data_converter

HERE = Path(__file__).parent
DEFAULT_PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass
class Recording:
    env: WorkflowEnvironment
    settings: Settings
    sessionmaker: Any
    tenant_id: uuid.UUID


@asynccontextmanager
async def fresh_recording(pg_admin_url: str, **settings: Any) -> AsyncIterator[Recording]:
    """A database created (and migrated) for this recording with tenant ``rec``, a local Temporal dev
    server and test settings on both (`settings` added); everything is dropped and stopped afterwards."""
    name = f"wfo_rec_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(pg_admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    database_url = pg_admin_url.rsplit("/", 1)[0] + f"/{name}"
    await run_migrations(database_url)
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=temporal_cli_path(),
                                                search_attributes=SEARCH_ATTRIBUTES, data_converter=data_converter)
    engine = create_engine(database_url)
    sessionmaker = create_sessionmaker(engine)
    rec = Recording(env, Settings(environment="test", database_url=database_url,
                                  temporal_task_queue=f"rec-{uuid.uuid4().hex[:8]}",
                                  temporal_address=env.client.service_client.config.target_host,
                                  worker_shutdown_grace_seconds=1, **settings),
                    sessionmaker, uuid.uuid4())
    try:
        await add_tenant(sessionmaker, rec.tenant_id, "rec")
        yield rec
    finally:
        await engine.dispose()
        await env.shutdown()
        admin = await asyncpg.connect(pg_admin_url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def add_tenant(sessionmaker: Any, tenant_id: uuid.UUID, name: str) -> None:
    async with sessionmaker() as s:
        await s.execute(text("INSERT INTO tenants (id, name) VALUES (:id, :n)"), {"id": tenant_id, "n": name})
        await s.commit()


def save_history(history: WorkflowHistory, name: str) -> None:
    """Write `history` as ``replay-<name>.json`` beside this file (the format the replay test reads)."""
    (HERE / f"replay-{name}.json").write_text(json.dumps(json.loads(history.to_json()), indent=1))
    print("recorded", name)


def run(main: Callable[[str], Awaitable[None]]) -> None:
    """``python -m tests.engine.histories.<recorder> [PG_ADMIN_URL]``."""
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_PG_ADMIN_URL))
