"""Clients shared by every activity of a worker, created once and injected."""

from __future__ import annotations

import asyncio
import os
import re
from typing import Any

import asyncpg
import httpx

from wfo.db import create_engine, create_sessionmaker
from wfo.errors import NotFound
from wfo.settings import Settings
from wfo.stores.payloads import PayloadStore, SqlPayloadStore
from wfo.stores.worker_db import WorkerDb

SECRET_PREFIX = "secret://"
SECRET_RE = re.compile(r"secret://([A-Za-z0-9_.\-]+)")


class SecretNotFound(NotFound, KeyError):
    pass


class EnvSecrets:
    """Resolves `secret://NAME` (anywhere in a string config value) from the environment variable WFO_SECRET_NAME."""

    def __init__(self, environ: dict[str, str] | None = None):
        self._environ = environ if environ is not None else os.environ

    def get(self, name: str) -> str:
        key = "WFO_SECRET_" + name.upper().replace("-", "_").replace(".", "_")
        if key not in self._environ:
            raise SecretNotFound(f"secret '{name}' is not configured (set {key} on the worker)")
        return self._environ[key]


class Services:
    def __init__(self, settings: Settings, *, http: httpx.AsyncClient | None = None,
                 payloads: PayloadStore | None = None, secrets: Any = None):
        self.settings = settings
        self.http = http or httpx.AsyncClient()
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()
        self._engine = None
        self._sessionmaker = None
        self.payloads = payloads or SqlPayloadStore(self.engine())
        self.worker_db = WorkerDb(self.db_pool)
        self.secrets = secrets or EnvSecrets()

    async def db_pool(self) -> asyncpg.Pool:
        """The metadata database pool, created on first use."""
        if self._pool is None:
            async with self._pool_lock:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(self.settings.database_url, min_size=0, max_size=10)
        return self._pool

    def engine(self):
        """The SQLAlchemy async engine on the metadata database (connects on first use)."""
        if self._engine is None:
            self._engine = create_engine(self.settings)
        return self._engine

    def sessionmaker(self):
        """An SQLAlchemy async session factory on the metadata database, created on first use."""
        if self._sessionmaker is None:
            self._sessionmaker = create_sessionmaker(self.engine())
        return self._sessionmaker

    def resolve_secrets(self, value: Any) -> tuple[Any, list[str]]:
        """Replace `secret://NAME` strings; also returns the secret values (to redact from errors)."""
        found: list[str] = []

        def walk(v: Any) -> Any:
            if isinstance(v, str) and SECRET_PREFIX in v:
                def sub(m: re.Match) -> str:
                    secret = self.secrets.get(m.group(1))
                    found.append(secret)
                    return secret
                return SECRET_RE.sub(sub, v)
            if isinstance(v, dict):
                return {k: walk(x) for k, x in v.items()}
            if isinstance(v, list):
                return [walk(x) for x in v]
            return v

        return walk(value), found

    def adopt_client(self, client: httpx.AsyncClient) -> httpx.AsyncClient:
        """An extra HTTP client closed with the services."""
        self._clients = getattr(self, "_clients", []) + [client]
        return client

    def adopt(self, connectors: list[Any]) -> list[Any]:
        """Connectors whose resources (pools) are released by `close()`."""
        self._connectors = getattr(self, "_connectors", []) + list(connectors)
        return connectors

    async def close(self) -> None:
        for connector in getattr(self, "_connectors", []):
            aclose = getattr(connector, "aclose", None)
            if aclose is not None:
                await aclose()
        await self.http.aclose()
        for client in getattr(self, "_clients", []):
            await client.aclose()
        if self._engine is not None:
            await self._engine.dispose()
        if self._pool is not None:
            await self._pool.close()
