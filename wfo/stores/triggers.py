"""Triggers joined with their workflow's current version: what a hook delivery or a schedule fire runs.

Read on every webhook delivery, so it is one asyncpg statement on a ``wfo.db.PgPool`` pool (see
``wfo/stores/executions.py``)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

_WITH_CURRENT_VERSION = """
SELECT t.id, t.tenant_id, t.workflow_id, t.config, t.secret_enc, w.status, w.current_version, v.definition
FROM triggers t
JOIN workflows w ON w.id = t.workflow_id
LEFT JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = w.current_version
WHERE t.id = $1 AND t.kind = $2
"""


@dataclass(frozen=True)
class TriggerRow:
    """A trigger with its workflow's ``status`` and ``current_version`` and that version's ``definition``
    (None when the workflow has no version)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    workflow_id: uuid.UUID
    config: dict[str, Any]
    secret_enc: str | None
    status: str
    current_version: int
    definition: dict[str, Any] | None


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def with_current_version(db: Any, trigger_id: uuid.UUID, kind: str) -> TriggerRow | None:
    """The trigger of that kind (see ``TriggerRow``), or None when there is no such trigger."""
    row = await db.fetchrow(_WITH_CURRENT_VERSION, trigger_id, kind)
    if row is None:
        return None
    return TriggerRow(id=row["id"], tenant_id=row["tenant_id"], workflow_id=row["workflow_id"],
                      config=_json(row["config"]) or {}, secret_enc=row["secret_enc"], status=row["status"],
                      current_version=row["current_version"], definition=_json(row["definition"]))
