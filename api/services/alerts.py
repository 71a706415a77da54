"""Alert rules of a tenant: validate, create, update, delete, list with their current state.

Domain code with no HTTP types: it raises the project's errors (`NotFound`, `Conflict`, `InvalidInput` with
every problem, each naming its field), which `api.errors` maps to 404, 409 and 422.
"""

from __future__ import annotations

import uuid
from typing import Any

import isodate
import jsonschema
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from wfo.errors import Conflict, InvalidInput, NotFound
from wfo.models import utcnow
from wfo.models_alerts import AlertRule, AlertState
from workflows.alerts import CHANNELS_SCHEMA, RULE_KINDS


class AlertRuleInvalid(InvalidInput):
    def __init__(self, problems: list[dict[str, str]]):
        super().__init__("; ".join(f"{p['field']}: {p['message']}" for p in problems), detail=problems)
        self.problems = problems


def _schema_problems(schema: dict, value: Any, prefix: str) -> list[dict[str, str]]:
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    out = []
    for err in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(p) for p in err.absolute_path)
        out.append({"field": f"{prefix}.{path}" if path else prefix, "message": err.message})
    return out


def check_rule(kind: str, params: dict[str, Any], channels: dict[str, Any]) -> None:
    """Raise `AlertRuleInvalid` listing every problem of (kind, params, channels)."""
    if kind not in RULE_KINDS:
        raise AlertRuleInvalid([{"field": "kind", "message": f"unknown kind {kind!r} (one of: "
                                                           + ", ".join(RULE_KINDS) + ")"}])
    problems = _schema_problems(RULE_KINDS[kind]["schema"], params, "params")
    problems += _schema_problems(CHANNELS_SCHEMA, channels, "channels")
    for key in ("window", "max_duration"):
        if isinstance(params.get(key), str):
            try:
                if isodate.parse_duration(params[key]).total_seconds() <= 0:
                    raise ValueError
            except (ValueError, isodate.ISO8601Error, AttributeError):
                problems.append({"field": f"params.{key}", "message": f"{params[key]!r} is not a positive "
                                                                       "ISO-8601 duration like PT1H"})
    if problems:
        raise AlertRuleInvalid(problems)


async def list_rules(session: AsyncSession, tenant_id: uuid.UUID) -> list[tuple[AlertRule, AlertState | None]]:
    rows = await session.exec(
        select(AlertRule, AlertState).outerjoin(AlertState, AlertState.rule_id == AlertRule.id)
        .where(AlertRule.tenant_id == tenant_id).order_by(AlertRule.created_at))
    return [(r, s) for r, s in rows.all()]


async def get_rule(session: AsyncSession, tenant_id: uuid.UUID, rule_id: uuid.UUID) -> tuple[AlertRule, AlertState | None]:
    rule = await session.get(AlertRule, rule_id)
    if rule is None or rule.tenant_id != tenant_id:
        raise NotFound(f"alert rule {rule_id} not found")
    return rule, await session.get(AlertState, rule_id)


async def create_rule(session: AsyncSession, tenant_id: uuid.UUID, *, name: str, kind: str,
                      params: dict[str, Any], channels: dict[str, Any], enabled: bool = True) -> AlertRule:
    check_rule(kind, params, channels)
    rule = AlertRule(tenant_id=tenant_id, name=name, kind=kind, params=params, channels=channels, enabled=enabled)
    session.add(rule)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Conflict(f"an alert rule named {name!r} already exists") from None
    return rule


async def update_rule(session: AsyncSession, tenant_id: uuid.UUID, rule_id: uuid.UUID,
                      changes: dict[str, Any]) -> AlertRule:
    rule, _ = await get_rule(session, tenant_id, rule_id)
    params = changes.get("params", rule.params)
    channels = changes.get("channels", rule.channels)
    check_rule(rule.kind, params, channels)
    rule.params, rule.channels = params, channels
    if "enabled" in changes:
        rule.enabled = bool(changes["enabled"])
    if "name" in changes:
        rule.name = changes["name"]
    rule.updated_at = utcnow()
    session.add(rule)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Conflict(f"an alert rule named {changes.get('name')!r} already exists") from None
    return rule


async def delete_rule(session: AsyncSession, tenant_id: uuid.UUID, rule_id: uuid.UUID) -> None:
    rule, state = await get_rule(session, tenant_id, rule_id)
    if state is not None:
        await session.delete(state)
    await session.delete(rule)
    await session.commit()
