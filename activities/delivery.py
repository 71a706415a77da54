"""Activities of the ``WebhookDelivery`` workflow: one signed POST per attempt, and the delivery log."""

from __future__ import annotations

import logging
import uuid

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from wfo.events import emit_event
from wfo.netguard import UnresolvableHostError, UnsafeURLError, guarded_send
from wfo.security.secretbox import unseal
from wfo.security.signing import signed_headers
from wfo.settings import Settings
from wfo.stores import deliveries
from workflows.delivery import (
    DELIVER_ACTIVITY,
    EMIT_EVENT_ACTIVITY,
    RECORD_OUTCOME_ACTIVITY,
    DeliverRequest,
    DeliveryOutcome,
    EmitEventRequest,
)

log = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 2048
USER_AGENT = "wfo-webhooks/1"


class DeliveryActivities:
    """Injected: settings (secret key, outbound allowlist), a session factory, an HTTP client."""

    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.http = http or httpx.AsyncClient(follow_redirects=False, trust_env=False)

    async def _record_attempt(
        self, req: DeliverRequest, attempt: int, status_code: int | None, error: str | None, succeeded: bool
    ) -> None:
        async with self.sessionmaker() as session:
            if req.tenant_id and req.event_id:
                # The row normally exists (emit_event writes it); create it if the emitter died first.
                await deliveries.ensure_row(session, delivery_id=req.delivery_id, tenant_id=uuid.UUID(req.tenant_id),
                                            subscription_id=uuid.UUID(req.subscription_id), event_id=req.event_id,
                                            event_type=req.event_type)
            await deliveries.record_attempt(session, req.delivery_id, attempt, status_code, error, succeeded)
            await session.commit()

    @activity.defn(name=DELIVER_ACTIVITY)
    async def deliver(self, req: DeliverRequest) -> DeliveryOutcome:
        attempt = activity.info().attempt
        async with self.sessionmaker() as session:
            row = await deliveries.subscription(session, uuid.UUID(req.subscription_id))
        if row is None or not row.active or row.deleted_at is not None:
            raise ApplicationError("subscription was deleted or disabled", type="SubscriptionGone", non_retryable=True)

        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            **signed_headers(
                unseal(self.settings.secret_key, row.secret_enc),
                req.body,
                delivery_id=req.delivery_id,
                event_type=req.event_type,
            ),
        }
        snippet = b""
        try:
            # the one SSRF guard: resolved, checked, connected to as checked; redirects are not followed
            resp = await guarded_send(self.http, "POST", row.endpoint_url, self.settings, headers=headers,
                                      content=req.body.encode("utf-8"), timeout=req.timeout_seconds,
                                      follow_redirects=False, stream=True)
            try:
                status_code = resp.status_code
                async for chunk in resp.aiter_bytes():
                    snippet += chunk
                    if len(snippet) >= MAX_RESPONSE_BYTES:
                        break
            finally:
                await resp.aclose()
        except UnresolvableHostError as exc:
            await self._record_attempt(req, attempt, None, str(exc), False)
            raise ApplicationError(str(exc), type="DeliveryError") from None
        except UnsafeURLError as exc:
            await self._record_attempt(req, attempt, None, str(exc), False)
            raise ApplicationError(str(exc), type="UnsafeURL", non_retryable=True) from None
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
            await self._record_attempt(req, attempt, None, error, False)
            raise ApplicationError(error, type="DeliveryError") from None

        if 200 <= status_code < 300:
            await self._record_attempt(req, attempt, status_code, None, True)
            return DeliveryOutcome(req.delivery_id, "succeeded", attempt, status_code, None)

        error = f"HTTP {status_code}: {snippet[:200].decode('utf-8', 'replace')}"
        await self._record_attempt(req, attempt, status_code, error, False)
        raise ApplicationError(error, type="DeliveryError")

    @activity.defn(name=RECORD_OUTCOME_ACTIVITY)
    async def record_outcome(self, outcome: DeliveryOutcome) -> DeliveryOutcome:
        async with self.sessionmaker() as session:
            closed = await deliveries.close(session, outcome.delivery_id, outcome.status, outcome.error)
            await session.commit()
        if closed is not None:
            outcome.attempts, outcome.response_status = closed
        return outcome


class EventActivities:
    """``wfo.events.emit``: lets workflows (the interpreter, approvals) publish outbound events.

    From a workflow: ``await workflow.execute_local_activity("wfo.events.emit", EmitEventRequest(...),
    start_to_close_timeout=timedelta(seconds=30))``. Deliveries are started on this worker's task queue.
    """

    def __init__(self, sessionmaker: async_sessionmaker) -> None:
        self.sessionmaker = sessionmaker

    @activity.defn(name=EMIT_EVENT_ACTIVITY)
    async def emit(self, req: EmitEventRequest) -> list[str]:
        return await emit_event(
            req.event_type,
            req.data,
            tenant_id=req.tenant_id,
            client=activity.client(),
            sessionmaker=self.sessionmaker,
            task_queue=activity.info().task_queue,
            event_id=req.event_id,
        )
