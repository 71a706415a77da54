"""REST v1: workflow templates (read-only catalog shipped in ``api/templates``) and creating a workflow from one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from pydantic import BaseModel, Field

from api import templates as catalog
from api.deps import CurrentPrincipal, SessionDep
from api.schemas import EditableStatus, Tag, WorkflowCreate, WorkflowDetail, WorkflowPublic
from api.services import workflows as svc
from wfo.models import WorkflowStatus

router = APIRouter(prefix="/api/v1/templates", tags=["templates"])

TemplateId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]


class TemplateSummary(BaseModel):
    id: str
    name: str
    category: str
    description: str
    tags: list[str]
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


class CreateFromTemplate(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    parameters: dict[str, Any] = Field(default_factory=dict)
    description: str | None = Field(default=None, max_length=10_000)
    category: str | None = Field(default=None, max_length=100)
    tags: list[Tag] | None = Field(default=None, max_length=50)
    status: EditableStatus = WorkflowStatus.draft.value


class WorkflowFromTemplate(WorkflowDetail):
    template_id: str


def _summary(t: catalog.Template) -> TemplateSummary:
    return TemplateSummary(**t.summary(), parameters=t.parameters)


def _get(template_id: str) -> catalog.Template:
    try:
        return catalog.get_template(template_id)
    except catalog.TemplateNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"template {template_id!r} not found") from None


def parameter_error(err: catalog.TemplateParameterError) -> HTTPException:
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        {"message": f"{len(err.errors)} invalid parameter(s) for template {err.template_id!r}", "errors": err.errors},
    )


async def create_workflow_from_template(session, principal, template_id: str, body: CreateFromTemplate):
    """Instantiate and store a workflow (shared with GraphQL). Raises HTTPException 404/422."""
    tpl = _get(template_id)
    try:
        definition = catalog.instantiate(template_id, body.parameters)
    except catalog.TemplateParameterError as err:
        raise parameter_error(err) from None
    tags = body.tags if body.tags is not None else [*tpl.tags, f"template:{tpl.id}"]
    data = WorkflowCreate(name=body.name, description=body.description or tpl.description,
                          category=body.category or tpl.category, tags=tags, status=body.status, definition=definition)
    return await svc.create_workflow(session, principal, data)


@router.get("", response_model=TemplateList)
async def list_templates(
    principal: CurrentPrincipal,
    category: Annotated[str | None, Query(max_length=100, description="only this category")] = None,
):
    items = catalog.list_templates(category)
    return TemplateList(items=[_summary(t) for t in items], total=len(items), categories=catalog.categories())


@router.get("/{template_id}", response_model=TemplateDetail)
async def get_template(template_id: TemplateId, principal: CurrentPrincipal):
    t = _get(template_id)
    d = t.to_dict()
    return TemplateDetail(**d)


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
