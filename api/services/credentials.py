"""Credentials vault use cases for REST (no HTTP types): list, create, update, delete within a tenant.

Values go in (validated, encrypted by `wfo.stores.credentials`) and never come out: every answer is built
from `CredentialInfo`, which has no field for them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from wfo.audit import audit_state
from wfo.credential_types import describe_types
from wfo.models_credentials import Credential
from wfo.settings import Settings
from wfo.stores import credentials as store


@dataclass(frozen=True)
class CredentialInfo:
    id: uuid.UUID
    name: str
    type: str
    description: str | None
    created_at: datetime
    updated_at: datetime
    created_by: str | None
    used_by: list[str]


def _info(row: Credential, used_by: list[str]) -> CredentialInfo:
    return CredentialInfo(id=row.id, name=row.name, type=row.type, description=row.description,
                          created_at=row.created_at, updated_at=row.updated_at, created_by=row.created_by,
                          used_by=used_by)


class CredentialsService:
    def __init__(self, session: AsyncSession, settings: Settings, tenant_id: uuid.UUID, actor: str | None = None):
        self.session = session
        self.settings = settings
        self.tenant_id = tenant_id
        self.actor = actor

    @staticmethod
    def types() -> list[dict[str, Any]]:
        return describe_types()

    async def list(self) -> list[CredentialInfo]:
        return [_info(row, users) for row, users in await store.list_credentials(self.session, self.tenant_id)]

    async def get(self, credential_id: uuid.UUID) -> CredentialInfo:
        row = await store.get_credential(self.session, self.tenant_id, credential_id)
        return _info(row, await store.used_by(self.session, self.tenant_id, row.name))

    async def create(self, *, name: str, type: str, values: dict[str, Any],
                     description: str | None = None) -> CredentialInfo:
        row = await store.create_credential(
            self.session, store.keyring_for(self.settings), tenant_id=self.tenant_id, name=name, type=type,
            values=values, description=description, created_by=self.actor)
        audit_state(before=None, after=row, resource_type="credentials")  # metadata only (wfo.audit.state_of)
        return _info(row, await store.used_by(self.session, self.tenant_id, row.name))

    async def update(self, credential_id: uuid.UUID, *, values: dict[str, Any] | None = None,
                     description: Any = store.UNSET) -> CredentialInfo:
        audit_state(before=await store.get_credential(self.session, self.tenant_id, credential_id),
                    resource_type="credentials")
        row = await store.update_credential(
            self.session, store.keyring_for(self.settings), tenant_id=self.tenant_id, credential_id=credential_id,
            values=values, description=description)
        audit_state(after=row, resource_type="credentials")
        return _info(row, await store.used_by(self.session, self.tenant_id, row.name))

    async def delete(self, credential_id: uuid.UUID) -> None:
        audit_state(before=await store.get_credential(self.session, self.tenant_id, credential_id),
                    resource_type="credentials")
        await store.delete_credential(self.session, tenant_id=self.tenant_id, credential_id=credential_id)
        audit_state(after=None, resource_type="credentials", resource_id=credential_id)
