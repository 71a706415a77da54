"""Resolvers. Root fields reuse the REST services (same validation, tenancy and errors); nested fields load
through the request's batch loaders."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from ariadne import MutationType, ObjectType, QueryType, ScalarType
from graphql import GraphQLError, GraphQLResolveInfo
from sqlmodel import col, select

from api import templates as catalog
from api.errors import messages
from api.schemas import WorkflowCreate, WorkflowUpdate
from api.services import analytics as analytics_svc
from api.services import audit as audit_svc
from api.services import executions as exec_svc
from api.services import tasks as task_svc
from api.services import templates as template_svc
from api.services import workflows as wf_svc
from api.services.templates import CreateFromTemplate
from api.templates import store as template_store
from wfo.errors import NotFound, WfoError
from wfo.models import Execution, Workflow, WorkflowStatus

query = QueryType()
mutation = MutationType()
workflow_type = ObjectType("Workflow")
version_type = ObjectType("WorkflowVersion")
execution_type = ObjectType("Execution")
template_type = ObjectType("Template")
json_scalar = ScalarType("JSON")
datetime_scalar = ScalarType("DateTime")

MAX_LIMIT = 500


@json_scalar.serializer
def _json_out(value: Any) -> Any:
    return value


@json_scalar.value_parser
def _json_in(value: Any) -> Any:
    return value


@datetime_scalar.serializer
def _dt_out(value: datetime) -> str:
    return value.isoformat()


@datetime_scalar.value_parser
def _dt_in(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("DateTime must be an ISO-8601 string")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _limit(value: int | None, default: int) -> int:
    if value is None:
        return default
    if not 1 <= value <= MAX_LIMIT:
        raise GraphQLError(f"limit must be between 1 and {MAX_LIMIT}", extensions={"code": "BAD_USER_INPUT"})
    return value


def _offset(value: int | None) -> int:
    if value is None:
        return 0
    if not 0 <= value <= 1_000_000:
        raise GraphQLError("offset must be between 0 and 1000000", extensions={"code": "BAD_USER_INPUT"})
    return value


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


def _json_arg(text: str | None, name: str) -> tuple[Any, str | None]:
    if text is None or text == "":
        return None, None
    try:
        return json.loads(text), None
    except ValueError as err:
        return None, f"{name} is not valid JSON: {err}"


# ----------------------------------------------------------------------------------------------- queries

@query.field("workflows")
async def resolve_workflows(_, info: GraphQLResolveInfo, limit=None, offset=None, category=None, status=None, tag=None):
    ctx = info.context
    if status is not None and status not in {s.value for s in WorkflowStatus}:
        raise GraphQLError(f"unknown status {status!r}", extensions={"code": "BAD_USER_INPUT"})
    async with ctx.lock:
        rows, _ = await wf_svc.list_workflows(ctx.session, ctx.principal, category=category, status_=status, tag=tag,
                                              limit=_limit(limit, 50), offset=_offset(offset))
    return rows


@query.field("workflow")
async def resolve_workflow(_, info: GraphQLResolveInfo, id: str):
    wf_id = _uuid(id)
    return await info.context.loaders.workflow.load(wf_id) if wf_id else None


@query.field("versions")
async def resolve_versions(_, info: GraphQLResolveInfo, workflowId: str, limit=None):
    wf_id = _uuid(workflowId)
    if wf_id is None or await info.context.loaders.workflow.load(wf_id) is None:
        return []
    return await info.context.loaders.versions.load((wf_id, _limit(limit, 20)))


@query.field("executions")
async def resolve_executions(_, info: GraphQLResolveInfo, workflowId=None, status=None, startedAfter=None,
                             startedBefore=None, trigger=None, q=None, limit=None, offset=None):
    ctx = info.context
    wf_id = None
    if workflowId is not None:
        wf_id = _uuid(workflowId)
        if wf_id is None:
            return []
    conds = exec_svc.execution_filters(ctx.principal.tenant_id, workflow_id=wf_id, status=status,
                                       started_after=startedAfter, started_before=startedBefore,
                                       trigger=trigger[:64] if trigger else None, q=q[:320] if q else None)
    stmt = (select(Execution).where(*conds).order_by(col(Execution.started_at).desc(), Execution.id)
            .limit(_limit(limit, 50)).offset(_offset(offset)))
    async with ctx.lock:
        return list((await ctx.session.exec(stmt)).all())


@query.field("execution")
async def resolve_execution(_, info: GraphQLResolveInfo, id: str):
    ctx = info.context
    async with ctx.lock:
        try:
            row = await exec_svc.get_execution_row(ctx.session, ctx.principal, id)
        except NotFound:
            return None
        detail = await exec_svc.detail(ctx.session, await ctx.temporal(optional=True), ctx.settings, row)
    out = detail.model_dump()
    out["_progress"] = detail.progress
    return out


@query.field("templates")
async def resolve_templates(_, info: GraphQLResolveInfo, category=None):
    ctx = info.context
    async with ctx.lock:
        return await template_store.list_all(ctx.session, ctx.principal.tenant_id, category)


@query.field("template")
async def resolve_template(_, info: GraphQLResolveInfo, id: str):
    ctx = info.context
    try:
        async with ctx.lock:
            return await template_store.get_any(ctx.session, ctx.principal.tenant_id, id)
    except catalog.TemplateNotFound:
        return None


def _task_out(t: task_svc.TaskPublic) -> dict[str, Any]:
    return {"id": t.id, "executionId": t.execution_id, "workflowId": t.workflow_id, "nodeId": t.node_id,
            "title": t.title, "description": t.description, "status": t.status, "assignees": t.assignees,
            "requiredApprovals": t.required_approvals, "form": t.form, "dueAt": t.due_at, "escalated": t.escalated,
            "decision": t.decision, "votes": t.votes, "createdAt": t.created_at, "completedAt": t.completed_at}


@query.field("tasks")
async def resolve_tasks(_, info: GraphQLResolveInfo, status=None, workflowId=None, executionId=None, mine=None,
                        limit=None, offset=None):
    """`GET /api/v1/tasks` (same filters, defaults, tenancy and visibility)."""
    ctx = info.context
    if status is not None and status not in task_svc.TASK_STATUSES:
        raise GraphQLError(f"unknown status {status!r}; one of {', '.join(task_svc.TASK_STATUSES)}",
                           extensions={"code": "BAD_USER_INPUT"})
    async with ctx.lock:
        page = await task_svc.list_tasks(ctx.session, ctx.principal, status_=status, workflow_id=workflowId,
                                         execution_id=executionId, mine=True if mine is None else mine,
                                         limit=_limit(limit, 50), offset=_offset(offset))
    return [_task_out(t) for t in page.items]


@query.field("analyticsSummary")
async def resolve_analytics_summary(_, info: GraphQLResolveInfo, window="P7D", bucket="PT1H", workflowId=None):
    ctx = info.context
    try:
        w = analytics_svc.window(window or "P7D", bucket or "PT1H")
    except analytics_svc.AnalyticsError as err:
        raise GraphQLError(f"{err.field}: {err.message}", extensions={"code": "BAD_USER_INPUT"}) from None
    wf_id = None
    if workflowId is not None:
        wf_id = _uuid(workflowId)
        if wf_id is None or await ctx.loaders.workflow.load(wf_id) is None:
            raise GraphQLError(f"workflow {workflowId} not found", extensions={"code": "NOT_FOUND"})
    async with ctx.lock:
        data = await analytics_svc.summary(ctx.session, ctx.principal.tenant_id, w, wf_id)
    return {
        "counts": data["counts"], "successRate": data["success_rate"],
        "avgDurationSeconds": data["avg_duration_seconds"],
        "overTime": [{**b, "start": datetime.fromisoformat(b["start"])} for b in data["over_time"]],
        "recentRunning": data["recent"]["running"], "recentFailed": data["recent"]["failed"],
        "recentCompleted": data["recent"]["completed"],
    }


@query.field("task")
async def resolve_task(_, info: GraphQLResolveInfo, id: str):
    """`GET /api/v1/tasks/{id}`; null where REST answers 404 (unknown, or another tenant's)."""
    ctx = info.context
    client = await ctx.temporal(optional=True)
    async with ctx.lock:
        try:
            return _task_out(await task_svc.get_task(ctx.session, client, ctx.principal, id))
        except NotFound:
            return None


@query.field("auditLog")
async def resolve_audit_log(_, info: GraphQLResolveInfo, actor=None, action=None, resourceType=None, resourceId=None,
                            status=None, since=None, until=None, first=None, after=None):
    """`GET /api/v1/audit` (same filters, tenant only; admins only via GRAPHQL_PERMISSIONS), keyset pages."""
    ctx = info.context
    filters = audit_svc.AuditFilter(action=action, actor=actor, resource_type=resourceType, resource_id=resourceId,
                                    status=status, since=since, until=until)
    try:
        async with ctx.lock:
            page = await audit_svc.page(ctx.session, ctx.principal.tenant_id, filters, first=_limit(first, 50),
                                        after=after)
    except WfoError as exc:
        raise GraphQLError(messages(exc)[0], extensions={"code": "BAD_USER_INPUT"}) from None
    items = [{"id": str(r.id), "at": r.at, "actor": r.actor, "actorKind": r.actor_kind, "action": r.action,
              "resourceType": r.resource_type, "resourceId": r.resource_id, "status": r.status, "client": r.client,
              "bodyHash": r.body_hash, "beforeHash": r.before_hash, "afterHash": r.after_hash, "hash": r.hash}
             for r in page.items]
    return {"items": items, "endCursor": page.end_cursor, "hasNextPage": page.has_next}


# --------------------------------------------------------------------------------------------- mutations

@mutation.field("createWorkflow")
async def resolve_create_workflow(_, info: GraphQLResolveInfo, name: str, workflowDefinition: str,
                                  description=None, category=None, tags=None):
    ctx = info.context
    definition, err = _json_arg(workflowDefinition, "workflowDefinition")
    if err:
        return {"workflow": None, "success": False, "errors": [err]}
    if not isinstance(definition, dict):
        return {"workflow": None, "success": False, "errors": ["workflowDefinition must be a JSON object"]}
    try:
        data = WorkflowCreate(name=name, definition=definition, description=description, category=category,
                              tags=tags or [])
    except ValueError as exc:  # pydantic ValidationError
        return {"workflow": None, "success": False, "errors": [_pydantic_message(exc)]}
    try:
        async with ctx.lock:
            wf, _ = await wf_svc.create_workflow(ctx.session, ctx.principal, data)
    except WfoError as exc:
        return {"workflow": None, "success": False, "errors": messages(exc)}
    return {"workflow": wf, "success": True, "errors": []}


@mutation.field("executeWorkflow")
async def resolve_execute_workflow(_, info: GraphQLResolveInfo, workflowId: str, parameters=None, version=None):
    ctx = info.context
    payload, err = _json_arg(parameters, "parameters")
    if err:
        return {"execution": None, "success": False, "errors": [err]}
    if version is not None and not 1 <= version <= 2**31 - 1:
        return {"execution": None, "success": False, "errors": ["version must be a positive integer"]}
    try:
        async with ctx.lock:
            wf = await wf_svc.get_workflow(ctx.session, ctx.principal, workflowId)
        client = await ctx.temporal()
        async with ctx.lock:
            row = await exec_svc.start(ctx.session, await ctx.request.app.state.pg(), client, ctx.settings, ctx.principal, wf, input=payload,
                                       version=version)
    except WfoError as exc:
        return {"execution": None, "success": False, "errors": messages(exc)}
    return {"execution": row, "success": True, "errors": []}


@mutation.field("createWorkflowFromTemplate")
async def resolve_create_from_template(_, info: GraphQLResolveInfo, templateId: str, name: str, parameters=None):
    ctx = info.context
    params, err = _json_arg(parameters, "parameters")
    if err:
        return {"workflow": None, "success": False, "errors": [err]}
    if params is not None and not isinstance(params, dict):
        return {"workflow": None, "success": False, "errors": ["parameters must be a JSON object"]}
    try:
        body = CreateFromTemplate(name=name, parameters=params or {})
    except ValueError as exc:
        return {"workflow": None, "success": False, "errors": [_pydantic_message(exc)]}
    try:
        async with ctx.lock:
            wf, _ = await template_svc.create_workflow_from_template(ctx.session, ctx.principal, templateId, body)
    except WfoError as exc:
        return {"workflow": None, "success": False, "errors": messages(exc)}
    return {"workflow": wf, "success": True, "errors": []}


@mutation.field("updateWorkflow")
async def resolve_update_workflow(_, info: GraphQLResolveInfo, id: str, workflowDefinition=None, ifMatch=None,
                                  **fields):
    ctx = info.context
    changes = {k: v for k, v in fields.items() if v is not None}
    if workflowDefinition is not None:
        definition, err = _json_arg(workflowDefinition, "workflowDefinition")
        if err:
            return {"workflow": None, "success": False, "errors": [err]}
        changes["definition"] = definition
    try:
        data = WorkflowUpdate(**changes)
    except ValueError as exc:
        return {"workflow": None, "success": False, "errors": [_pydantic_message(exc)]}
    try:
        async with ctx.lock:
            wf = await wf_svc.update_workflow(ctx.session, ctx.principal, id, data, if_match=ifMatch)
    except WfoError as exc:
        return {"workflow": None, "success": False, "errors": messages(exc)}
    return {"workflow": wf, "success": True, "errors": []}


@mutation.field("deleteWorkflow")
async def resolve_delete_workflow(_, info: GraphQLResolveInfo, id: str):
    ctx = info.context
    try:
        async with ctx.lock:
            wf = await wf_svc.archive_workflow(ctx.session, ctx.principal, id)
    except WfoError as exc:
        return {"workflow": None, "success": False, "errors": messages(exc)}
    return {"workflow": wf, "success": True, "errors": []}


@mutation.field("cancelExecution")
async def resolve_cancel_execution(_, info: GraphQLResolveInfo, id: str):
    ctx = info.context
    try:
        client = await ctx.temporal()
        async with ctx.lock:
            row = await exec_svc.cancel(ctx.session, client, ctx.principal, id)
    except WfoError as exc:
        return {"execution": None, "success": False, "errors": messages(exc)}
    return {"execution": row, "success": True, "errors": []}


@mutation.field("completeTask")
async def resolve_complete_task(_, info: GraphQLResolveInfo, id: str, decision: str, comment=None, data=None,
                                idempotencyKey=None):
    """`POST /api/v1/tasks/{id}/complete`: the same checks in the same order, refusals as `errors`."""
    ctx = info.context

    def refused(*errors: str) -> dict[str, Any]:
        return {"task": None, "result": None, "success": False, "errors": list(errors)}

    form_data, err = _json_arg(data, "data")
    if err:
        return refused(err)
    try:
        body = task_svc.CompleteTask(decision=decision, comment=comment, data=form_data)
    except ValueError as exc:  # pydantic ValidationError: what REST answers with 422
        return refused(_pydantic_message(exc))
    if idempotencyKey is not None and len(idempotencyKey) > task_svc.IDEMPOTENCY_KEY_MAX:
        return refused(f"idempotencyKey: String should have at most {task_svc.IDEMPOTENCY_KEY_MAX} characters")
    try:
        async with ctx.lock:
            row = await task_svc.load(ctx.session, ctx.principal, id)
            task_svc.audit_before(row)
            client = await ctx.temporal()
            result = await task_svc.decide_once(ctx.session, client, row.execution_id,
                                                task_svc.principal_decision(ctx.principal, id, body, idempotencyKey,
                                                                            via="graphql"))
    except WfoError as exc:
        return refused(*messages(exc))
    try:
        async with ctx.lock:
            task = _task_out(await task_svc.get_task(ctx.session, client, ctx.principal, id))
    except NotFound:  # pragma: no cover - deleted in between
        task = None
    return {"task": task, "result": result, "success": True, "errors": []}


def _pydantic_message(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors())
    return str(exc)


# ------------------------------------------------------------------------------------------ object types

def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)


@workflow_type.field("id")
def resolve_wf_id(obj: Workflow, _):
    return str(obj.id)


@workflow_type.field("currentVersion")
def resolve_wf_version(obj: Workflow, _):
    return obj.current_version


@workflow_type.field("createdBy")
def resolve_wf_created_by(obj: Workflow, _):
    return obj.created_by


@workflow_type.field("createdAt")
def resolve_wf_created(obj: Workflow, _):
    return obj.created_at


@workflow_type.field("updatedAt")
def resolve_wf_updated(obj: Workflow, _):
    return obj.updated_at


@workflow_type.field("executionCount")
async def resolve_execution_count(obj: Workflow, info: GraphQLResolveInfo):
    return (await info.context.loaders.stats.load(obj.id))[0]


@workflow_type.field("successRate")
async def resolve_success_rate(obj: Workflow, info: GraphQLResolveInfo):
    return (await info.context.loaders.stats.load(obj.id))[1]


@workflow_type.field("definition")
def resolve_wf_definition(obj: Workflow, info: GraphQLResolveInfo):
    return info.context.loaders.current_definition.load((obj.id, obj.current_version))


@workflow_type.field("versions")
def resolve_wf_versions(obj: Workflow, info: GraphQLResolveInfo, limit=None):
    return info.context.loaders.versions.load((obj.id, _limit(limit, 20)))


@workflow_type.field("executions")
def resolve_wf_executions(obj: Workflow, info: GraphQLResolveInfo, limit=None):
    return info.context.loaders.executions.load((obj.id, _limit(limit, 20)))


@version_type.field("workflowId")
def resolve_ver_wf(obj, _):
    return str(obj.workflow_id)


@version_type.field("createdAt")
def resolve_ver_created(obj, _):
    return obj.created_at


@version_type.field("createdBy")
def resolve_ver_created_by(obj, _):
    return obj.created_by


@execution_type.field("workflowId")
def resolve_ex_wf_id(obj, _):
    v = _get(obj, "workflow_id")
    return str(v) if v is not None else None


@execution_type.field("startedBy")
def resolve_ex_started_by(obj, _):
    return _get(obj, "started_by")


@execution_type.field("startedAt")
def resolve_ex_started(obj, _):
    return _get(obj, "started_at")


@execution_type.field("completedAt")
def resolve_ex_completed(obj, _):
    return _get(obj, "completed_at")


@execution_type.field("duration")
def resolve_ex_duration(obj, _):
    if isinstance(obj, dict):
        if obj.get("duration") is not None:
            return obj["duration"]
        return None if obj.get("duration_ms") is None else obj["duration_ms"] / 1000
    ms = exec_svc.duration_ms(obj)
    return None if ms is None else ms / 1000


@execution_type.field("progress")
def resolve_ex_progress(obj, _):
    status = _get(obj, "status")
    if status and exec_svc.is_terminal(str(status)):
        return 100.0
    progress = obj.get("_progress") if isinstance(obj, dict) else getattr(obj, "progress", None)
    nodes = (progress or {}).get("nodes") or {}
    if not nodes:
        return 0.0 if status == "running" else None
    done = sum(1 for st in nodes.values() if (st or {}).get("status") in ("completed", "failed", "skipped"))
    return round(100.0 * done / len(nodes), 1)


@execution_type.field("nodes")
def resolve_ex_nodes(obj, _):
    return obj.get("nodes") if isinstance(obj, dict) else None


@execution_type.field("workflow")
def resolve_ex_workflow(obj, info: GraphQLResolveInfo):
    wf_id = _get(obj, "workflow_id")
    if wf_id is None:
        return None
    return info.context.loaders.workflow.load(wf_id if isinstance(wf_id, uuid.UUID) else uuid.UUID(str(wf_id)))


@template_type.field("tags")
def resolve_tpl_tags(obj, _):
    return list(obj.tags)


@template_type.field("exampleParameters")
def resolve_tpl_examples(obj, _):
    return obj.example_parameters


OBJECTS = [query, mutation, workflow_type, version_type, execution_type, template_type, json_scalar, datetime_scalar]

