"""The credentials vault store: encrypted, typed, per-tenant named credentials.

Invariants:
- values are validated against their type's JSON Schema (`wfo.credential_types`) on every write;
- values exist in clear only in memory: in Postgres they are AES-GCM ciphertext whose associated data
  binds them to the row's tenant and id (a ciphertext copied to another row or tenant does not decrypt);
- each row records the id of the key that encrypted it; `rotate_keys` re-encrypts every row with the
  current key (the first of ``CREDENTIALS_KEYS``), older keys keep decrypting until rotation is done;
- nothing here logs or returns values except `resolve`, which the worker calls inside an activity.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from wfo.credential_types import CREDENTIAL_TYPES, CredentialValuesInvalid, validate_values
from wfo.db import create_engine, create_sessionmaker
from wfo.errors import Conflict, NotFound, Unavailable, WfoError
from wfo.models import Workflow, WorkflowVersion, utcnow
from wfo.models_credentials import Credential
from wfo.settings import Settings

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
DEV_KEY_ID = "dev"

__all__ = [
    "CredentialError", "CredentialExists", "CredentialInUse", "CredentialKeyError", "CredentialNotFound",
    "CredentialValuesInvalid", "Keyring", "ResolvedCredential", "create_credential", "delete_credential",
    "get_credential", "keyring_for", "list_credentials", "references", "resolve_credential", "rotate_keys",
    "update_credential", "used_by",
]


class CredentialError(WfoError):
    """Base of the vault's errors (each also one of the project's classes, mapped once to HTTP)."""


class CredentialNotFound(CredentialError, NotFound):
    pass


class CredentialExists(CredentialError, Conflict):
    pass


class CredentialInUse(CredentialError, Conflict):
    """Referenced by workflows' current definitions; the answer names them (`detail.workflows`)."""

    def __init__(self, message: str, workflows: list[str]):
        super().__init__(message, detail={"message": message, "workflows": workflows})
        self.workflows = workflows


class CredentialKeyError(CredentialError, Unavailable):
    """No usable key (production without CREDENTIALS_KEYS, a malformed key, or a row's key is gone)."""


class Keyring:
    """AES-256-GCM keys by id; the first one encrypts."""

    def __init__(self, keys: list[tuple[str, bytes]]):
        if not keys:
            raise CredentialKeyError("no credentials key configured (set CREDENTIALS_KEYS)")
        for kid, key in keys:
            if len(key) != 32:
                raise CredentialKeyError(f"credentials key {kid!r} must be 32 bytes (base64 of 32 random bytes)")
        self._keys = dict(keys)
        self.current_id = keys[0][0]

    @classmethod
    def parse(cls, text: str) -> Keyring:
        """``kid1:<base64>,kid2:<base64>`` (first is current)."""
        keys: list[tuple[str, bytes]] = []
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            kid, sep, b64 = part.partition(":")
            if not sep or not kid.strip() or len(kid.strip()) > 64:
                raise CredentialKeyError("CREDENTIALS_KEYS must look like kid1:<base64 key>,kid2:<base64 key>")
            try:
                key = base64.b64decode(b64.strip(), validate=True)
            except ValueError:
                raise CredentialKeyError(f"credentials key {kid.strip()!r} is not valid base64") from None
            keys.append((kid.strip(), key))
        return cls(keys)

    @classmethod
    def from_settings(cls, settings: Settings) -> Keyring:
        """CREDENTIALS_KEYS; in dev/test the key derived from SECRET_KEY is added (decrypt only when keys are
        configured), so credentials created before keys were set can be rotated onto them."""
        dev = settings.environment in ("dev", "test")
        if settings.credentials_keys:
            ring = cls.parse(settings.credentials_keys)
            if dev and DEV_KEY_ID not in ring._keys:
                ring._keys[DEV_KEY_ID] = _dev_key(settings)
            return ring
        if not dev:
            raise CredentialKeyError("CREDENTIALS_KEYS is not set: the credentials vault needs a key in "
                                     f"ENVIRONMENT={settings.environment}")
        log.warning("CREDENTIALS_KEYS is not set: credentials are encrypted with a key derived from SECRET_KEY "
                    "(development only)")
        return cls([(DEV_KEY_ID, _dev_key(settings))])

    @staticmethod
    def generate_key() -> str:
        return base64.b64encode(os.urandom(32)).decode()

    def encrypt(self, plaintext: bytes, aad: bytes) -> tuple[bytes, bytes, str]:
        nonce = os.urandom(12)
        return AESGCM(self._keys[self.current_id]).encrypt(nonce, plaintext, aad), nonce, self.current_id

    def decrypt(self, ciphertext: bytes, nonce: bytes, key_id: str, aad: bytes) -> bytes:
        key = self._keys.get(key_id)
        if key is None:
            raise CredentialKeyError(f"credential encrypted with key {key_id!r}, which is not configured")
        try:
            return AESGCM(key).decrypt(nonce, ciphertext, aad)
        except InvalidTag:
            raise CredentialKeyError(f"credential does not decrypt with key {key_id!r}") from None


def _dev_key(settings: Settings) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"wfo-credentials",
                info=b"credentials-vault-v1").derive(settings.secret_key.encode())


_KEYRINGS: dict[int, Keyring] = {}


def keyring_for(settings: Settings) -> Keyring:
    """One keyring per settings object (so the dev-key warning is logged once per process and settings)."""
    ring = _KEYRINGS.get(id(settings))
    if ring is None:
        ring = _KEYRINGS[id(settings)] = Keyring.from_settings(settings)
    return ring


def _aad(row: Credential) -> bytes:
    return f"wfo-credential:v1:{row.tenant_id}:{row.id}".encode()


def _seal(keyring: Keyring, row: Credential, values: dict[str, Any]) -> None:
    row.ciphertext, row.nonce, row.key_id = keyring.encrypt(
        json.dumps(values, separators=(",", ":"), sort_keys=True).encode(), _aad(row))


def _open(keyring: Keyring, row: Credential) -> dict[str, Any]:
    return json.loads(keyring.decrypt(bytes(row.ciphertext), bytes(row.nonce), row.key_id, _aad(row)))


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise CredentialValuesInvalid(
            "name must be 1-128 characters: letters, digits, '_', '-', '.' (starting with a letter or digit)",
            "name")
    return name


# --- which workflows use a credential --------------------------------------------------------------

def references(definition: Any) -> set[str]:
    """Credential names that node configs of a definition (and its inline sub-definitions) name literally."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            nodes = value.get("nodes")
            if isinstance(nodes, list):
                for node in nodes:
                    cfg = node.get("config") if isinstance(node, dict) else None
                    if isinstance(cfg, dict) and isinstance(cfg.get("credential"), str):
                        found.add(cfg["credential"])
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(definition)
    return found


async def _current_definitions(session: AsyncSession, tenant_id: uuid.UUID) -> list[tuple[uuid.UUID, Any]]:
    rows = await session.exec(
        select(Workflow.id, WorkflowVersion.definition)
        .join(WorkflowVersion, sa.and_(col(WorkflowVersion.workflow_id) == col(Workflow.id),
                                       col(WorkflowVersion.version) == col(Workflow.current_version)))
        .where(Workflow.tenant_id == tenant_id)
        .order_by(col(Workflow.created_at), col(Workflow.id)))
    return [(wid, definition) for wid, definition in rows.all()]


async def usage(session: AsyncSession, tenant_id: uuid.UUID) -> dict[str, list[str]]:
    """Credential name -> ids of the tenant's workflows whose current definition references it."""
    out: dict[str, list[str]] = {}
    for wid, definition in await _current_definitions(session, tenant_id):
        for name in references(definition):
            out.setdefault(name, []).append(str(wid))
    return out


async def used_by(session: AsyncSession, tenant_id: uuid.UUID, name: str) -> list[str]:
    return (await usage(session, tenant_id)).get(name, [])


# --- CRUD ----------------------------------------------------------------------------------------------

async def list_credentials(session: AsyncSession, tenant_id: uuid.UUID) -> list[tuple[Credential, list[str]]]:
    rows = (await session.exec(select(Credential).where(Credential.tenant_id == tenant_id)
                               .order_by(Credential.name))).all()
    use = await usage(session, tenant_id)
    return [(row, use.get(row.name, [])) for row in rows]


async def get_credential(session: AsyncSession, tenant_id: uuid.UUID, credential_id: uuid.UUID) -> Credential:
    row = await session.get(Credential, credential_id)
    if row is None or row.tenant_id != tenant_id:
        raise CredentialNotFound("credential not found")
    return row


async def create_credential(session: AsyncSession, keyring: Keyring, *, tenant_id: uuid.UUID, name: str,
                            type: str, values: dict[str, Any], description: str | None = None,
                            created_by: str | None = None) -> Credential:
    """Validate, encrypt and insert (commits). `CredentialExists` when the tenant has that name already."""
    check_name(name)
    if type not in CREDENTIAL_TYPES:
        raise CredentialValuesInvalid(
            f"unknown credential type {type!r} (one of: {', '.join(sorted(CREDENTIAL_TYPES))})", "type")
    validate_values(type, values)
    existing = (await session.exec(select(Credential.id).where(
        Credential.tenant_id == tenant_id, Credential.name == name))).first()
    if existing is not None:
        raise CredentialExists(f"a credential named {name!r} already exists")
    row = Credential(tenant_id=tenant_id, name=name, type=type, description=description, created_by=created_by,
                     ciphertext=b"", nonce=b"", key_id="")
    _seal(keyring, row, values)
    session.add(row)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise CredentialExists(f"a credential named {name!r} already exists") from None
    return row


UNSET: Any = object()


async def update_credential(session: AsyncSession, keyring: Keyring, *, tenant_id: uuid.UUID,
                            credential_id: uuid.UUID, description: Any = UNSET,
                            values: dict[str, Any] | None = None) -> Credential:
    """Replace the description and/or the values (validated, re-encrypted with the current key)."""
    row = await get_credential(session, tenant_id, credential_id)
    if values is not None:
        validate_values(row.type, values)
        _seal(keyring, row, values)
    if description is not UNSET:
        row.description = description
    row.updated_at = utcnow()
    session.add(row)
    await session.commit()
    return row


async def delete_credential(session: AsyncSession, *, tenant_id: uuid.UUID, credential_id: uuid.UUID) -> None:
    """Delete; `CredentialInUse` naming the workflows whose current definition references it."""
    row = await get_credential(session, tenant_id, credential_id)
    users = await used_by(session, tenant_id, row.name)
    if users:
        raise CredentialInUse(f"credential {row.name!r} is used by workflow(s) {', '.join(users)}", users)
    await session.delete(row)
    await session.commit()


# --- use (worker) and maintenance (CLI) ------------------------------------------------------------------

@dataclass(frozen=True)
class ResolvedCredential:
    name: str
    type: str
    values: dict[str, Any]


async def resolve_credential(session: AsyncSession, keyring: Keyring, tenant_id: str | uuid.UUID | None,
                             name: str) -> ResolvedCredential:
    """The decrypted credential `name` of `tenant_id` (only ever called inside an activity)."""
    try:
        tenant = tenant_id if isinstance(tenant_id, uuid.UUID) else uuid.UUID(str(tenant_id))
    except ValueError:
        raise CredentialNotFound(f"credential {name!r} not found (the execution has no tenant)") from None
    row = (await session.exec(select(Credential).where(
        Credential.tenant_id == tenant, Credential.name == name))).first()
    if row is None:
        raise CredentialNotFound(f"credential {name!r} not found in this tenant")
    return ResolvedCredential(name=row.name, type=row.type, values=_open(keyring, row))


async def rotate_keys(session: AsyncSession, keyring: Keyring, *, tenant_id: uuid.UUID | None = None,
                      batch: int = 200) -> int:
    """Re-encrypt every credential (of `tenant_id`, or all) not under the current key; returns how many."""
    done = 0
    while True:
        query = select(Credential).where(Credential.key_id != keyring.current_id)
        if tenant_id is not None:
            query = query.where(Credential.tenant_id == tenant_id)
        rows: Iterable[Credential] = (await session.exec(
            query.order_by(col(Credential.id)).limit(batch).with_for_update())).all()
        rows = list(rows)
        if not rows:
            return done
        for row in rows:
            _seal(keyring, row, _open(keyring, row))
            session.add(row)
        await session.commit()
        done += len(rows)


async def rotate_all(settings: Settings, tenant_id: uuid.UUID | None = None) -> int:
    """`wfo credentials rotate-key`: re-encrypt every credential (of one tenant, or all) with the current key."""
    keyring = Keyring.from_settings(settings)
    engine = create_engine(settings, pool_size=1, max_overflow=0)
    try:
        async with create_sessionmaker(engine)() as session:
            return await rotate_keys(session, keyring, tenant_id=tenant_id)
    finally:
        await engine.dispose()
