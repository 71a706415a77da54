"""The answer a `webhook.respond` node gives to the sync webhook call that started its execution.

The node's activity stores the response under the execution id in Redis (first one wins, kept 10
minutes); the webhook route, in `sync` mode, answers with whichever comes first: that stored response,
or the execution's result. Redis being down makes the route fall back to the result (or 202).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from temporalio.client import WorkflowHandle

from wfo.redis import get_safe_redis

KEY_PREFIX = "wfo:hook-response:"
TTL_SECONDS = 600
POLL_SECONDS = 0.05
CLEANUP_SECONDS = 1.0


def response_key(execution_id: str) -> str:
    return KEY_PREFIX + execution_id


async def store_response(redis: aioredis.Redis, execution_id: str, response: dict[str, Any]) -> bool:
    """Store `response` (status, headers, body) unless one is stored already; True when this one was."""
    return bool(await redis.set(response_key(execution_id), json.dumps(response), nx=True, ex=TTL_SECONDS))


async def stored_response(redis_url: str, execution_id: str) -> dict[str, Any] | None:
    raw = await get_safe_redis(redis_url).call(lambda r: r.get(response_key(execution_id)), None)
    return json.loads(raw) if raw else None


def responds_early(definition: dict[str, Any] | None) -> bool:
    """Whether a definition has a `webhook.respond` node (only then can an answer come before the result)."""
    return any(isinstance(n, dict) and n.get("type") == "webhook.respond"
               for n in ((definition or {}).get("nodes") or []))


async def wait_for_answer(handle: WorkflowHandle, redis_url: str, timeout: float,
                          poll_responses: bool = True) -> tuple[str, Any]:
    """("response", {status, headers, body}) when a webhook.respond node answered first, else
    ("result", output) when the execution finished. Raises TimeoutError after `timeout`, and the
    execution's failure (WorkflowFailureError) when it failed without responding.

    `poll_responses=False` (the definition has no webhook.respond node, see `responds_early`): only the
    result is awaited, no Redis polling (20 polls/s per waiting call otherwise)."""
    result = asyncio.ensure_future(handle.result())

    async def poll() -> dict[str, Any]:
        while True:
            found = await stored_response(redis_url, handle.id)
            if found is not None:
                return found
            await asyncio.sleep(POLL_SECONDS)

    polling = asyncio.ensure_future(poll() if poll_responses else asyncio.Event().wait())
    try:
        done, _ = await asyncio.wait({result, polling}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if polling in done:
            return "response", polling.result()
        if result in done:
            found = await stored_response(redis_url, handle.id) if poll_responses else None  # just before?
            if found is not None:
                return "response", found
            return "result", result.result()
        raise TimeoutError
    finally:
        for task in (result, polling):
            if not task.done():
                task.cancel()
        # never let the clean-up of a cancelled long poll hold the answer: the caller's timeout is the bound
        await asyncio.wait({result, polling}, timeout=CLEANUP_SECONDS)
        for task in (result, polling):
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: no "exception was never retrieved" warning


__all__ = ["RedisError", "response_key", "responds_early", "store_response", "stored_response", "wait_for_answer"]
