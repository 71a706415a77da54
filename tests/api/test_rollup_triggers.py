"""The rollup trigger functions of migration 0019 write exactly the rollups 0012's functions write.

One seeded workload of single-row and many-row inserts, updates (closing rows, changing nothing counted,
moving a duration to another bucket), upserts and deletes runs at head (0019's functions), then again after a
downgrade to 0018 (0012's functions); every row of every rollup table must be the same. Also shows the
downgrade restores the old functions.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from wfo.db import run_downgrade

ROLLUPS = {"execution_rollup": "tenant_id, hour, workflow_id, status",
           "node_rollup": "tenant_id, hour, workflow_id, node_id",
           "node_error_rollup": "tenant_id, hour, workflow_id, node_id, error_type"}


async def _workload(conn: asyncpg.Connection, tenant: uuid.UUID, workflows: list[uuid.UUID | None]) -> None:
    rnd = random.Random(20261206)
    base = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)

    def started() -> datetime:
        return base + timedelta(minutes=rnd.randrange(0, 180), microseconds=rnd.randrange(0, 10**6))

    ins = ("INSERT INTO executions (id, tenant_id, workflow_id, version, status, trigger, started_by, started_at, "
           "updated_at, completed_at) VALUES ($1, $2, $3, 1, $4, 'webhook', 'x', $5, now(), $6)")
    running = []
    for i in range(60):  # one row per statement, as the API writes them
        eid = f"e-{i}"
        await conn.execute(ins, eid, tenant, rnd.choice(workflows), "running", started(), None)
        running.append(eid)
    many = []  # one statement of many finished rows
    for i in range(40):
        s = started()
        many.append((f"b-{i}", tenant, rnd.choice(workflows), rnd.choice(["completed", "failed", "cancelled"]), s,
                     s + timedelta(milliseconds=rnd.choice([0, 0.4, 3, 70, 1500, 90_000]))))
    await conn.executemany(ins, many[:5])
    await conn.execute(
        "INSERT INTO executions (id, tenant_id, workflow_id, version, status, trigger, started_by, started_at, "
        "updated_at, completed_at) SELECT id, $1, wf, 1, st, 'webhook', 'x', sa, now(), ca "
        "FROM unnest($2::text[], $3::uuid[], $4::text[], $5::timestamptz[], $6::timestamptz[]) "
        "AS r (id, wf, st, sa, ca)",
        tenant, [m[0] for m in many[5:]], [m[2] for m in many[5:]], [m[3] for m in many[5:]],
        [m[4] for m in many[5:]], [m[5] for m in many[5:]])
    for eid in running[:20]:  # closed one by one, as the worker closes them
        await conn.execute("UPDATE executions SET status = $2, completed_at = started_at + $3 WHERE id = $1",
                           eid, rnd.choice(["completed", "failed"]), timedelta(milliseconds=rnd.randrange(0, 5000)))
    await conn.execute("UPDATE executions SET status = 'completed', completed_at = started_at + interval '2 s' "
                       "WHERE id = ANY($1::text[])", running[20:35])
    await conn.execute("UPDATE executions SET updated_at = now()")  # nothing the rollups count
    await conn.execute("UPDATE executions SET completed_at = completed_at + interval '1 minute' "
                       "WHERE id = ANY($1::text[])", running[20:25])  # another duration bucket, same status
    await conn.execute("UPDATE executions SET completed_at = completed_at + interval '1 ms' "
                       "WHERE id = ANY($1::text[])", running[31:35])  # the same bucket: only the sum moves
    await conn.execute("UPDATE executions SET status = 'failed' WHERE id = ANY($1::text[])", running[25:28])
    await conn.execute("DELETE FROM executions WHERE id = ANY($1::text[])", running[28:31] + ["b-1", "b-7"])

    node_ins = ("INSERT INTO node_runs (execution_id, node_id, tenant_id, workflow_id, version, node_type, status, "
                "activations, attempts, duration_ms, error_type, error_message, reused, execution_status, "
                "execution_started_at, started_at) SELECT r.e, r.n, $1, r.wf, 1, r.t, r.st, 1, r.a, r.d, r.et, "
                "NULL, r.re, 'completed', r.sa, r.sa FROM unnest($2::text[], $3::text[], $4::uuid[], $5::text[], "
                "$6::text[], $7::int[], $8::bigint[], $9::text[], $10::bool[], $11::timestamptz[]) "
                "AS r (e, n, wf, t, st, a, d, et, re, sa) "
                "ON CONFLICT (execution_id, node_id) DO UPDATE SET status = EXCLUDED.status, "
                "attempts = EXCLUDED.attempts, duration_ms = EXCLUDED.duration_ms, error_type = EXCLUDED.error_type")
    for batch in range(12):  # the worker's one statement per execution, and bigger ones
        rows = []
        for j in range(rnd.choice([1, 3, 5, 20])):
            failed = rnd.random() < 0.3
            rows.append((f"e-{batch}-{j % 4}", rnd.choice(["fetch", "decide", "notify", "end"]),
                         rnd.choice(workflows), rnd.choice(["http.request", "decision"]),
                         "failed" if failed else "completed", rnd.choice([1, 1, 2, 3]),
                         rnd.choice([None, 0, 1, 7, 130, 4000, 10**7]),
                         rnd.choice(["Timeout", None, "HTTPError"]) if failed else None, rnd.random() < 0.15,
                         started()))
        rows = list({(r[0], r[1]): r for r in rows}.values())  # one row per key and statement
        await conn.execute(node_ins, tenant, *[[r[k] for r in rows] for k in range(10)])
    await conn.execute("UPDATE node_runs SET attempts = attempts + 1 WHERE node_id = 'fetch'")
    await conn.execute("UPDATE node_runs SET execution_status = 'failed'")  # nothing counted
    await conn.execute("DELETE FROM node_runs WHERE node_id = 'notify' AND attempts > 1")


async def _snapshot(conn: asyncpg.Connection) -> dict[str, list[dict]]:
    return {t: [dict(r) for r in await conn.fetch(f"SELECT * FROM {t} ORDER BY {key}")]
            for t, key in ROLLUPS.items()}


async def _fresh_run(url: str) -> dict[str, list[dict]]:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("TRUNCATE node_runs, executions, execution_rollup, node_rollup, node_error_rollup")
        tenant = await conn.fetchval("SELECT id FROM tenants LIMIT 1")
        if tenant is None:
            tenant = await conn.fetchval("INSERT INTO tenants (id, name, created_at) "
                                         "VALUES (gen_random_uuid(), 'rollups', now()) RETURNING id")
        workflows: list[uuid.UUID | None] = [None]
        for name in ("w1", "w2"):
            workflows.append(await conn.fetchval(
                "INSERT INTO workflows (id, tenant_id, name, status, current_version, created_at, updated_at, "
                "description) VALUES (gen_random_uuid(), $1, $2, 'active', 1, now(), now(), '') RETURNING id",
                tenant, name))
        await conn.execute("UPDATE tenants SET name = name")  # nothing
        await _workload(conn, tenant, workflows)
        snap = await _snapshot(conn)
        # the workflow ids differ between runs: compare them by position
        order = {w: i for i, w in enumerate(workflows)}
        for rows in snap.values():
            for row in rows:
                row["workflow_id"] = order.get(row["workflow_id"], "zero")
                row.pop("tenant_id")
        return snap
    finally:
        await conn.close()


async def test_0019_rollups_equal_0012_rollups_row_for_row(own_database_url):
    new = await _fresh_run(own_database_url)
    assert sum(len(rows) for rows in new.values()) > 30  # the workload reached every table
    assert all(new.values())
    await run_downgrade(own_database_url, "0018_execution_filter_indexes")
    old = await _fresh_run(own_database_url)
    for table in ROLLUPS:
        assert sorted(map(repr, new[table])) == sorted(map(repr, old[table])), table
