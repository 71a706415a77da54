"""`wfo gc`: stored payloads go once they are old and their (root) execution is not running."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid

import asyncpg


async def test_payload_collection(database_url):
    conn = await asyncpg.connect(database_url)
    tenant = uuid.uuid4()
    wf = uuid.uuid4()
    running, finished = f"exec-{uuid.uuid4().hex}", f"exec-{uuid.uuid4().hex}"
    try:
        await conn.execute("INSERT INTO tenants (id, name) VALUES ($1, $2)", tenant, f"gc-{tenant.hex[:6]}")
        await conn.execute("INSERT INTO workflows (id, tenant_id, name, status, current_version, tags) "
                           "VALUES ($1, $2, 'gc', 'active', 1, '[]'::jsonb)", wf, tenant)
        for ex, status in ((running, "running"), (finished, "completed")):
            await conn.execute("INSERT INTO executions (id, tenant_id, workflow_id, version, status, trigger, "
                               "started_at, updated_at) VALUES ($1, $2, $3, 1, $4, 'manual', now(), now())",
                               ex, tenant, wf, status)
        rows = {
            "old-running": (running, "40 days"), "old-running-child": (f"{running}/each/3/0", "40 days"),
            "old-finished": (finished, "40 days"), "old-finished-child": (f"{finished}/each/3/1", "40 days"),
            "old-unknown": ("exec-cli-run", "40 days"), "old-no-owner": (None, "40 days"),
            "new-finished": (finished, "1 day"),
        }
        for key, (ex, age) in rows.items():
            await conn.execute("INSERT INTO payloads (id, data, size, execution_id, created_at) "
                               f"VALUES ($1, 'x', 1, $2, now() - interval '{age}')", f"gc-{key}", ex)
        env = {**os.environ, "DATABASE_URL": database_url}
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "cli.main", "gc", "--older-than", "P30D",
                                                    env=env, stdout=asyncio.subprocess.PIPE)
        out, _ = await proc.communicate()
        assert proc.returncode == 0 and b"deleted 4 stored payload(s)" in out
        left = {r["id"] for r in await conn.fetch("SELECT id FROM payloads WHERE id LIKE 'gc-%'")}
        assert left == {"gc-old-running", "gc-old-running-child", "gc-new-finished"}
    finally:
        await conn.execute("DELETE FROM payloads WHERE id LIKE 'gc-%'")
        await conn.close()
