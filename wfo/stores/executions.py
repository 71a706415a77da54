"""The ``executions`` index rows (Postgres): what the API lists, written before each start."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, literal_column, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from wfo.db import execute
from wfo.jsonsafe import jsonable
from wfo.models import NEVER_STARTED, Execution, ExecutionFailure, ExecutionStatus


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
    redrive_of: str | None = None,
) -> bool:
    """Insert the ``executions`` index row before the start (the API core's convention).

    Returns False when the row existed. A row that was marked failed because its start never
    reached Temporal (``failure`` in ``NEVER_STARTED``) is revived: a keyed retry may start it now.
    """
    stmt = insert(Execution).values(
        id=execution_id,
        tenant_id=uuid.UUID(str(tenant_id)),
        workflow_id=uuid.UUID(str(workflow_id)),
        version=version,
        status=ExecutionStatus.running.value,
        trigger=trigger,
        input=jsonable(input),
        started_by=started_by,
        redrive_of=redrive_of,
    )
    upsert: Any = stmt.on_conflict_do_update(
        index_elements=[col(Execution.id)],
        set_={"status": ExecutionStatus.running.value, "error": None, "failure": None, "completed_at": None,
              "updated_at": func.now()},
        where=(col(Execution.status) == ExecutionStatus.failed.value) & col(Execution.failure).in_(NEVER_STARTED),
    ).returning(literal_column("(xmax = 0)").label("inserted"))
    row = (await execute(session, upsert)).first()
    return bool(row and row.inserted)


async def mark_never_started(session, execution_id: str, error: str) -> None:
    """The start of ``execution_id`` did not reach Temporal: failed, ``failure=start_failed``."""
    await execute(session,
        update(Execution).where(col(Execution.id) == execution_id, col(Execution.status) == ExecutionStatus.running.value)
        .values(status=ExecutionStatus.failed.value, error=error, failure=ExecutionFailure.start_failed.value,
                completed_at=func.now(), updated_at=func.now()))


async def revive_not_found(session, execution_id: str) -> None:
    """Undo the reconciler's ``not_found`` verdict on a row whose (slow) start did reach Temporal."""
    await execute(session,
        update(Execution).where(col(Execution.id) == execution_id,
                                col(Execution.status) == ExecutionStatus.failed.value,
                                col(Execution.failure) == ExecutionFailure.not_found.value)
        .values(status=ExecutionStatus.running.value, error=None, failure=None, completed_at=None,
                updated_at=func.now()))
