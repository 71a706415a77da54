"""Database access: the async engine/session factory and programmatic Alembic migrations."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from wfo.settings import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def to_sqlalchemy_url(url: str) -> str:
    """``postgresql://...`` -> ``postgresql+asyncpg://...`` (idempotent)."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix):]
    return url


def create_engine(settings: Settings | str, **kwargs) -> AsyncEngine:
    url = settings.sqlalchemy_url if isinstance(settings, Settings) else to_sqlalchemy_url(settings)
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("hide_parameters", True)  # no bound values (inputs, hashes) in errors/logs
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_async_engine(url, **kwargs)


async def _end_open_transaction(conn: asyncpg.Connection) -> None:
    """What a connection returned to a ``PgPool`` needs: no transaction left open. (asyncpg's default reset
    also drops advisory locks, cursors, LISTENs and settings, one round trip per release; the statements on
    these pools leave none.)"""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


class PgPool:
    """An asyncpg pool on the metadata database, created on first use: the hot paths' statements (webhook
    intake, execution index rows, the worker's task and node-run writes) run on it, one round trip each and
    outside any ORM session (see ``wfo/stores/executions.py``, ``triggers.py``, ``worker_db.py``).

    Call it (``await pg()``) for the pool. Connections are kept (no connect per request) up to ``max_size``;
    ``close()`` releases them (idempotent; a later call opens a new pool)."""

    ERRORS: tuple[type[BaseException], ...] = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)
    """What a statement raises when the database is unreachable or refused it."""

    def __init__(self, database_url: str, *, max_size: int = 10) -> None:
        self.database_url = "postgresql://" + database_url.split("://", 1)[1] if "+asyncpg://" in database_url \
            else database_url
        self.max_size = max_size
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    async def __call__(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._lock:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(self.database_url, min_size=0, max_size=self.max_size,
                                                           reset=_end_open_transaction)
        return self._pool

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def session_scope(settings: Settings) -> AsyncIterator[AsyncSession]:
    """A one-off session with its own engine (CLI, scripts). Commits on success."""
    engine = create_engine(settings, pool_size=1, max_overflow=0)
    try:
        async with create_sessionmaker(engine)() as session:
            yield session
            await session.commit()
    finally:
        await engine.dispose()


def alembic_config(database_url: str | None = None):
    from alembic.config import Config

    cfg = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if database_url:
        # '%' must be escaped for configparser interpolation (passwords may contain it)
        cfg.set_main_option("sqlalchemy.url", to_sqlalchemy_url(database_url).replace("%", "%%"))
    return cfg


async def _alembic(database_url: str, direction: str, revision: str) -> None:
    """``alembic <upgrade|downgrade> <revision>`` on one connection to ``database_url``."""
    from alembic import command

    cfg = alembic_config(database_url)
    engine = create_async_engine(to_sqlalchemy_url(database_url), pool_size=1, max_overflow=0)
    try:
        async with engine.begin() as conn:

            def _run(sync_conn) -> None:
                cfg.attributes["connection"] = sync_conn
                getattr(command, direction)(cfg, revision)

            await conn.run_sync(_run)
    finally:
        await engine.dispose()


async def run_migrations(database_url: str, revision: str = "heads") -> None:
    """``alembic upgrade <revision>`` against ``database_url`` (plain postgresql:// URL).

    Defaults to ``heads`` so that two revisions branching from the same parent (landed in
    parallel) are both applied instead of failing with "multiple heads"."""
    await _alembic(database_url, "upgrade", revision)


async def run_downgrade(database_url: str, revision: str) -> None:
    """``alembic downgrade <revision>`` against ``database_url`` (tests and benches compare revisions)."""
    await _alembic(database_url, "downgrade", revision)


async def current_revisions(database_url: str) -> set[str]:
    """The revision(s) the database is at (empty when never migrated)."""
    engine = create_async_engine(to_sqlalchemy_url(database_url), pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            try:
                return set((await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars())
            except Exception:  # noqa: BLE001 - best effort
                return set()
    finally:
        await engine.dispose()


async def current_revision(database_url: str) -> str | None:
    revs = await current_revisions(database_url)
    return ",".join(sorted(revs)) if revs else None


async def sql(session: Any, query: str, params: dict[str, Any] | None = None) -> Result:
    """Raw SQL over a (SQLModel or SQLAlchemy) async session (being replaced by store modules)."""
    conn = await session.connection()
    return await conn.execute(text(query), params or {})


async def execute(session: Any, statement: Any) -> Result:
    """Run an SQLAlchemy Core statement (insert/update with ``on conflict``, ``returning``...) on the
    session's connection, in its transaction (``session.exec`` is for ``select`` of models)."""
    conn = await session.connection()
    return await conn.execute(statement)
