"""REST v1: alert rules (failure rate, long-running executions, task-queue backlog, no worker) and their
state. Rules are evaluated by the durable `AlertsScheduler` workflow; a state change fires `alert.fired` /
`alert.resolved` to the tenant's webhooks and emails the rule's addresses."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from api.deps import CurrentPrincipal, SessionDep
from api.services import alerts as service
from wfo.models_alerts import AlertRule, AlertState
from workflows.alerts import RULE_KINDS

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])

Kind = Literal["failure_rate", "long_running", "queue_backlog", "no_worker"]


class AlertRuleCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: Kind
    params: dict[str, Any] = {}
    channels: dict[str, Any] = {"webhook": True}
    enabled: bool = True


class AlertRuleUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    params: dict[str, Any] | None = None
    channels: dict[str, Any] | None = None
    enabled: bool | None = None


class AlertStatePublic(BaseModel):
    status: str
    value: float | None = None
    summary: str | None = None
    details: dict[str, Any] = {}
    since: datetime | None = None
    fired_count: int = 0
    last_evaluated_at: datetime | None = None


class AlertRulePublic(BaseModel):
    id: uuid.UUID
    name: str
    kind: str
    params: dict[str, Any]
    channels: dict[str, Any]
    enabled: bool
    created_at: datetime
    updated_at: datetime
    state: AlertStatePublic | None = None


class AlertRuleList(BaseModel):
    items: list[AlertRulePublic]
    kinds: dict[str, Any]


def _public(rule: AlertRule, state: AlertState | None) -> AlertRulePublic:
    return AlertRulePublic(
        id=rule.id, name=rule.name, kind=rule.kind, params=rule.params, channels=rule.channels,
        enabled=rule.enabled, created_at=rule.created_at, updated_at=rule.updated_at,
        state=AlertStatePublic(status=state.status, value=state.value, summary=state.summary,
                               details=state.details or {}, since=state.since, fired_count=state.fired_count,
                               last_evaluated_at=state.last_evaluated_at) if state else None)


@router.get("/rules", response_model=AlertRuleList)
async def list_alert_rules(session: SessionDep, principal: CurrentPrincipal) -> AlertRuleList:
    rows = await service.list_rules(session, principal.tenant_id)
    return AlertRuleList(items=[_public(r, s) for r, s in rows],
                         kinds={k: {"title": v["title"], "params_schema": v["schema"]} for k, v in RULE_KINDS.items()})


@router.post("/rules", response_model=AlertRulePublic, status_code=status.HTTP_201_CREATED)
async def create_alert_rule(body: AlertRuleCreate, session: SessionDep, principal: CurrentPrincipal) -> AlertRulePublic:
    rule = await service.create_rule(session, principal.tenant_id, **body.model_dump())
    return _public(rule, None)


@router.get("/rules/{rule_id}", response_model=AlertRulePublic)
async def get_alert_rule(rule_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal) -> AlertRulePublic:
    return _public(*await service.get_rule(session, principal.tenant_id, rule_id))


@router.patch("/rules/{rule_id}", response_model=AlertRulePublic)
async def update_alert_rule(rule_id: uuid.UUID, body: AlertRuleUpdate, session: SessionDep,
                            principal: CurrentPrincipal) -> AlertRulePublic:
    rule = await service.update_rule(session, principal.tenant_id, rule_id, body.model_dump(exclude_none=True))
    return _public(*await service.get_rule(session, principal.tenant_id, rule.id))


@router.delete("/rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_alert_rule(rule_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal) -> None:
    await service.delete_rule(session, principal.tenant_id, rule_id)
