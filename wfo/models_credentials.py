"""The credentials vault table (migration ``0010_credentials``).

A row holds one tenant's named credential: its type (``wfo.credential_types``) in clear, its values
only as AES-GCM ciphertext (``wfo.stores.credentials``), with the id of the key that encrypted them so keys
can rotate. Values are never stored, returned or logged in clear.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import BYTEA
from sqlmodel import Field, SQLModel

import wfo.models  # noqa: F401  (tenants must be in the metadata for the foreign key)
from wfo.models import utcnow


class Credential(SQLModel, table=True):
    __tablename__ = "credentials"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "name", name="uq_credentials_tenant_name"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=128)
    """What node configs write (`"credential": "<name>"`); unique per tenant."""
    type: str = Field(max_length=64)
    description: str | None = Field(default=None, sa_type=sa.Text)
    ciphertext: bytes = Field(sa_type=BYTEA)
    """AES-GCM of the JSON values; the associated data binds it to this row's id and tenant."""
    nonce: bytes = Field(sa_type=BYTEA)
    key_id: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True),
                                 sa_column_kwargs={"server_default": sa.func.now()})
    updated_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True),
                                 sa_column_kwargs={"server_default": sa.func.now()})
    created_by: str | None = Field(default=None, max_length=320)
