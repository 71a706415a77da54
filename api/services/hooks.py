"""Inbound webhooks (``POST /api/v1/hooks/{trigger_id}``): one delivery starts one execution.

The use case behind the route (``api.routes.hooks`` only adapts HTTP to it). Order of checks: unknown
trigger ``NotFound``, body over the limit ``TooLarge``, bad/missing signature ``Unauthorized`` (when the
trigger has a secret), workflow not active ``Conflict``, rate limit ``RateLimited``; then the execution
is indexed and started (``wfo.executions.start_indexed``) and ``receive`` returns only after Temporal
has it. Temporal or the database unreachable: ``Unavailable`` (503 with Retry-After), never a 2xx.

Exactly once: a delivery id (``Idempotency-Key`` or a provider header such as ``X-GitHub-Delivery``)
becomes the execution id (``keyed_execution_id``), started with ``REJECT_DUPLICATE`` + ``USE_EXISTING``:
a duplicate, concurrent or later, gets the first execution's id. Redis only short-cuts repeats and counts
rate limits; without Redis both are skipped, nothing else changes.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from temporalio.client import Client

from wfo import idempotency, ratelimit
from wfo.db import PgPool
from wfo.errors import (
    Conflict,
    InvalidInput,
    MalformedRequest,
    NotFound,
    RateLimited,
    TooLarge,
    Unauthorized,
    Unavailable,
)
from wfo.executions import keyed_execution_id, new_execution_id, start_indexed
from wfo.jsonsafe import UnstorableJSON, loads_strict, scrub_nul
from wfo.redis import SafeRedis
from wfo.replies import Outcome, Replies
from wfo.security.secretbox import unseal
from wfo.security.signing import INBOUND_SIGNATURE_HEADER, verify_body_signature
from wfo.settings import Settings
from wfo.stores import triggers
from wfo.stores.payloads import PayloadStore
from workflows.engine import payload_refs

log = logging.getLogger("wfo.api.hooks")

START_TIMEOUT_SECONDS = 10.0

_CREDENTIAL_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "x-api-key",
        "x-signature-256",
        "x-hub-signature",
        "x-hub-signature-256",
        "x-gitlab-token",
        "x-shopify-hmac-sha256",
        "stripe-signature",
        "x-slack-signature",
        "webhook-signature",
        "svix-signature",
        "x-twilio-signature",
    }
)
_CREDENTIAL_PATTERN = re.compile(
    r"auth|token|secret|sig|pass|pwd|credential|access|key|hmac|cookie|session|private|cert|bearer|jwt|otp", re.I)
"""A header whose name mentions any of these is dropped, unless it is in _BENIGN_HEADERS (deny by pattern,
broad on purpose: a credential header we don't know, `X-Credential`, `X-Access`..., never reaches history)."""
_BENIGN_HEADERS = frozenset({"idempotency-key", "x-idempotency-key", "accept", "accept-encoding", "accept-language",
                             "x-github-event", "x-github-delivery", "x-gitlab-event", "x-request-id"})
_DROPPED_HEADERS = frozenset({"content-length", "connection", "transfer-encoding", "keep-alive", "upgrade"})


def safe_headers(headers) -> dict[str, str]:
    """Request headers minus credentials (they must not land in execution input / history)."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        if key in _CREDENTIAL_HEADERS or key in _DROPPED_HEADERS or (
                key not in _BENIGN_HEADERS and _CREDENTIAL_PATTERN.search(key)):
            continue
        out[key] = value
    return out


def _multi(pairs) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            out[key] = out[key] + [value] if isinstance(out[key], list) else [out[key], value]
        else:
            out[key] = value
    return out


async def parse_body(content_type: str | None, raw: bytes, form: Callable[[], Awaitable[Any]]) -> tuple[Any, str]:
    """(body, kind) with kind json | form | text | base64 | empty. ``form`` parses a multipart body."""
    ctype = (content_type or "").split(";", 1)[0].strip().lower()
    if not raw:
        return None, "empty"
    if ctype == "application/json" or ctype.endswith("+json"):
        try:
            return loads_strict(raw), "json"
        except UnstorableJSON as exc:
            raise MalformedRequest(f"body refused: {exc}") from None
        except ValueError:
            raise MalformedRequest("body is not valid JSON") from None
    if ctype == "application/x-www-form-urlencoded":
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedRequest("form body is not UTF-8") from None
        return _multi((k, v) for k, vs in parse_qs(text, keep_blank_values=True).items() for v in vs), "form"
    if ctype == "multipart/form-data":
        try:
            parsed = await form()
        except Exception:  # noqa: BLE001
            raise MalformedRequest("malformed multipart body") from None
        fields = []
        for key, value in parsed.multi_items():
            if hasattr(value, "filename"):
                fields.append((key, {"filename": value.filename, "content_type": value.content_type, "size": value.size}))
            else:
                fields.append((key, value))
        return _multi(fields), "form"
    try:
        return raw.decode("utf-8"), "text"
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), "base64"


async def load_trigger(db: Any, trigger_id: str) -> triggers.TriggerRow | None:
    try:
        tid = uuid.UUID(trigger_id)
    except ValueError:
        return None
    return await triggers.with_current_version(db, tid, "webhook")



@dataclass
class Delivery:
    """One inbound HTTP delivery, as the route saw it (no framework types)."""

    trigger_id: str
    method: str
    headers: Mapping[str, str]
    query: list[tuple[str, str]]
    read_body: Callable[[], Awaitable[bytes]]
    read_form: Callable[[], Awaitable[Any]]


@dataclass
class Accepted:
    execution_id: str
    duplicate: bool
    trigger: triggers.TriggerRow
    """The trigger row (``config`` says how to answer: ``response_mode``, ``sync_timeout_seconds``)."""
    timings: dict[str, float] = field(default_factory=dict)
    """Milliseconds per stage: ``trigger`` (the row), ``checks`` (body, signature, idempotency, rate
    limit), ``index`` (execution row) and ``start`` (the Temporal start call); the route sends them as
    ``Server-Timing``."""
    reply: asyncio.Future[Outcome] | None = None
    """The run's outcome, delivered in-process when it started eagerly on this process's embedded worker
    (``wfo.replies``); None otherwise (ask Temporal)."""


async def receive(db: Any, settings: Settings, redis: SafeRedis, client: Callable[[], Awaitable[Client]],
                  delivery: Delivery, payload_store: PayloadStore | None = None,
                  replies: Replies | None = None) -> Accepted:
    """Check the delivery and start the trigger's workflow with ``{body, body_kind, headers, query, method,
    content_type, trigger}`` as input. Raises ``wfo.errors`` (see the module docstring for the order).
    ``db``: the asyncpg pool (``wfo.db.PgPool``); ``payload_store`` keeps an input over the payload
    threshold out of Temporal history. ``replies`` (this process runs an embedded workflow worker): a sync
    trigger's execution starts eagerly and ``Accepted.reply`` will get its outcome in-process."""
    t0 = time.perf_counter()
    try:
        trigger = await load_trigger(db, delivery.trigger_id)
    except PgPool.ERRORS as exc:
        log.warning("webhook %s: database unavailable: %s", delivery.trigger_id[:64], type(exc).__name__)
        raise Unavailable("database unavailable; delivery not accepted, retry later") from None
    if trigger is None:
        raise NotFound("hook not found")
    timings = {"trigger": (time.perf_counter() - t0) * 1000}
    t0 = time.perf_counter()
    config = trigger.config or {}
    limit = min(int(config.get("max_body_bytes") or settings.max_request_bytes), settings.max_request_bytes)
    declared = delivery.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"body larger than {limit} bytes")
    raw = await delivery.read_body()
    if len(raw) > limit:
        raise TooLarge(f"body larger than {limit} bytes")

    if trigger.secret_enc is not None:
        secret = unseal(settings.secret_key, trigger.secret_enc)
        provided = delivery.headers.get(INBOUND_SIGNATURE_HEADER) or delivery.headers.get("X-Hub-Signature-256")
        if not verify_body_signature(secret, raw, provided):
            raise Unauthorized("missing or invalid X-Signature-256")

    if trigger.status != "active":
        raise Conflict(f"workflow is {trigger.status}; triggers fire only for active workflows")
    if trigger.definition is None:
        raise Conflict("workflow has no current version")

    keyed = idempotency.idempotency_key_from_headers(delivery.headers)
    if keyed is not None:
        known = await idempotency.remembered_execution(redis, str(trigger.id), keyed[1])
        if known:
            return Accepted(known, True, trigger, timings)
        execution_id = keyed_execution_id(str(trigger.id), keyed[1])
    else:
        execution_id = new_execution_id()

    rate = int(config.get("rate_limit_per_minute") or 0)
    decision = await ratelimit.hit(redis, f"trigger:{trigger.id}", rate, 60)
    if not decision.allowed:
        raise RateLimited(f"rate limit of {rate} deliveries per minute exceeded", retry_after=decision.retry_after)

    body, body_kind = await parse_body(delivery.headers.get("content-type"), raw, delivery.read_form)
    run_input = {
        "body": body,
        "body_kind": body_kind,
        "headers": safe_headers(delivery.headers),
        "query": _multi(delivery.query),
        "method": delivery.method,
        "content_type": delivery.headers.get("content-type"),
        "trigger": {"id": str(trigger.id), "kind": "webhook", "idempotency_key": keyed[1] if keyed else None},
    }
    refs = payload_refs({"body": body, "query": run_input["query"]})
    if refs:
        raise InvalidInput(f"stored-payload references ($ref) are not accepted in webhook input: {', '.join(refs)}")
    try:
        temporal = await client()
    except Exception as exc:  # noqa: BLE001 - Temporal unreachable: nothing is acknowledged
        log.warning("webhook %s: no workflow engine: %s", trigger.id, type(exc).__name__)
        raise Unavailable("workflow engine unavailable; delivery not accepted, retry later") from None
    timings["checks"] = (time.perf_counter() - t0) * 1000
    reply = replies.expect(execution_id) if replies is not None and config.get("response_mode") == "sync" else None
    duplicate, eager = True, False  # until the start says this request started the run, eagerly
    try:
        execution_id, duplicate, eager = await start_indexed(
            db, temporal, definition=trigger.definition, input=run_input,
            index_input=scrub_nul(run_input),  # the index copy; the execution gets the body as sent
            task_queue=settings.temporal_task_queue, execution_id=execution_id, workflow_id=trigger.workflow_id,
            version=trigger.current_version, tenant_id=trigger.tenant_id, trigger="webhook",
            started_by=f"webhook:{trigger.id}", payload_threshold_bytes=settings.payload_threshold_bytes,
            keyed=keyed is not None, timeout=START_TIMEOUT_SECONDS, timings=timings, payload_store=payload_store,
            eager=reply is not None)
    except PgPool.ERRORS as exc:
        log.warning("webhook %s: indexing failed: %s", trigger.id, type(exc).__name__)
        raise Unavailable("database unavailable; delivery not accepted, retry later") from None
    except Unavailable:
        # the row is marked failed (start_failed): a retry with the same key revives and starts it
        raise Unavailable("workflow engine unavailable; delivery not accepted, retry later") from None
    finally:
        if replies is not None and reply is not None and (duplicate or not eager):
            # not started, not this request's run, or its first task went to another worker (this process's
            # worker had no free slot): no reply comes here, ask Temporal at once
            replies.discard(execution_id)
            reply = None

    if keyed is not None:
        await idempotency.remember_execution(redis, str(trigger.id), keyed[1], execution_id)
    return Accepted(execution_id, duplicate, trigger, timings, reply)
