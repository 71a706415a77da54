"""Schema: migrations reach head, match the SQLModel metadata, and keep the engine's raw SQL working."""

from __future__ import annotations

import uuid

import asyncpg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import wfo.models
import wfo.models_alerts
import wfo.models_analytics
import wfo.models_credentials
import wfo.models_events
import wfo.models_tasks
import wfo.models_templates  # noqa: F401
from wfo.db import PgPool, alembic_config, create_engine, create_sessionmaker, current_revisions, run_migrations
from wfo.models import Execution, ExecutionFailure, Tenant, Workflow
from wfo.stores.executions import index_execution


async def test_migrated_to_head_and_idempotent(database_url):
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    assert await current_revisions(database_url) == heads
    await run_migrations(database_url)  # no-op the second time
    assert await current_revisions(database_url) == heads


async def test_initial_revision_id():
    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_revision("0001_initial").down_revision is None


async def test_models_match_migrations():
    """On a database of its own (other tests create scratch tables in the session's one)."""
    from tests.conftest import PG_ADMIN_URL

    name = f"wfo_autogen_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        await run_migrations(url)
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c, opts={"compare_type": True}), SQLModel.metadata)
            )
    finally:
        await engine.dispose()
        admin = await asyncpg.connect(PG_ADMIN_URL)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    # every table has a model: autogenerate against the migrated database proposes nothing
    assert diff == []


async def test_never_started_state_is_a_column_not_message_text(database_url):
    """A keyed retry revives a failed row only when ``failure`` says its start never reached Temporal."""
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    sm = create_sessionmaker(engine)
    try:
        async with sm() as s:
            tenant = Tenant(name=f"st-{uuid.uuid4().hex[:6]}")
            s.add(tenant)
            await s.flush()
            wf = Workflow(tenant_id=tenant.id, name="w")
            s.add(wf)
            await s.flush()
            rows = {
                "start": Execution(id=f"e-{uuid.uuid4()}", tenant_id=tenant.id, workflow_id=wf.id, status="failed",
                                   error="anything at all", failure=ExecutionFailure.start_failed.value),
                "ghost": Execution(id=f"e-{uuid.uuid4()}", tenant_id=tenant.id, workflow_id=wf.id, status="failed",
                                   error=None, failure=ExecutionFailure.not_found.value),
                # the old message prefix alone no longer revives anything
                "real": Execution(id=f"e-{uuid.uuid4()}", tenant_id=tenant.id, workflow_id=wf.id, status="failed",
                                  error="could not start: a node failed", failure=None),
            }
            s.add_all(rows.values())
            await s.commit()
        pg = PgPool(database_url, max_size=1)
        try:
            db = await pg()
            for row in rows.values():
                inserted = await index_execution(db, execution_id=row.id, tenant_id=tenant.id, workflow_id=wf.id,
                                                 version=1, trigger="webhook", input={"n": 1}, started_by="t")
                assert inserted is False  # the row existed
            fresh = await index_execution(db, execution_id=f"e-{uuid.uuid4()}", tenant_id=tenant.id,
                                          workflow_id=wf.id, version=1, trigger="webhook", input=None, started_by="t")
            assert fresh is True
        finally:
            await pg.close()
        async with sm() as s:
            got = {k: await s.get(Execution, r.id) for k, r in rows.items()}
        assert (got["start"].status, got["start"].failure, got["start"].error) == ("running", None, None)
        assert (got["ghost"].status, got["ghost"].failure) == ("running", None)
        assert (got["real"].status, got["real"].error) == ("failed", "could not start: a node failed")
    finally:
        await engine.dispose()


async def test_engine_raw_sql_contract(database_url):
    """The engine's activities read definitions and payloads with these exact statements."""
    conn = await asyncpg.connect(database_url)
    try:
        tenant, wf = uuid.uuid4(), uuid.uuid4()
        await conn.execute("INSERT INTO tenants (id, name) VALUES ($1, $2)", tenant, f"raw-{tenant.hex[:6]}")
        await conn.execute(
            "INSERT INTO workflows (id, tenant_id, name, current_version) VALUES ($1, $2, 'w', 2)", wf, tenant
        )
        for v in (1, 2):
            await conn.execute(
                "INSERT INTO workflow_versions (workflow_id, version, definition) VALUES ($1, $2, $3::jsonb)",
                wf, v, f'{{"v": {v}}}',
            )
        q = (
            "SELECT v.definition FROM workflow_versions v JOIN workflows w ON w.id = v.workflow_id "
            "WHERE w.id::text = $1 AND v.version = COALESCE($2, w.current_version) AND w.tenant_id::text = $3"
        )
        assert await conn.fetchval(q, str(wf), None, str(tenant)) == '{"v": 2}'
        assert await conn.fetchval(q, str(wf), 1, str(tenant)) == '{"v": 1}'
        assert await conn.fetchval(q, str(wf), 1, str(uuid.uuid4())) is None

        await conn.execute(
            "INSERT INTO payloads (id, tenant_id, data, size) VALUES ($1,$2,$3,$4)", "p1", None, b"\x00big", 4
        )
        assert await conn.fetchval("SELECT data FROM payloads WHERE id=$1", "p1") == b"\x00big"
        assert await conn.fetchval("SELECT created_at IS NOT NULL FROM payloads WHERE id=$1", "p1")
    finally:
        await conn.close()
