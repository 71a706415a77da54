"""REST v1: workflow templates — the built-in catalog (``api/templates/*.json``) plus each tenant's own
templates — and creating a workflow from one."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from pydantic import BaseModel, Field, ValidationError

from api import templates as catalog
from api.deps import CurrentPrincipal, SessionDep
from api.schemas import (
    EditableStatus,
    JsonObject,
    JsonValue,
    RequestModel,
    Tag,
    WorkflowCreate,
    WorkflowDetail,
    WorkflowPublic,
)
from api.services import workflows as svc
from api.templates import store
from wfo.models import WorkflowStatus

router = APIRouter(prefix="/api/v1/templates", tags=["templates"])

TemplateId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]


class TemplateSummary(BaseModel):
    id: str
    name: str
    category: str
    description: str
    tags: list[str]
    builtin: bool = Field(description="shipped with the service (else created by your tenant)")
    parameters: dict[str, Any] = Field(description="JSON Schema of the template's parameters")


class TemplateList(BaseModel):
    items: list[TemplateSummary]
    total: int
    categories: list[str]


class TemplateDetail(TemplateSummary):
    example_parameters: dict[str, Any]
    example_input: Any = None
    notes: str | None = None
    definition: dict[str, Any] = Field(description="the definition with %{parameter} placeholders")


class TemplateCreate(RequestModel):
    """A tenant template: the built-in format (docs/templates.md). `example_parameters` must instantiate the
    definition into a valid workflow; `id` defaults to one derived from the name."""

    id: str | None = Field(default=None, min_length=2, max_length=63, pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    name: str = Field(min_length=1, max_length=255)
    category: str = Field(min_length=1, max_length=100)
    description: str = Field(min_length=1, max_length=10_000)
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    parameters: JsonObject = Field(description="JSON Schema (type object) of the parameters")
    example_parameters: JsonObject = Field(default_factory=dict)
    example_input: JsonValue = None
    definition: JsonObject


class CreateFromTemplate(RequestModel):
    name: str = Field(min_length=1, max_length=255)
    parameters: JsonObject = Field(default_factory=dict)
    description: str | None = Field(default=None, max_length=10_000)
    category: str | None = Field(default=None, max_length=100)
    tags: list[Tag] | None = Field(default=None, max_length=50)
    status: EditableStatus = WorkflowStatus.draft.value


class WorkflowFromTemplate(WorkflowDetail):
    template_id: str


def _summary(t: catalog.Template) -> TemplateSummary:
    return TemplateSummary(**t.summary(), parameters=t.parameters)


def _not_found(template_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"template {template_id!r} not found")


async def get_template_for(session, principal, template_id: str) -> catalog.Template:
    try:
        return await store.get_any(session, principal.tenant_id, template_id)
    except catalog.TemplateNotFound:
        raise _not_found(template_id) from None


def parameter_error(err: catalog.TemplateParameterError) -> HTTPException:
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        {"message": f"{len(err.errors)} invalid parameter(s) for template {err.template_id!r}", "errors": err.errors},
    )


async def create_workflow_from_template(session, principal, template_id: str, body: CreateFromTemplate):
    """Instantiate and store a workflow (shared with GraphQL). Raises HTTPException 404/422."""
    tpl = await get_template_for(session, principal, template_id)
    try:
        definition = catalog.instantiate_template(tpl, body.parameters)
    except catalog.TemplateParameterError as err:
        raise parameter_error(err) from None
    tags = body.tags if body.tags is not None else [*tpl.tags, f"template:{tpl.id}"]
    try:
        data = WorkflowCreate(name=body.name, description=body.description or tpl.description,
                              category=(body.category or tpl.category)[:100], tags=[t[:64] for t in tags][:50],
                              status=body.status, definition=definition)
    except ValidationError as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, {
            "message": "the workflow cannot be created from this template",
            "errors": [{"parameter": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in err.errors()]},
        ) from None
    return await svc.create_workflow(session, principal, data)


@router.get("", response_model=TemplateList)
async def list_templates(
    session: SessionDep,
    principal: CurrentPrincipal,
    category: Annotated[str | None, Query(max_length=100, description="only this category")] = None,
):
    """The built-in templates and your tenant's own."""
    items = await store.list_all(session, principal.tenant_id, category)
    everything = await store.list_all(session, principal.tenant_id) if category else items
    return TemplateList(items=[_summary(t) for t in items], total=len(items),
                        categories=sorted({t.category for t in everything}))


@router.post("", response_model=TemplateDetail, status_code=status.HTTP_201_CREATED,
             responses={409: {"description": "the id is taken (by a built-in or one of your templates)"},
                        422: {"description": "not a usable template; `detail.problems` for an invalid definition"}})
async def create_template(body: TemplateCreate, session: SessionDep, principal: CurrentPrincipal,
                          response: Response):
    """Add a template for your tenant (permission `template.create`)."""
    data = body.model_dump()
    if not data.get("id"):
        slug = re.sub(r"[^a-z0-9]+", "-", body.name.lower()).strip("-")[:63]
        data["id"] = slug if len(slug) >= 2 else f"template-{slug or 'x'}"
    try:
        tpl = await store.create(session, principal.tenant_id, principal.name, data)
    except store.InvalidTemplate as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            {"message": err.message, "problems": err.problems}) from None
    except store.TemplateConflict as err:
        raise HTTPException(status.HTTP_409_CONFLICT, str(err)) from None
    response.headers["Location"] = f"/api/v1/templates/{tpl.id}"
    return TemplateDetail(**tpl.to_dict())


@router.get("/{template_id}", response_model=TemplateDetail)
async def get_template(template_id: TemplateId, session: SessionDep, principal: CurrentPrincipal):
    return TemplateDetail(**(await get_template_for(session, principal, template_id)).to_dict())


@router.delete("/{template_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses={404: {"description": "unknown template"}, 409: {"description": "built-in template"}})
async def delete_template(template_id: TemplateId, session: SessionDep, principal: CurrentPrincipal):
    """Remove one of your tenant's templates (workflows created from it are not affected)."""
    try:
        await store.delete(session, principal.tenant_id, template_id)
    except catalog.TemplateNotFound:
        raise _not_found(template_id) from None
    except store.TemplateConflict as err:
        raise HTTPException(status.HTTP_409_CONFLICT, str(err)) from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{template_id}/create-workflow", response_model=WorkflowFromTemplate,
             status_code=status.HTTP_201_CREATED,
             responses={404: {"description": "unknown template"},
                        422: {"description": "`detail.errors` lists every invalid parameter"}})
async def create_workflow(template_id: TemplateId, body: CreateFromTemplate, session: SessionDep,
                          principal: CurrentPrincipal, response: Response):
    """Create a workflow (version 1, status `draft` unless given) from a template and its parameters."""
    wf, ver = await create_workflow_from_template(session, principal, template_id, body)
    response.headers["ETag"] = svc.etag(wf)
    response.headers["Location"] = f"/api/v1/workflows/{wf.id}"
    return WorkflowFromTemplate(**WorkflowPublic.model_validate(wf).model_dump(), definition=ver.definition,
                                template_id=template_id)
