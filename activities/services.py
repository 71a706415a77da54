"""Clients shared by every activity of a worker, created once and injected."""

from __future__ import annotations

import asyncio
import copy
import os
import re
from typing import Any

import asyncpg
import httpx
from sqlalchemy.exc import DBAPIError

from connectors.base import ComponentError, CredentialValues
from wfo.credential_types import secret_strings
from wfo.db import create_engine, create_sessionmaker
from wfo.errors import NotFound
from wfo.settings import Settings
from wfo.stores.credentials import CredentialKeyError, CredentialNotFound, keyring_for, resolve_credential
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


class VaultCredentials:
    """`connectors.base.CredentialResolver` over the tenant's credentials vault (`wfo.stores.credentials`).

    Called only inside activities; the decrypted values go to the connector and nowhere else.
    """

    def __init__(self, services: "Services"):
        self._services = services

    async def resolve(self, tenant_id: str | None, name: str, types: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(name, str) or not name:
            raise ComponentError("`credential` must be the name of a credential", retryable=False,
                                 type="CredentialNotFound")
        try:
            keyring = keyring_for(self._services.settings)
            async with self._services.sessionmaker()() as session:
                cred = await resolve_credential(session, keyring, tenant_id, name)
        except CredentialNotFound as err:
            raise ComponentError(err.message, retryable=False, type="CredentialNotFound") from None
        except CredentialKeyError as err:
            raise ComponentError(f"credential {name!r}: {err.message}", retryable=False,
                                 type="CredentialKeyError") from None
        except (DBAPIError, OSError) as err:
            raise ComponentError(f"credential {name!r}: the credentials store is unavailable ({type(err).__name__})",
                                 type="CredentialStoreUnavailable") from None
        if types and cred.type not in types:
            raise ComponentError(f"credential {name!r} is a {cred.type} credential; this node needs "
                                 f"{' or '.join(types)}", retryable=False, type="CredentialTypeMismatch")
        values = CredentialValues(cred.values)
        values.secrets = secret_strings(cred.type, cred.values)
        return values


class Services:
    def __init__(self, settings: Settings, *, http: httpx.AsyncClient | None = None,
                 payloads: PayloadStore | None = None, secrets: Any = None, credentials: Any = None):
        self.settings = settings
        self.http = http or httpx.AsyncClient()
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()
        self._engine = None
        self._sessionmaker = None
        self.payloads = payloads or SqlPayloadStore(self.engine())
        self.worker_db = WorkerDb(self.db_pool)
        self.secrets = secrets or EnvSecrets()
        self.credentials = credentials or VaultCredentials(self)

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

    def resolve_secrets(self, value: Any, paths: list[list[str | int]]) -> tuple[Any, list[str]]:
        """Replace `secret://NAME` references at `paths` only (the literal references of the stored
        definition, see `workflows.secret_refs`); anything else that looks like a reference (an
        expression's or the input's value) stays as it is. Returns the config (a copy when changed) and
        the secret values resolved (to scrub from outputs and errors)."""
        found: list[str] = []
        if not paths:
            return value, found

        def sub(m: re.Match) -> str:
            secret = self.secrets.get(m.group(1))
            found.append(secret)
            return secret

        value = copy.deepcopy(value)
        for path in paths:
            parent, leaf = None, value
            for key in path:
                parent = leaf
                if isinstance(leaf, dict) and isinstance(key, str) and key in leaf:
                    leaf = leaf[key]
                elif isinstance(leaf, list) and isinstance(key, int) and 0 <= key < len(leaf):
                    leaf = leaf[key]
                else:
                    parent = None
                    break
            if parent is not None and isinstance(leaf, str) and SECRET_PREFIX in leaf:
                parent[path[-1]] = SECRET_RE.sub(sub, leaf)
        return value, found

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
