"""Templates: resolving one (built-in or the tenant's), instantiating it into a workflow, adding one.

Shared by REST (``api.routes.templates``) and GraphQL. Raises ``wfo.errors`` only (through the template
errors: ``TemplateNotFound`` is a ``NotFound``, ``TemplateParameterError``/``InvalidTemplate`` are
``InvalidInput`` with the located problems as detail, ``TemplateConflict`` is a ``Conflict``).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from pydantic import Field, ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from api import templates as catalog
from api.deps import Principal
from api.schemas import EditableStatus, JsonObject, RequestModel, Tag, WorkflowCreate
from api.services import workflows as wf_svc
from api.templates import store
from wfo.errors import InvalidInput
from wfo.models import Workflow, WorkflowStatus, WorkflowVersion


class CreateFromTemplate(RequestModel):
    name: str = Field(min_length=1, max_length=255)
    parameters: JsonObject = Field(default_factory=dict)
    description: str | None = Field(default=None, max_length=10_000)
    category: str | None = Field(default=None, max_length=100)
    tags: list[Tag] | None = Field(default=None, max_length=50)
    status: EditableStatus = WorkflowStatus.draft.value


async def get_template(session: AsyncSession, principal: Principal, template_id: str) -> catalog.Template:
    """A built-in template or one of the caller's tenant's; ``TemplateNotFound`` otherwise."""
    return await store.get_any(session, principal.tenant_id, template_id)


async def create_workflow_from_template(
    session: AsyncSession, principal: Principal, template_id: str, body: CreateFromTemplate
) -> tuple[Workflow, WorkflowVersion]:
    """Instantiate the template with ``body.parameters`` and store the workflow (version 1)."""
    tpl = await get_template(session, principal, template_id)
    definition = catalog.instantiate_template(tpl, body.parameters)
    tags = body.tags if body.tags is not None else [*tpl.tags, f"template:{tpl.id}"]
    try:
        data = WorkflowCreate(name=body.name, description=body.description or tpl.description,
                              category=(body.category or tpl.category)[:100], tags=[t[:64] for t in tags][:50],
                              status=body.status, definition=definition)
    except ValidationError as err:
        message = "the workflow cannot be created from this template"
        raise InvalidInput(message, detail={
            "message": message,
            "errors": [{"parameter": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in err.errors()]},
        ) from None
    return await wf_svc.create_workflow(session, principal, data)


def template_slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:63]
    return slug if len(slug) >= 2 else f"template-{slug or 'x'}"


async def create_template(session: AsyncSession, principal: Principal, data: dict[str, Any]) -> catalog.Template:
    """Check and store a tenant template (``id`` derived from the name when absent)."""
    data = dict(data)
    if not data.get("id"):
        data["id"] = template_slug(data["name"])
    return await store.create(session, principal.tenant_id, principal.name, data)


async def delete_template(session: AsyncSession, tenant_id: uuid.UUID, template_id: str) -> None:
    await store.delete(session, tenant_id, template_id)
