"""The alert evaluation activity: measure each enabled rule, judge it, record its state, notify changes.

Clients injected: the worker's `Services` (settings, session factory, SMTP through the email connector)
and its Temporal client (task-queue description, event deliveries). Notifications happen only on a state
change and before the state is committed, with ids derived from (rule, firing number): a retried pass
re-sends to the same webhook delivery ids (de-duplicated by Temporal) rather than losing a notice.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import isodate
from sqlalchemy import func
from sqlmodel import select
from temporalio import activity
from temporalio.client import Client

from activities.services import Services
from connectors.base import ComponentError, NodeContext
from connectors.email import EmailSend
from wfo.events import emit_event
from wfo.models import Execution
from wfo.models_alerts import AlertRule, AlertState
from wfo.taskqueue import describe_task_queue
from workflows.alerts import (
    EVALUATE_ALERTS_ACTIVITY,
    EvaluateAlertsInput,
    EvaluateAlertsResult,
    Judgement,
    Observation,
    judge,
)

log = logging.getLogger(__name__)

FAILED = ("failed", "timed_out", "terminated")


class AlertActivities:
    def __init__(self, services: Services, client: Client):
        self.services = services
        self.client = client

    async def _observe(self, session, rule: AlertRule, now: datetime, queue: dict[str, Any]) -> Observation:
        p = rule.params
        scope = [Execution.tenant_id == rule.tenant_id]
        if p.get("workflow_id"):
            scope.append(Execution.workflow_id == p["workflow_id"])
        if rule.kind == "failure_rate":
            since = now - isodate.parse_duration(p.get("window", "PT1H"))
            failed, closed = (await session.exec(
                select(func.count().filter(Execution.status.in_(FAILED)),
                       func.count().filter(Execution.status.in_(("completed", *FAILED))))
                .where(*scope, Execution.completed_at >= since))).one()
            return Observation(value=100.0 * failed / closed if closed else 0.0, sample=closed,
                               details={"failed": failed, "closed": closed})
        if rule.kind == "long_running":
            before = now - isodate.parse_duration(p["max_duration"])
            ids = (await session.exec(
                select(Execution.id).where(*scope, Execution.status == "running", Execution.started_at < before)
                .order_by(Execution.started_at).limit(20))).all()
            return Observation(value=float(len(ids)), details={"executions": list(ids)})
        if "state" not in queue:
            queue["state"] = await describe_task_queue(self.client, queue["name"])
        if rule.kind == "queue_backlog":
            return Observation(value=float(queue["state"].backlog),
                               details={"backlog_age_seconds": queue["state"].backlog_age_seconds})
        if rule.kind == "no_worker":
            return Observation(value=float(len(queue["state"].workflow_pollers)),
                               details={"pollers": queue["state"].workflow_pollers})
        raise ValueError(f"unknown alert rule kind {rule.kind!r}")

    async def _notify(self, rule: AlertRule, state: AlertState, event: str, verdict: Judgement, task_queue: str) -> None:
        data = {"rule_id": str(rule.id), "rule": rule.name, "kind": rule.kind, "status": state.status,
                "summary": verdict.summary, "value": state.value, "details": state.details,
                "since": state.since.isoformat() if state.since else None}
        event_id = f"alert:{rule.id}:{state.fired_count}:{event.split('.')[1]}"
        if rule.channels.get("webhook", True):
            await emit_event(event, data, tenant_id=rule.tenant_id, client=self.client,
                             sessionmaker=self.services.sessionmaker(), task_queue=task_queue, event_id=event_id)
        emails = [str(e) for e in rule.channels.get("emails") or []]
        if emails:
            word = "FIRING" if event == "alert.fired" else "resolved"
            try:
                await EmailSend().run(
                    {"to": emails, "subject": f"[wfo alert {word}] {rule.name}",
                     "text": f"{rule.name} ({rule.kind}) is {word}: {verdict.summary}\n\nSince {data['since']}."},
                    NodeContext(execution_id=event_id, node_id="alert", attempt=activity.info().attempt,
                                idempotency_key=event_id, tenant_id=str(rule.tenant_id), services=self.services))
            except ComponentError as err:
                if err.retryable:
                    raise
                log.warning("alert %s: not emailing: %s", rule.id, err.message)

    @activity.defn(name=EVALUATE_ALERTS_ACTIVITY)
    async def evaluate(self, inp: EvaluateAlertsInput) -> EvaluateAlertsResult:
        result = EvaluateAlertsResult()
        now = datetime.now(UTC)
        queue: dict[str, Any] = {"name": inp.task_queue}
        async with self.services.sessionmaker()() as session:
            rules = (await session.exec(select(AlertRule).where(AlertRule.enabled).order_by(AlertRule.created_at))
                     ).all()
            for rule in rules:
                state = await session.get(AlertState, rule.id) or AlertState(
                    rule_id=rule.id, tenant_id=rule.tenant_id, status="ok", since=now, details={})
                try:
                    obs = await self._observe(session, rule, now, queue)
                except Exception as err:  # noqa: BLE001 - one broken rule must not stop the others
                    log.warning("alert rule %s could not be measured: %s", rule.id, type(err).__name__)
                    continue
                verdict = judge(rule.kind, rule.params, obs)
                state.value, state.summary, state.details = obs.value, verdict.summary, obs.details
                state.last_evaluated_at = now
                event = None
                if verdict.firing and state.status != "firing":
                    state.status, state.since, state.fired_count = "firing", now, state.fired_count + 1
                    event = "alert.fired"
                    result.fired.append(str(rule.id))
                elif not verdict.firing and state.status == "firing":
                    state.status, state.since = "ok", now
                    event = "alert.resolved"
                    result.resolved.append(str(rule.id))
                if event:
                    await self._notify(rule, state, event, verdict, inp.task_queue)
                session.add(state)
                await session.commit()
                result.evaluated += 1
        return result

    def all(self) -> list:
        return [self.evaluate]
