"""Durable delivery of one outbound event to one subscription (``WebhookDelivery``), and its contracts.

One workflow per (subscription, event). The activity POSTs the signed event and is retried by
Temporal with exponential backoff, so a delivery survives worker and API restarts. The
subscription's secret never enters history: the activity loads it from Postgres by id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

WORKFLOW_NAME = "WebhookDelivery"
DELIVER_ACTIVITY = "webhook_delivery.deliver"
RECORD_OUTCOME_ACTIVITY = "webhook_delivery.record_outcome"
EMIT_EVENT_ACTIVITY = "wfo.events.emit"
"""Local activity that lets workflows (the interpreter, approvals) publish outbound events."""
NON_RETRYABLE_ERRORS = ("SubscriptionGone", "UnsafeURL")


@dataclass
class DeliverRequest:
    delivery_id: str
    subscription_id: str
    event_type: str
    body: str
    timeout_seconds: float = 30.0
    tenant_id: str | None = None
    event_id: str | None = None


@dataclass
class DeliveryOutcome:
    delivery_id: str
    status: str
    """succeeded | failed | cancelled"""
    attempts: int
    response_status: int | None
    error: str | None


@dataclass
class EmitEventRequest:
    event_type: str
    tenant_id: str
    data: dict
    event_id: str
    """Stable per event (e.g. ``"execution.completed:<execution id>"``): a retried emit delivers once."""


@dataclass
class DeliveryRetry:
    """Backoff between attempts: 10s, 20s, 40s, ... capped at 1h, for about a day by default."""

    initial_interval_seconds: float = 10.0
    backoff_coefficient: float = 2.0
    maximum_interval_seconds: float = 3600.0
    maximum_attempts: int = 30
    attempt_timeout_seconds: float = 30.0


@dataclass
class DeliveryInput:
    delivery_id: str
    subscription_id: str
    tenant_id: str
    event_id: str
    event_type: str
    body: str
    """The exact JSON body sent on every attempt (signatures are over these bytes)."""
    retry: DeliveryRetry = field(default_factory=DeliveryRetry)


@workflow.defn(name=WORKFLOW_NAME)
class DeliveryWorkflow:
    def __init__(self) -> None:
        self._status = "pending"

    @workflow.query
    def status(self) -> str:
        return self._status

    @workflow.run
    async def run(self, inp: DeliveryInput) -> DeliveryOutcome:
        r = inp.retry
        try:
            result = await workflow.execute_activity(
                DELIVER_ACTIVITY,
                DeliverRequest(
                    delivery_id=inp.delivery_id,
                    subscription_id=inp.subscription_id,
                    event_type=inp.event_type,
                    body=inp.body,
                    timeout_seconds=r.attempt_timeout_seconds,
                    tenant_id=inp.tenant_id,
                    event_id=inp.event_id,
                ),
                start_to_close_timeout=timedelta(seconds=r.attempt_timeout_seconds + 10),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=r.initial_interval_seconds),
                    backoff_coefficient=r.backoff_coefficient,
                    maximum_interval=timedelta(seconds=r.maximum_interval_seconds),
                    maximum_attempts=r.maximum_attempts,
                    non_retryable_error_types=list(NON_RETRYABLE_ERRORS),
                ),
                summary=f"POST {inp.event_type}",
                result_type=DeliveryOutcome,
            )
            self._status = "succeeded"
            return result
        except ActivityError as err:
            cause = err.cause
            kind = cause.type if isinstance(cause, ApplicationError) else None
            status = "cancelled" if kind == "SubscriptionGone" else "failed"
            message = cause.message if isinstance(cause, ApplicationError) else str(cause or err)
            outcome = DeliveryOutcome(
                delivery_id=inp.delivery_id,
                status=status,
                attempts=0,
                response_status=None,
                error=message,
            )
            outcome = await workflow.execute_activity(
                RECORD_OUTCOME_ACTIVITY,
                outcome,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1)),
                result_type=DeliveryOutcome,
            )
            self._status = status
            return outcome
