"""Clients shared by every activity of a worker, created once and injected."""

from __future__ import annotations

import copy
import json
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.exc import DBAPIError

from connectors.base import ComponentError, CredentialValues
from wfo.credential_types import secret_strings
from wfo.db import PgPool, create_engine, create_sessionmaker
from wfo.errors import NotFound
from wfo.models import DEFAULT_TENANT
from wfo.settings import Settings
from wfo.stores.credentials import CredentialKeyError, CredentialNotFound, keyring_for, resolve_credential
from wfo.stores.payloads import PayloadStore, SqlPayloadStore
from wfo.stores.worker_db import WorkerDb

SECRET_PREFIX = "secret://"
SECRET_RE = re.compile(r"secret://([A-Za-z0-9_.\-]+)")


class SecretNotFound(NotFound, KeyError):
    pass


SECRET_ENV_PREFIX = "WFO_SECRET_"
SECRET_SCOPES_ENV = "WFO_SECRET_SCOPES"
TENANT_SLUG_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_TENANT_NAME_TTL = 60.0


def secret_key(name: str) -> str:
    """The environment spelling of a secret name: upper case, ``-`` and ``.`` as ``_``."""
    return name.upper().replace("-", "_").replace(".", "_")


def tenant_slug(tenant_name: str | None) -> str | None:
    """The environment prefix of a tenant (``acme-eu`` -> ``ACME_EU``), only for names that are slugs
    (lower-case letters and digits, single ``-`` between): that spelling maps back to one tenant only."""
    if tenant_name is None or not TENANT_SLUG_RE.fullmatch(tenant_name):
        return None
    return tenant_name.upper().replace("-", "_")


@dataclass(frozen=True)
class SecretTenant:
    """The tenant an execution belongs to (from its `ComponentRequest`, never from node config)."""

    id: str
    name: str | None


class EnvSecrets:
    """Resolves `secret://NAME` from the worker's environment, scoped to the execution's tenant.

    For a tenant, in this order:
    1. ``WFO_SECRET_<TENANT>__<NAME>``: the tenant's own secret (``<TENANT>`` is its name as `tenant_slug`
       spells it; tenants whose name is not a slug use 2.);
    2. the shared ``WFO_SECRET_<NAME>``, when ``WFO_SECRET_SCOPES`` (JSON ``{"NAME": [tenant name or id,
       or "*"]}``) lists the tenant for it, or, for a name it does not list, when the tenant is the
       single-tenant install's ``default`` tenant (or the execution has no tenant: started outside the API).
    Anything else is refused, with one message whether or not the secret exists for someone else. Names
    holding ``__`` (after normalising) are refused: they would name another tenant's prefixed secret.
    """

    def __init__(self, environ: Mapping[str, str] | None = None):
        self._environ = environ if environ is not None else os.environ
        self._parsed: tuple[str | None, dict[str, list[str]]] = (None, {})
        self.scopes()  # a malformed WFO_SECRET_SCOPES stops the worker at start

    def scopes(self) -> dict[str, list[str]]:
        raw = self._environ.get(SECRET_SCOPES_ENV)
        if raw is None:
            return {}
        if self._parsed[0] == raw:
            return self._parsed[1]
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if not isinstance(data, dict) or not all(
                isinstance(v, list) and all(isinstance(t, str) for t in v) for v in data.values()):
            raise SecretNotFound(f"{SECRET_SCOPES_ENV} must be a JSON object of secret name -> list of tenant "
                                 "names or ids (or \"*\")")
        scopes = {secret_key(str(k)): list(v) for k, v in data.items()}
        self._parsed = (raw, scopes)
        return scopes

    def get(self, name: str, tenant: SecretTenant | None = None) -> str:
        key = secret_key(name)
        if "__" not in key and key != "SCOPES":
            slug = tenant_slug(tenant.name) if tenant is not None else None
            if slug is not None and f"{SECRET_ENV_PREFIX}{slug}__{key}" in self._environ:
                return self._environ[f"{SECRET_ENV_PREFIX}{slug}__{key}"]
            if SECRET_ENV_PREFIX + key in self._environ and self._shared_with(key, tenant):
                return self._environ[SECRET_ENV_PREFIX + key]
        raise SecretNotFound(self._missing(name, key, tenant))

    def _shared_with(self, key: str, tenant: SecretTenant | None) -> bool:
        allowed = self.scopes().get(key)
        if allowed is None:  # not listed: the single-tenant install's secrets
            return tenant is None or tenant.name == DEFAULT_TENANT
        return tenant is not None and ("*" in allowed or tenant.id in allowed
                                       or (tenant.name is not None and tenant.name in allowed))

    @staticmethod
    def _missing(name: str, key: str, tenant: SecretTenant | None) -> str:
        if "__" in key or key == "SCOPES":
            return f"secret://{name}: not a valid secret name (no '__', not SCOPES)"
        if tenant is None or tenant.name == DEFAULT_TENANT:
            return f"secret://{name} is not configured (set {SECRET_ENV_PREFIX}{key} on the worker)"
        slug = tenant_slug(tenant.name)
        own = f"set {SECRET_ENV_PREFIX}{slug}__{key} on the worker, or " if slug else ""
        return (f"secret://{name} is not available to this tenant ({own}list the tenant under {key!r} "
                f"in {SECRET_SCOPES_ENV})")


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
        self.db_pool = PgPool(settings.database_url)
        """The metadata database's asyncpg pool (``await services.db_pool()``), created on first use."""
        self._engine = None
        self._sessionmaker = None
        self.payloads = payloads or SqlPayloadStore(self.engine())
        self.worker_db = WorkerDb(self.db_pool)
        self.secrets = secrets or EnvSecrets()
        self.credentials = credentials or VaultCredentials(self)
        self._tenant_names: dict[str, tuple[str | None, float]] = {}

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

    async def secret_tenant(self, tenant_id: str | None) -> SecretTenant | None:
        """The execution's tenant (id and name, the name cached for a minute) for `EnvSecrets`."""
        if tenant_id is None:
            return None
        cached = self._tenant_names.get(tenant_id)
        if cached is None or cached[1] < time.monotonic():
            cached = (await self.worker_db.tenant_name(tenant_id), time.monotonic() + _TENANT_NAME_TTL)
            self._tenant_names[tenant_id] = cached
        return SecretTenant(tenant_id, cached[0])

    async def resolve_secrets(self, value: Any, paths: list[list[str | int]],
                              tenant_id: str | None = None) -> tuple[Any, list[str]]:
        """Replace `secret://NAME` references at `paths` only (the literal references of the stored
        definition, see `workflows.secret_refs`) with the secrets `tenant_id` may read (`EnvSecrets`);
        anything else that looks like a reference (an expression's or the input's value) stays as it is.
        Returns the config (a copy when changed) and the secret values resolved (to scrub from outputs and
        errors)."""
        found: list[str] = []
        if not paths:
            return value, found
        tenant = await self.secret_tenant(tenant_id)

        def sub(m: re.Match) -> str:
            secret = self.secrets.get(m.group(1), tenant)
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
        await self.db_pool.close()
