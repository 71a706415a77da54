"""The ``executions`` index rows (Postgres): what the API lists, written before each start."""

from __future__ import annotations

import json
import uuid
from typing import Any

from wfo.db import sql


async def index_execution(
    session,
    *,
    execution_id: str,
    tenant_id: str | uuid.UUID,
    workflow_id: str | uuid.UUID,
    version: int,
    trigger: str,
    input: Any,
    started_by: str,
) -> bool:
    """Insert the ``executions`` index row before the start (the API core's convention).

    Returns False when the row existed. A row that was marked failed because its start never
    reached Temporal is revived: a keyed retry may start it now.
    """
    res = await sql(
        session,
        "INSERT INTO executions (id, tenant_id, workflow_id, version, status, trigger, input, started_by) "
        "VALUES (:id, :t, :w, :v, 'running', :trigger, CAST(:input AS jsonb), :by) "
        "ON CONFLICT (id) DO UPDATE SET status = 'running', error = NULL, completed_at = NULL, updated_at = now() "
        "WHERE executions.status = 'failed' AND (starts_with(executions.error, 'could not start') "
        "OR starts_with(executions.error, 'execution not found')) "
        "RETURNING (xmax = 0) AS inserted",
        {
            "id": execution_id,
            "t": uuid.UUID(str(tenant_id)),
            "w": uuid.UUID(str(workflow_id)),
            "v": version,
            "trigger": trigger,
            "input": json.dumps(input, default=str),
            "by": started_by,
        },
    )
    row = res.first()
    return bool(row and row.inserted)
