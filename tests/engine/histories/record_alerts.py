"""Record an ``AlertsScheduler`` history for the replay test.

Run ``python -m tests.engine.histories.record_alerts [PG_ADMIN_URL]`` after an intended,
``workflow.patched``-guarded change to the scheduler, and add the new file beside the old one. It uses a
fresh migrated database with one firing failure-rate rule, a local Temporal dev server and the real
worker; the scheduler runs a few passes (the firing one included), then is terminated and its history
saved.

Case ``alerts_scheduler``: evaluation passes with timers between them, then a termination.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy import text
from temporalio.testing import WorkflowEnvironment

from tests.events.conftest import running_worker
from wfo.db import create_engine, create_sessionmaker, run_migrations
from wfo.settings import Settings
from wfo.temporal import SEARCH_ATTRIBUTES, temporal_cli_path
from workflows import alerts
from workflows.converter import data_converter

HERE = Path(__file__).parent


async def main(pg_admin_url: str) -> None:
    name = f"wfo_rec_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(pg_admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    database_url = pg_admin_url.rsplit("/", 1)[0] + f"/{name}"
    await run_migrations(database_url)
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=temporal_cli_path(),
                                                search_attributes=SEARCH_ATTRIBUTES, data_converter=data_converter)
    engine = create_engine(database_url)
    settings = Settings(environment="test", database_url=database_url, temporal_task_queue=f"rec-{uuid.uuid4().hex[:8]}",
                        temporal_address=env.client.service_client.config.target_host, worker_shutdown_grace_seconds=1)
    try:
        async with create_sessionmaker(engine)() as s:
            tenant = uuid.uuid4()
            await s.execute(text("INSERT INTO tenants (id, name) VALUES (:id, 'rec')"), {"id": tenant})
            await s.execute(text("INSERT INTO alert_rules (id, tenant_id, name, kind, params, channels, enabled) "
                                 "VALUES (:id, :t, 'nobody polls', 'queue_backlog', '{\"max_backlog\": -1}', "
                                 "'{\"webhook\": true}', true)"), {"id": uuid.uuid4(), "t": tenant})
            await s.commit()
        async with running_worker(env.client, settings):
            wid = "replay-alerts_scheduler"
            handle = await env.client.start_workflow(
                alerts.AlertsSchedulerWorkflow.run, alerts.AlertsSchedulerInput(settings.temporal_task_queue, 0.2),
                id=wid, task_queue=settings.temporal_task_queue)
            await asyncio.sleep(3.0)
            await handle.terminate()
            history = await handle.fetch_history()
            (HERE / "replay-alerts_scheduler.json").write_text(json.dumps(json.loads(history.to_json()), indent=1))
            print("recorded alerts_scheduler")
    finally:
        await engine.dispose()
        await env.shutdown()
        admin = await asyncpg.connect(pg_admin_url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/postgres"))
