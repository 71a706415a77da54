"""REST v1: import an n8n workflow export as a workflow (plus its webhook/schedule triggers).

The translation is `workflows.n8n_import` (pure); this route only validates, refuses or reports, and
creates through the workflow service and the triggers route's creation function.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, Field, ValidationError

from api.deps import CurrentPrincipal, SessionDep, SettingsDep
from api.routes.triggers import TriggerCreate, TriggerPublic, create_trigger
from api.schemas import COMMON_ERRORS, JsonObject, RequestModel, WorkflowCreate, WorkflowDetail, WorkflowPublic
from api.services import workflows as svc
from wfo.errors import InvalidInput
from workflows.n8n_import import N8nFormatError, import_n8n

log = logging.getLogger("wfo.api.n8n_import")

router = APIRouter(prefix="/api/v1/workflows/import", tags=["workflows"], responses=COMMON_ERRORS)


class N8nImportRequest(RequestModel):
    workflow: JsonObject = Field(description="The n8n workflow export (`{name, nodes, connections, ...}`)")
    strict: bool = Field(default=False, description="Refuse (422) if any node or parameter cannot be translated; "
                                                    "otherwise those nodes become `terminate` nodes saying why")
    name: str | None = Field(default=None, min_length=1, max_length=255,
                             description="Name of the new workflow (default: the n8n workflow's name)")
    js_fallback: bool = Field(default=True, description="Evaluate expressions without an exact JSONata "
                                                           "translation with JavaScript (code.javascript nodes); "
                                                           "false: they are untranslatable")
    workflow_ids: dict[str, uuid.UUID] = Field(
        default_factory=dict, max_length=200,
        description="n8n workflow id -> id of the workflow imported here, for Execute Workflow nodes that call "
                    "a stored workflow (import the called workflow first)")


class Untranslatable(BaseModel):
    node: str
    type: str
    reason: str


class ImportWarning(BaseModel):
    node: str
    type: str
    message: str


class N8nImportResult(BaseModel):
    workflow: WorkflowDetail
    triggers: list[TriggerPublic]
    untranslatable: list[Untranslatable]
    """Nodes replaced by a `terminate` node (non-strict imports only)."""
    warnings: list[ImportWarning]


def _unprocessable(message: str, **extra: Any) -> InvalidInput:
    return InvalidInput(message, detail={"message": message, **extra})


@router.post("/n8n", response_model=N8nImportResult, status_code=status.HTTP_201_CREATED,
             responses={422: {"description": "Not an n8n export, untranslatable nodes (strict), or the translated "
                                             "definition is invalid; the detail lists each problem"}})
async def import_n8n_workflow(body: N8nImportRequest, request: Request, session: SessionDep,
                              principal: CurrentPrincipal, settings: SettingsDep) -> N8nImportResult:
    for n8n_id, our_id in body.workflow_ids.items():  # each must be a workflow of this tenant
        await svc.get_workflow(session, principal, our_id)
    try:
        result = import_n8n(body.workflow, {k: str(v) for k, v in body.workflow_ids.items()}, body.js_fallback)
    except N8nFormatError as err:
        raise _unprocessable("not an n8n workflow export", problems=err.problems) from None
    except Exception as err:
        log.exception("n8n import failed")
        raise _unprocessable(f"the n8n workflow could not be translated ({type(err).__name__})") from None
    if body.strict and result.untranslatable:
        raise _unprocessable(f"{len(result.untranslatable)} node(s) or parameter(s) cannot be translated",
                             untranslatable=result.untranslatable)
    problems = svc.validate(result.definition)
    if problems:
        raise _unprocessable("the translated definition is not valid here (a component it needs may be missing)",
                             problems=problems, untranslatable=result.untranslatable)
    name = body.name or result.name or "Imported n8n workflow"
    specs = []
    for t in result.triggers:
        try:
            specs.append(TriggerCreate(**{k: v for k, v in t.items() if k != "n8n_node"}))
        except ValidationError as err:
            raise _unprocessable(f"trigger node '{t.get('n8n_node')}' gives an invalid trigger",
                                 problems=[e["msg"] for e in err.errors()]) from None
    wf, ver = await svc.create_workflow(
        session, principal,
        WorkflowCreate(name=name[:255], description="Imported from n8n", definition=result.definition),
        commit=not specs)
    triggers = []
    for spec in specs:  # the first trigger's commit also commits the workflow
        triggers.append(await create_trigger(wf.id, spec, request, session, principal, settings))
    await session.refresh(wf)
    detail = WorkflowDetail(**WorkflowPublic.model_validate(wf).model_dump(), definition=ver.definition)
    return N8nImportResult(workflow=detail, triggers=triggers,
                           untranslatable=[Untranslatable(**u) for u in result.untranslatable],
                           warnings=[ImportWarning(**w) for w in result.warnings])
