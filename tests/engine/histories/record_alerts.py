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
import uuid

from sqlalchemy import text

from tests.engine.histories.recording import fresh_recording, run, save_history
from tests.events.conftest import running_worker
from workflows import alerts


async def main(pg_admin_url: str) -> None:
    async with fresh_recording(pg_admin_url) as rec:
        env, settings = rec.env, rec.settings
        async with rec.sessionmaker() as s:
            await s.execute(text("INSERT INTO alert_rules (id, tenant_id, name, kind, params, channels, enabled) "
                                 "VALUES (:id, :t, 'nobody polls', 'queue_backlog', '{\"max_backlog\": -1}', "
                                 "'{\"webhook\": true}', true)"), {"id": uuid.uuid4(), "t": rec.tenant_id})
            await s.commit()
        async with running_worker(env.client, settings):
            wid = "replay-alerts_scheduler"
            handle = await env.client.start_workflow(
                alerts.AlertsSchedulerWorkflow.run, alerts.AlertsSchedulerInput(settings.temporal_task_queue, 0.2),
                id=wid, task_queue=settings.temporal_task_queue)
            await asyncio.sleep(3.0)
            await handle.terminate()
            save_history(await handle.fetch_history(), "alerts_scheduler")


if __name__ == "__main__":
    run(main)
