"""Raw-SQL helper over a (SQLModel or SQLAlchemy) async session."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Result


async def sql(session: Any, query: str, params: dict[str, Any] | None = None) -> Result:
    conn = await session.connection()
    return await conn.execute(text(query), params or {})
