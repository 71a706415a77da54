"""REST v1: workflow templates — the built-in catalog (``api/templates/*.json``) plus each tenant's own
templates — and creating a workflow from one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, Field

from api import templates as catalog
from api.deps import CurrentPrincipal, SessionDep
from api.schemas import (
    JsonObject,
    JsonValue,
    RequestModel,
    Tag,
    WorkflowDetail,
    WorkflowPublic,
)
from api.services import templates as template_svc
from api.services import workflows as svc
from api.services.templates import CreateFromTemplate
from api.templates import store

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


class WorkflowFromTemplate(WorkflowDetail):
    template_id: str


def _summary(t: catalog.Template) -> TemplateSummary:
    return TemplateSummary(**t.summary(), parameters=t.parameters)


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
    tpl = await template_svc.create_template(session, principal, body.model_dump())
    response.headers["Location"] = f"/api/v1/templates/{tpl.id}"
    return TemplateDetail(**tpl.to_dict())


@router.get("/{template_id}", response_model=TemplateDetail)
async def get_template(template_id: TemplateId, session: SessionDep, principal: CurrentPrincipal):
    return TemplateDetail(**(await template_svc.get_template(session, principal, template_id)).to_dict())


@router.delete("/{template_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses={404: {"description": "unknown template"}, 409: {"description": "built-in template"}})
async def delete_template(template_id: TemplateId, session: SessionDep, principal: CurrentPrincipal):
    """Remove one of your tenant's templates (workflows created from it are not affected)."""
    await template_svc.delete_template(session, principal.tenant_id, template_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{template_id}/create-workflow", response_model=WorkflowFromTemplate,
             status_code=status.HTTP_201_CREATED,
             responses={404: {"description": "unknown template"},
                        422: {"description": "`detail.errors` lists every invalid parameter"}})
async def create_workflow(template_id: TemplateId, body: CreateFromTemplate, session: SessionDep,
                          principal: CurrentPrincipal, response: Response):
    """Create a workflow (version 1, status `draft` unless given) from a template and its parameters."""
    wf, ver = await template_svc.create_workflow_from_template(session, principal, template_id, body)
    response.headers["ETag"] = svc.etag(wf)
    response.headers["Location"] = f"/api/v1/workflows/{wf.id}"
    return WorkflowFromTemplate(**WorkflowPublic.model_validate(wf).model_dump(), definition=ver.definition,
                                template_id=template_id)
