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
from wfo.replies import Outcome

KEY_PREFIX = "wfo:hook-response:"
TTL_SECONDS = 600
POLL_SECONDS = 0.05
CLEANUP_SECONDS = 1.0
REPLY_FALLBACK_SECONDS = 2.0
"""How long a sync webhook with an in-process reply on the way waits before also asking Temporal."""


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
                          poll_responses: bool = True, reply: asyncio.Future[Outcome] | None = None,
                          fallback_after: float = REPLY_FALLBACK_SECONDS) -> tuple[str, Any]:
    """("response", {status, headers, body}) when a webhook.respond node answered first, else
    ("result", output) when the execution finished, or ("failed", message) when the in-process `reply`
    (``wfo.replies``) says it failed. Raises TimeoutError after `timeout`, and the execution's failure
    (WorkflowFailureError) when Temporal's result says it failed without responding.

    `poll_responses=False` (the definition has no webhook.respond node, see `responds_early`): only the
    result is awaited, no Redis polling (20 polls/s per waiting call otherwise).

    With a `reply` (the run started eagerly on this process's embedded worker), Temporal's result (a history
    long poll) is asked for only when no reply came within `fallback_after` seconds, or the reply was
    withdrawn: the run may have moved to another worker, or ended without its closing local activity."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    fallback_at = loop.time() + fallback_after if reply is not None else loop.time()
    result: asyncio.Future[Any] | None = None

    async def poll() -> dict[str, Any]:
        while True:
            found = await stored_response(redis_url, handle.id)
            if found is not None:
                return found
            await asyncio.sleep(POLL_SECONDS)

    async def just_before(kind: str, value: Any) -> tuple[str, Any]:
        found = await stored_response(redis_url, handle.id) if poll_responses else None  # answered just before?
        return ("response", found) if found is not None else (kind, value)

    polling = asyncio.ensure_future(poll() if poll_responses else asyncio.Event().wait())
    waiting: set[asyncio.Future[Any]] = {polling} | ({reply} if reply is not None else set())
    try:
        while True:
            now = loop.time()
            if result is None and now >= fallback_at:
                result = asyncio.ensure_future(handle.result())
                waiting.add(result)
            if now >= deadline:
                raise TimeoutError
            done, _ = await asyncio.wait(waiting, timeout=min(deadline, max(fallback_at, now)) - now
                                         if result is None else deadline - now,
                                         return_when=asyncio.FIRST_COMPLETED)
            if polling in done:
                return "response", polling.result()
            if reply is not None and reply in done:
                waiting.discard(reply)
                if reply.cancelled():  # withdrawn: ask Temporal now
                    fallback_at = loop.time()
                    continue
                outcome = reply.result()
                if outcome.status == "completed":
                    return await just_before("result", outcome.output)
                return await just_before("failed", outcome.error or outcome.status)
            if result is not None and result in done:
                if result.exception() is not None:
                    kind, found = await just_before("failed", None)
                    if kind == "response":
                        return kind, found
                return await just_before("result", result.result())  # (raises the run's failure)
    finally:
        tasks = [t for t in (result, polling) if t is not None]
        for task in tasks:
            if not task.done():
                task.cancel()
        # never let the clean-up of a cancelled long poll hold the answer: the caller's timeout is the bound
        await asyncio.wait(tasks, timeout=CLEANUP_SECONDS)
        for task in tasks:
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: no "exception was never retrieved" warning


__all__ = ["RedisError", "response_key", "responds_early", "store_response", "stored_response", "wait_for_answer"]
