"""First-run setup: a default tenant and admin account."""

from __future__ import annotations

import os
import secrets

from sqlalchemy import func
from sqlmodel import select

from api.security import hash_password
from wfo.db import session_scope
from wfo.models import DEFAULT_TENANT, Role, Tenant, User
from wfo.settings import Settings

DEFAULT_ADMIN_EMAIL = "admin@wfo.local"


async def ensure_default_admin(settings: Settings) -> tuple[str, str] | None:
    """Create tenant ``default`` and an admin when the database has no users yet.

    Returns ``(email, password)`` when it created the admin (so ``wfo dev`` can print how to log
    in), ``None`` when users already exist. Email/password may be preset with
    ``WFO_ADMIN_EMAIL`` / ``WFO_ADMIN_PASSWORD``; otherwise the password is random.
    """
    email = os.environ.get("WFO_ADMIN_EMAIL", DEFAULT_ADMIN_EMAIL).strip().lower()
    password = os.environ.get("WFO_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
    async with session_scope(settings) as session:
        # serialize concurrent first starts (API + CLI) on an advisory lock
        await session.exec(select(func.pg_advisory_xact_lock(0x77666F)))
        if (await session.exec(select(func.count()).select_from(User))).one() > 0:
            return None
        tenant = (await session.exec(select(Tenant).where(Tenant.name == DEFAULT_TENANT))).first()
        if tenant is None:
            tenant = Tenant(name=DEFAULT_TENANT)
            session.add(tenant)
            await session.flush()
        session.add(
            User(
                tenant_id=tenant.id,
                email=email,
                full_name="Administrator",
                role=Role.admin.value,
                hashed_password=hash_password(password),
            )
        )
    return email, password
