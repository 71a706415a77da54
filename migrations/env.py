"""Alembic environment: async (asyncpg), target_metadata = SQLModel.metadata.

Used two ways:
- programmatically by ``wfo.db.run_migrations`` which passes an open connection in
  ``config.attributes["connection"]`` (works inside a running event loop);
- from the ``alembic`` CLI, where the URL comes from ``sqlalchemy.url`` or ``wfo.settings``.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import wfo.models
import wfo.models_alerts
import wfo.models_analytics
import wfo.models_credentials
import wfo.models_events
import wfo.models_tasks
import wfo.models_templates  # noqa: F401

config = context.config
target_metadata = SQLModel.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from wfo.settings import Settings

    return Settings().sqlalchemy_url


def _configure_and_run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(_url())
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_configure_and_run)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
    else:
        asyncio.run(_run_async())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
