"""Inbound webhooks: ``POST /api/v1/hooks/{trigger_id}`` starts one execution per delivery.

The HTTP adapter of ``api.services.hooks.receive`` (the checks, exactly-once and the start live there).

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
import json
import logging
import time
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse, Response
from temporalio.client import WorkflowFailureError

from api.deps import PgDep, get_temporal_client
from api.services import hooks as hooks_svc
from wfo.hook_responses import responds_early, wait_for_answer
from wfo.redis import get_safe_redis
from wfo.stores.payloads import SqlPayloadStore

log = logging.getLogger("wfo.api.hooks")

router = APIRouter(tags=["hooks"])


async def _answer(request: Request, accepted: hooks_svc.Accepted) -> Response:
    execution_id, config = accepted.execution_id, accepted.trigger.config or {}
    body = {"execution_id": execution_id, "status": "running", "duplicate": accepted.duplicate}
    headers = {"Location": f"/api/v1/executions/{execution_id}"}
    if config.get("response_mode") != "sync":
        return JSONResponse(body, status_code=status.HTTP_202_ACCEPTED, headers=headers)
    timeout = float(config.get("sync_timeout_seconds") or 10.0)
    try:
        client = await get_temporal_client(request.app)
        kind, output = await wait_for_answer(client.get_workflow_handle(execution_id),
                                             request.app.state.settings.redis_url, timeout,
                                             poll_responses=responds_early(accepted.trigger.definition),
                                             reply=accepted.reply)
    except (asyncio.TimeoutError, TimeoutError):
        return JSONResponse(body, status_code=status.HTTP_202_ACCEPTED, headers=headers)
    except WorkflowFailureError as exc:
        cause = exc.cause
        kind, output = "failed", str(getattr(cause, "message", None) or cause or exc)
    except Exception as exc:  # noqa: BLE001 - the execution is accepted; its result just isn't known yet
        log.warning("waiting for %s failed: %s", execution_id, type(exc).__name__)
        return JSONResponse(body, status_code=status.HTTP_202_ACCEPTED, headers=headers)
    finally:
        request.app.state.replies.discard(execution_id)
    if kind == "response":  # a webhook.respond node answered while the execution goes on
        return hook_response(output, execution_id)
    if kind == "failed":
        return JSONResponse({**body, "status": "failed", "error": output}, status_code=status.HTTP_200_OK,
                            headers=headers)
    return JSONResponse({**body, "status": "completed", "output": output}, status_code=status.HTTP_200_OK, headers=headers)


def hook_response(answer: dict[str, Any], execution_id: str) -> Response:
    """The HTTP answer a webhook.respond node asked for (JSON unless a text content type was given)."""
    ctype = str(answer.get("content_type") or "application/json")
    data = answer.get("body")
    if ctype.startswith("application/json") or not isinstance(data, str):
        content = json.dumps(data).encode()
    else:
        content = data.encode()
    headers = {**{str(k): str(v) for k, v in (answer.get("headers") or {}).items()},
               "X-Wfo-Execution-Id": execution_id}
    return Response(content, status_code=int(answer.get("status") or 200), media_type=ctype, headers=headers)


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
async def receive_hook(trigger_id: str, request: Request, pg: PgDep):
    """Start the trigger's workflow with ``{body, headers, query, method, content_type, trigger}`` as input."""
    accepted = await hooks_svc.receive(
        pg, request.app.state.settings, get_safe_redis(request.app.state.settings.redis_url),
        lambda: get_temporal_client(request.app),
        hooks_svc.Delivery(trigger_id=trigger_id, method=request.method, headers=request.headers,
                           query=list(request.query_params.multi_items()), read_body=request.body,
                           read_form=request.form),
        payload_store=SqlPayloadStore(request.app.state.engine),
        replies=request.app.state.replies if request.app.state.eager_start else None,
    )
    t0 = time.perf_counter()
    response = await _answer(request, accepted)
    if (accepted.trigger.config or {}).get("response_mode") == "sync":
        accepted.timings["wait"] = (time.perf_counter() - t0) * 1000
    response.headers["Server-Timing"] = server_timing(accepted.timings)
    return response


def server_timing(timings: dict[str, float]) -> str:
    """`Server-Timing` (W3C) of an accepted delivery: where its time went, for operators and the bench."""
    return ", ".join(f"{name};dur={ms:.1f}" for name, ms in timings.items())
