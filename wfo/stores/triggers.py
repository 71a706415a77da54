"""Triggers joined with their workflow's current version: what a hook delivery or a schedule fire runs."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, select
from sqlmodel import col

from wfo.db import execute
from wfo.models import Workflow, WorkflowVersion
from wfo.models_events import Trigger


async def with_current_version(session: Any, trigger_id: uuid.UUID, kind: str) -> Any:
    """The trigger of that kind with ``status`` and ``current_version`` of its workflow and that version's
    ``definition`` (None when the workflow has no version), or None when there is no such trigger.

    Columns: id, tenant_id, workflow_id, config, secret_enc, status, current_version, definition."""
    stmt = (
        select(col(Trigger.id), col(Trigger.tenant_id), col(Trigger.workflow_id), col(Trigger.config),
               col(Trigger.secret_enc), col(Workflow.status), col(Workflow.current_version),
               col(WorkflowVersion.definition))
        .join(Workflow, col(Workflow.id) == col(Trigger.workflow_id))
        .outerjoin(WorkflowVersion, and_(col(WorkflowVersion.workflow_id) == col(Workflow.id),
                                         col(WorkflowVersion.version) == col(Workflow.current_version)))
        .where(col(Trigger.id) == trigger_id, col(Trigger.kind) == kind)
    )
    return (await execute(session, stmt)).first()
