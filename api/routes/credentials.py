"""`/api/v1/credentials`: the tenant's credentials vault (contract 5).

Values are write-only: accepted on POST/PUT, validated against the type's schema (422 naming the
field), stored encrypted, never returned. The service raises the project's errors (`wfo.errors`),
mapped to HTTP by the app's one handler. Developers and admins manage credentials; operators and
viewers list them (operators use them by running workflows). DELETE of a credential that a workflow's
current definition references answers 409 naming those workflows.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CurrentPrincipal, SessionDep, SettingsDep
from api.schemas import COMMON_ERRORS, ErrorDetail
from api.services.credentials import CredentialInfo, CredentialsService

router = APIRouter(prefix="/api/v1/credentials", tags=["credentials"], responses=COMMON_ERRORS)


class CredentialTypePublic(BaseModel):
    type: str
    title: str
    schema_: dict[str, Any] = Field(alias="schema", serialization_alias="schema")

    model_config = ConfigDict(populate_by_name=True)


class CredentialTypeList(BaseModel):
    items: list[CredentialTypePublic]


class CredentialPublic(BaseModel):
    """A credential as clients see it: never its values."""

    id: uuid.UUID
    name: str
    type: str
    description: str | None = None
    created_at: datetime
    updated_at: datetime
    created_by: str | None = None
    used_by: list[str] = Field(default_factory=list, description="ids of workflows whose current version uses it")


class CredentialList(BaseModel):
    items: list[CredentialPublic]


class CredentialCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128, description="what node configs write as `credential`")
    type: str = Field(min_length=1, max_length=64)
    description: str | None = Field(default=None, max_length=2000)
    values: dict[str, Any] = Field(description="the secret fields (write-only)")


class CredentialUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str | None = Field(default=None, max_length=2000)
    values: dict[str, Any] | None = Field(default=None, description="replaces every value (write-only)")


def _public(info: CredentialInfo) -> CredentialPublic:
    return CredentialPublic(**info.__dict__)


def _service(session, settings, principal) -> CredentialsService:
    return CredentialsService(session, settings, principal.tenant_id, principal.name)


_WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorDetail, "description": "Name taken, or (DELETE) used by workflows"},
    422: {"model": ErrorDetail, "description": "Unknown type or values not matching its schema (names the field)"},
}


@router.get("/types", response_model=CredentialTypeList, response_model_by_alias=True)
async def list_credential_types():
    return {"items": CredentialsService.types()}


@router.get("", response_model=CredentialList)
async def list_credentials(session: SessionDep, settings: SettingsDep, principal: CurrentPrincipal):
    return CredentialList(items=[_public(i) for i in await _service(session, settings, principal).list()])


@router.get("/{credential_id}", response_model=CredentialPublic)
async def get_credential(credential_id: uuid.UUID, session: SessionDep, settings: SettingsDep,
                         principal: CurrentPrincipal):
    return _public(await _service(session, settings, principal).get(credential_id))


@router.post("", response_model=CredentialPublic, status_code=status.HTTP_201_CREATED, responses=_WRITE_ERRORS)
async def create_credential(body: CredentialCreate, session: SessionDep, settings: SettingsDep,
                            principal: CurrentPrincipal):
    info = await _service(session, settings, principal).create(
        name=body.name, type=body.type, values=body.values, description=body.description)
    return _public(info)


@router.put("/{credential_id}", response_model=CredentialPublic, responses=_WRITE_ERRORS)
async def update_credential(credential_id: uuid.UUID, body: CredentialUpdate, session: SessionDep,
                            settings: SettingsDep, principal: CurrentPrincipal):
    kwargs: dict[str, Any] = {"values": body.values}
    if "description" in body.model_fields_set:
        kwargs["description"] = body.description
    return _public(await _service(session, settings, principal).update(credential_id, **kwargs))


@router.delete("/{credential_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_WRITE_ERRORS)
async def delete_credential(credential_id: uuid.UUID, session: SessionDep, settings: SettingsDep,
                            principal: CurrentPrincipal):
    await _service(session, settings, principal).delete(credential_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
