"""The ``executions`` index rows (Postgres): what the API lists, written before each start.

These run on every start (webhook intake, execute, schedule fires), so they are single asyncpg statements
on a ``wfo.db.PgPool`` pool (or one of its connections), each committed on its own: one round trip, no ORM
session. ``db`` is anything with asyncpg's ``fetchrow``/``execute`` (a pool or a connection).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from wfo.models import NEVER_STARTED, ExecutionFailure, ExecutionStatus

_INDEX = f"""
INSERT INTO executions AS e (id, tenant_id, workflow_id, version, status, trigger, input, started_by, redrive_of,
                             started_at, updated_at)
VALUES ($1, $2, $3, $4, '{ExecutionStatus.running.value}', $5, $6::jsonb, $7, $8, now(), now())
ON CONFLICT (id) DO UPDATE SET status = '{ExecutionStatus.running.value}', error = NULL, failure = NULL,
                               completed_at = NULL, updated_at = now()
    WHERE e.status = '{ExecutionStatus.failed.value}' AND e.failure = ANY($9::text[])
RETURNING (xmax = 0) AS inserted
"""

_MARK_NEVER_STARTED = f"""
UPDATE executions SET status = '{ExecutionStatus.failed.value}', error = $2,
       failure = '{ExecutionFailure.start_failed.value}', completed_at = now(), updated_at = now()
WHERE id = $1 AND status = '{ExecutionStatus.running.value}'
"""

_REVIVE_NOT_FOUND = f"""
UPDATE executions SET status = '{ExecutionStatus.running.value}', error = NULL, failure = NULL, completed_at = NULL,
       updated_at = now()
WHERE id = $1 AND status = '{ExecutionStatus.failed.value}' AND failure = '{ExecutionFailure.not_found.value}'
"""


async def index_execution(
    db: Any,
    *,
    execution_id: str,
    tenant_id: str | uuid.UUID,
    workflow_id: str | uuid.UUID,
    version: int,
    trigger: str,
    input: Any,
    started_by: str,
    redrive_of: str | None = None,
) -> bool:
    """Insert the ``executions`` index row before the start (the API core's convention), committed.

    Returns False when the row existed. A row that was marked failed because its start never
    reached Temporal (``failure`` in ``NEVER_STARTED``) is revived: a keyed retry may start it now.
    """
    row = await db.fetchrow(
        _INDEX, execution_id, uuid.UUID(str(tenant_id)), uuid.UUID(str(workflow_id)), version, trigger,
        None if input is None else json.dumps(input, default=str),  # non-JSON leaves as strings (``jsonable``)
        started_by, redrive_of, list(NEVER_STARTED))
    return bool(row and row["inserted"])


async def mark_never_started(db: Any, execution_id: str, error: str) -> None:
    """The start of ``execution_id`` did not reach Temporal: failed, ``failure=start_failed``."""
    await db.execute(_MARK_NEVER_STARTED, execution_id, error)


async def revive_not_found(db: Any, execution_id: str) -> None:
    """Undo the reconciler's ``not_found`` verdict on a row whose (slow) start did reach Temporal."""
    await db.execute(_REVIVE_NOT_FOUND, execution_id)
