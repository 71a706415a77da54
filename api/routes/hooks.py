"""Inbound webhooks: ``POST /api/v1/hooks/{trigger_id}`` starts one execution per delivery.

Order of checks: unknown trigger 404, body over the limit 413, bad/missing signature 401 (when
the trigger has a secret), workflow not active 409, rate limit 429; then the execution is
indexed and started, and the answer (202, or 200 with the output in ``sync`` mode) is sent only
after Temporal has it. Temporal unreachable: 503 with Retry-After, never a 2xx.

Exactly once: a delivery id (``Idempotency-Key`` or a provider header such as
``X-GitHub-Delivery``) becomes the Temporal workflow id, started with ``REJECT_DUPLICATE`` +
``USE_EXISTING``: a duplicate, concurrent or later, gets the first execution's id. Redis only
short-cuts repeats and counts rate limits; without Redis both are skipped, nothing else changes.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import uuid
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from temporalio.client import WorkflowFailureError

from api.deps import SessionDep, get_temporal_client
from wfo import idempotency, ratelimit
from wfo.db import sql
from wfo.errors import Unavailable
from wfo.executions import keyed_execution_id, new_execution_id, start_indexed
from wfo.jsonsafe import UnstorableJSON, loads_strict, scrub_nul
from wfo.redis import SafeRedis, get_safe_redis
from wfo.security.secretbox import unseal
from wfo.security.signing import INBOUND_SIGNATURE_HEADER, verify_body_signature

log = logging.getLogger("wfo.api.hooks")

router = APIRouter(tags=["hooks"])

START_TIMEOUT_SECONDS = 10.0
RETRY_AFTER_SECONDS = "5"

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
_CREDENTIAL_PATTERN = re.compile(r"auth|token|secret|signature|password|passwd|api[-_]?key|cookie|session", re.I)
_DROPPED_HEADERS = frozenset({"content-length", "connection", "transfer-encoding", "keep-alive", "upgrade"})


def safe_headers(headers) -> dict[str, str]:
    """Request headers minus credentials (they must not land in execution input / history)."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        if key in _CREDENTIAL_HEADERS or key in _DROPPED_HEADERS or _CREDENTIAL_PATTERN.search(key):
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


async def parse_body(request: Request, raw: bytes) -> tuple[Any, str]:
    """(body, kind) with kind json | form | text | base64 | empty."""
    ctype = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if not raw:
        return None, "empty"
    if ctype == "application/json" or ctype.endswith("+json"):
        try:
            return loads_strict(raw), "json"
        except UnstorableJSON as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"body refused: {exc}") from None
        except ValueError:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "body is not valid JSON") from None
    if ctype == "application/x-www-form-urlencoded":
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "form body is not UTF-8") from None
        return _multi((k, v) for k, vs in parse_qs(text, keep_blank_values=True).items() for v in vs), "form"
    if ctype == "multipart/form-data":
        try:
            form = await request.form()
        except Exception:  # noqa: BLE001
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "malformed multipart body") from None
        fields = []
        for key, value in form.multi_items():
            if hasattr(value, "filename"):
                fields.append((key, {"filename": value.filename, "content_type": value.content_type, "size": value.size}))
            else:
                fields.append((key, value))
        return _multi(fields), "form"
    try:
        return raw.decode("utf-8"), "text"
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), "base64"


def _events_redis(request: Request) -> SafeRedis:
    return get_safe_redis(request.app.state.settings.redis_url)


def _unavailable(detail: str) -> JSONResponse:
    return JSONResponse(
        {"detail": detail}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": RETRY_AFTER_SECONDS}
    )


async def _load_trigger(session, trigger_id: str) -> Any:
    try:
        tid = uuid.UUID(trigger_id)
    except ValueError:
        return None
    return (
        await sql(
            session,
            "SELECT t.id, t.tenant_id, t.workflow_id, t.config, t.secret_enc, w.status, w.current_version, "
            "v.definition FROM triggers t JOIN workflows w ON w.id = t.workflow_id "
            "LEFT JOIN workflow_versions v ON v.workflow_id = w.id AND v.version = w.current_version "
            "WHERE t.id = :id AND t.kind = 'webhook'",
            {"id": tid},
        )
    ).first()


async def _answer(request: Request, execution_id: str, trigger: Any, duplicate: bool) -> JSONResponse:
    config = trigger.config or {}
    body = {"execution_id": execution_id, "status": "running", "duplicate": duplicate}
    headers = {"Location": f"/api/v1/executions/{execution_id}"}
    if config.get("response_mode") != "sync":
        return JSONResponse(body, status_code=status.HTTP_202_ACCEPTED, headers=headers)
    timeout = float(config.get("sync_timeout_seconds") or 10.0)
    try:
        client = await get_temporal_client(request.app)
        output = await asyncio.wait_for(client.get_workflow_handle(execution_id).result(), timeout)
    except asyncio.TimeoutError:
        return JSONResponse(body, status_code=status.HTTP_202_ACCEPTED, headers=headers)
    except WorkflowFailureError as exc:
        cause = exc.cause
        return JSONResponse(
            {**body, "status": "failed", "error": str(getattr(cause, "message", None) or cause or exc)},
            status_code=status.HTTP_200_OK,
            headers=headers,
        )
    except Exception as exc:  # noqa: BLE001 - the execution is accepted; its result just isn't known yet
        log.warning("waiting for %s failed: %s", execution_id, type(exc).__name__)
        return JSONResponse(body, status_code=status.HTTP_202_ACCEPTED, headers=headers)
    return JSONResponse({**body, "status": "completed", "output": output}, status_code=status.HTTP_200_OK, headers=headers)


_HOOK_RESPONSES = {
    200: {"description": "sync mode: the execution finished within the limit (`status`, `output` or `error`)"},
    202: {"description": "accepted: Temporal has the execution (`execution_id`, `duplicate`)"},
    400: {"description": "the body is not valid JSON (or NaN/Infinity, nesting over 64 levels)"},
    401: {"description": "missing or invalid `X-Signature-256` (trigger with a secret); nothing started"},
    404: {"description": "unknown hook"},
    409: {"description": "the workflow is not active"},
    413: {"description": "body over the trigger's or the server's limit"},
    429: {"description": "over the trigger's rate limit; see `Retry-After`"},
    503: {"description": "workflow engine unreachable; nothing accepted, retry after `Retry-After`"},
}
_HOOK_BODY = {
    "requestBody": {
        "required": False,
        "content": {
            "application/json": {"schema": {}},
            "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
            "text/plain": {"schema": {"type": "string"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.post(
    "/api/v1/hooks/{trigger_id}",
    status_code=status.HTTP_202_ACCEPTED,
    responses=_HOOK_RESPONSES,
    openapi_extra=_HOOK_BODY,
)
async def receive_hook(trigger_id: str, request: Request, session: SessionDep):
    """Start the trigger's workflow with ``{body, headers, query, method, content_type, trigger}`` as input."""
    settings = request.app.state.settings
    try:
        trigger = await _load_trigger(session, trigger_id)
    except (SQLAlchemyError, OSError) as exc:
        log.warning("webhook %s: database unavailable: %s", trigger_id[:64], type(exc).__name__)
        return _unavailable("database unavailable; delivery not accepted, retry later")
    if trigger is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "hook not found")
    config = trigger.config or {}
    limit = min(int(config.get("max_body_bytes") or settings.max_request_bytes), settings.max_request_bytes)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"body larger than {limit} bytes")
    raw = await request.body()
    if len(raw) > limit:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"body larger than {limit} bytes")

    if trigger.secret_enc is not None:
        secret = unseal(settings.secret_key, trigger.secret_enc)
        provided = request.headers.get(INBOUND_SIGNATURE_HEADER) or request.headers.get("X-Hub-Signature-256")
        if not verify_body_signature(secret, raw, provided):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or invalid X-Signature-256")

    if trigger.status != "active":
        raise HTTPException(status.HTTP_409_CONFLICT, f"workflow is {trigger.status}; triggers fire only for active workflows")
    if trigger.definition is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "workflow has no current version")

    redis = _events_redis(request)
    keyed = idempotency.idempotency_key_from_headers(request.headers)
    if keyed is not None:
        known = await idempotency.remembered_execution(redis, str(trigger.id), keyed[1])
        if known:
            return await _answer(request, known, trigger, duplicate=True)
        execution_id = keyed_execution_id(str(trigger.id), keyed[1])
    else:
        execution_id = new_execution_id()

    rate = int(config.get("rate_limit_per_minute") or 0)
    decision = await ratelimit.hit(redis, f"trigger:{trigger.id}", rate, 60)
    if not decision.allowed:
        return JSONResponse(
            {"detail": f"rate limit of {rate} deliveries per minute exceeded"},
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            headers={"Retry-After": str(decision.retry_after)},
        )

    body, body_kind = await parse_body(request, raw)
    run_input = {
        "body": body,
        "body_kind": body_kind,
        "headers": safe_headers(request.headers),
        "query": _multi(request.query_params.multi_items()),
        "method": request.method,
        "content_type": request.headers.get("content-type"),
        "trigger": {"id": str(trigger.id), "kind": "webhook", "idempotency_key": keyed[1] if keyed else None},
    }
    try:
        client = await get_temporal_client(request.app)
    except Exception as exc:  # noqa: BLE001 - Temporal unreachable: nothing is acknowledged
        log.warning("webhook %s: no workflow engine: %s", trigger.id, type(exc).__name__)
        return _unavailable("workflow engine unavailable; delivery not accepted, retry later")
    try:
        execution_id, duplicate = await start_indexed(
            session, client, definition=trigger.definition, input=run_input,
            index_input=scrub_nul(run_input),  # the index copy; the execution gets the body as sent
            task_queue=settings.temporal_task_queue, execution_id=execution_id, workflow_id=trigger.workflow_id,
            version=trigger.current_version, tenant_id=trigger.tenant_id, trigger="webhook",
            started_by=f"webhook:{trigger.id}", payload_threshold_bytes=settings.payload_threshold_bytes,
            keyed=keyed is not None, timeout=START_TIMEOUT_SECONDS)
    except (SQLAlchemyError, OSError) as exc:
        log.warning("webhook %s: indexing failed: %s", trigger.id, type(exc).__name__)
        return _unavailable("database unavailable; delivery not accepted, retry later")
    except Unavailable:
        # the row is marked failed (start_failed): a retry with the same key revives and starts it
        return _unavailable("workflow engine unavailable; delivery not accepted, retry later")

    if keyed is not None:
        await idempotency.remember_execution(redis, str(trigger.id), keyed[1], execution_id)
    return await _answer(request, execution_id, trigger, duplicate=duplicate)
