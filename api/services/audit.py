"""Reading the audit trail (REST `GET /api/v1/audit` and GraphQL `auditLog`): the same filters, always within
the caller's tenant; keyset pages by id (newest first) with an opaque cursor."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from wfo.errors import InvalidInput
from wfo.models import AuditLog


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    """A prefix, e.g. `POST /api/v1/workflows`."""
    actor: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    status: int | None = None
    since: datetime | None = None
    until: datetime | None = None


def _clean(value: str | None, name: str, max_len: int) -> str | None:
    if value is None:
        return None
    if "\x00" in value:
        raise InvalidInput(f"{name}: NUL characters are not accepted")
    if len(value) > max_len:
        raise InvalidInput(f"{name}: at most {max_len} characters")
    return value


def conditions(tenant_id: uuid.UUID, f: AuditFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [col(AuditLog.tenant_id) == tenant_id]
    action = _clean(f.action, "action", 200)
    if action:
        conds.append(col(AuditLog.action).startswith(action, autoescape=True))
    if (actor := _clean(f.actor, "actor", 320)) is not None:
        conds.append(col(AuditLog.actor) == actor)
    if (rtype := _clean(f.resource_type, "resource_type", 64)) is not None:
        conds.append(col(AuditLog.resource_type) == rtype)
    if (rid := _clean(f.resource_id, "resource_id", 400)) is not None:
        conds.append(col(AuditLog.resource_id) == rid)
    if f.status is not None:
        if not 100 <= f.status <= 599:
            raise InvalidInput("status: an HTTP status between 100 and 599")
        conds.append(col(AuditLog.status) == f.status)
    if f.since is not None:
        conds.append(col(AuditLog.at) >= f.since)
    if f.until is not None:
        conds.append(col(AuditLog.at) < f.until)
    return conds


def public(row: AuditLog) -> dict[str, Any]:
    return {"id": row.id, "at": row.at, "actor": row.actor, "actor_kind": row.actor_kind, "action": row.action,
            "resource_type": row.resource_type, "resource_id": row.resource_id, "status": row.status,
            "client": row.client, "body_hash": row.body_hash, "before_hash": row.before_hash,
            "after_hash": row.after_hash, "hash": row.hash}


def encode_cursor(row_id: int) -> str:
    return base64.urlsafe_b64encode(f"audit:{row_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = raw.partition(":")
        if kind != "audit" or not value.isdigit():
            raise ValueError
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("after: not a cursor of this list (use `endCursor` of a previous page)") from None


@dataclass
class AuditPage:
    items: list[AuditLog]
    has_next: bool

    @property
    def end_cursor(self) -> str | None:
        return encode_cursor(self.items[-1].id) if self.items and self.items[-1].id is not None else None


async def page(session: AsyncSession, tenant_id: uuid.UUID, f: AuditFilter, *, first: int,
               after: str | None = None) -> AuditPage:
    """Up to `first` rows older than the cursor `after`, newest first (keyset: stable while rows are added)."""
    if not 1 <= first <= 500:
        raise InvalidInput("first: between 1 and 500")
    conds = conditions(tenant_id, f)
    if after:
        conds.append(col(AuditLog.id) < decode_cursor(after))
    rows = list((await session.exec(select(AuditLog).where(*conds).order_by(col(AuditLog.id).desc())
                                    .limit(first + 1))).all())
    return AuditPage(items=rows[:first], has_next=len(rows) > first)
