"""Live execution events: one poller per execution (elected in Redis) turns the interpreter's
progress query into node events and publishes them on a Redis channel; every API replica's SSE
streams subscribe to that channel. Anything else (approvals: ``task.created``) can publish on the
same channel with :func:`publish_execution_event`.

Without Redis each stream polls Temporal itself: slower fan-out, same events.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

log = logging.getLogger(__name__)

POLL_INTERVAL_SECONDS = 0.5
LOCK_TTL_SECONDS = 5
KEEPALIVE_SECONDS = 15.0
TERMINAL_EVENT_PREFIX = "execution."

_TERMINAL = {
    WorkflowExecutionStatus.COMPLETED: "completed",
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.CANCELED: "cancelled",
    WorkflowExecutionStatus.TERMINATED: "terminated",
    WorkflowExecutionStatus.TIMED_OUT: "timed_out",
}


def channel_for(execution_id: str) -> str:
    return f"wfo:exec:{execution_id}:events"


def _lock_key(execution_id: str) -> str:
    return f"wfo:exec:{execution_id}:poller"


def pubsub_redis(url: str) -> aioredis.Redis:
    """A connection for subscriptions: quick to fail on connect, no read timeout while idle."""
    return aioredis.from_url(url, socket_connect_timeout=0.5, decode_responses=True)


async def publish_execution_event(redis: aioredis.Redis, execution_id: str, event: dict[str, Any]) -> None:
    """Publish one event (``{"type": "task.created", ...}``) to the execution's live stream."""
    await redis.publish(channel_for(execution_id), json.dumps({"execution_id": execution_id, **event}, default=str))


def node_event(execution_id: str, seq: int, raw: dict[str, Any]) -> dict[str, Any]:
    ev = {k: v for k, v in raw.items() if k != "seq"}
    if "seq" in raw:
        ev["activation"] = raw["seq"]
    return {**ev, "type": f"node.{raw.get('event', 'event')}", "execution_id": execution_id, "seq": seq}


async def poll_once(client: Client, execution_id: str, cursor: int) -> tuple[list[dict[str, Any]], int, dict | None]:
    """(new events since ``cursor``, new cursor, terminal event or None) from one describe + query."""
    handle = client.get_workflow_handle(execution_id)
    desc = await handle.describe()
    terminal = None
    if desc.status in _TERMINAL:
        terminal = {"type": f"execution.{_TERMINAL[desc.status]}", "execution_id": execution_id,
                    "status": _TERMINAL[desc.status]}
    try:
        progress = await asyncio.wait_for(handle.query("progress"), 5)
    except Exception:  # noqa: BLE001 - no worker right now / query unsupported: no node events this round
        return [], cursor, terminal
    events = progress.get("events") or []
    base = int(progress.get("events_dropped") or 0)
    fresh = []
    for i, raw in enumerate(events):
        seq = base + i + 1
        if seq > cursor:
            fresh.append(node_event(execution_id, seq, raw))
    cursor = max(cursor, base + len(events))
    return fresh, cursor, terminal


async def run_poller(client: Client, redis: aioredis.Redis, execution_id: str, owner: str) -> None:
    """Publish this execution's events while holding the poller lock; stop at the end or on loss."""
    cursor_key = f"wfo:exec:{execution_id}:cursor"
    cursor = int(await redis.get(cursor_key) or 0)
    while True:
        try:
            fresh, cursor, terminal = await poll_once(client, execution_id, cursor)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                fresh, terminal = [], None
            else:
                raise
        for ev in fresh:
            await redis.publish(channel_for(execution_id), json.dumps(ev, default=str))
        await redis.set(cursor_key, cursor, ex=3600)
        if terminal is not None:
            await redis.publish(channel_for(execution_id), json.dumps(terminal))
            await redis.set(f"wfo:exec:{execution_id}:terminal", json.dumps(terminal), ex=3600)
            return
        await asyncio.sleep(POLL_INTERVAL_SECONDS)
        # keep the lock only if it is still ours
        held = await redis.get(_lock_key(execution_id))
        if held != owner:
            return
        await redis.expire(_lock_key(execution_id), LOCK_TTL_SECONDS)


async def _direct_stream(client: Client, execution_id: str, cursor: int) -> AsyncIterator[dict[str, Any]]:
    """No Redis: poll Temporal from this stream."""
    while True:
        try:
            fresh, cursor, terminal = await poll_once(client, execution_id, cursor)
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                log.debug("poll failed: %s", exc.status)
            fresh, terminal = [], None
        for ev in fresh:
            yield ev
        if terminal is not None:
            yield terminal
            return
        await asyncio.sleep(POLL_INTERVAL_SECONDS)


async def execution_events(
    client: Client, redis_url: str, execution_id: str, *, last_seq: int = 0
) -> AsyncIterator[dict[str, Any] | None]:
    """Events for one execution, from ``last_seq`` on, ending with its ``execution.*`` event.

    Yields ``None`` now and then (the caller sends a keep-alive).
    """
    redis = pubsub_redis(redis_url)
    pubsub = redis.pubsub()
    try:
        try:
            await pubsub.subscribe(channel_for(execution_id))
        except (RedisError, OSError) as exc:
            log.info("live events for %s without Redis (%s): polling directly", execution_id, type(exc).__name__)
            async for ev in _direct_stream(client, execution_id, last_seq):
                yield ev
            return

        # Subscribed first, then catch up from Temporal, so nothing falls between the two.
        cursor = last_seq
        try:
            fresh, cursor, terminal = await poll_once(client, execution_id, cursor)
        except RPCError:
            fresh, terminal = [], None
        for ev in fresh:
            yield ev
        if terminal is not None:
            yield terminal
            return

        owner = uuid.uuid4().hex
        poller: asyncio.Task | None = None
        loop = asyncio.get_running_loop()
        next_lock_try = 0.0
        last_yield = loop.time()
        try:
            while True:
                now = loop.time()
                if (poller is None or poller.done()) and now >= next_lock_try:
                    next_lock_try = now + 1.0
                    if await redis.set(_lock_key(execution_id), owner, nx=True, ex=LOCK_TTL_SECONDS):
                        poller = asyncio.create_task(run_poller(client, redis, execution_id, owner))
                try:
                    msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
                except (RedisError, OSError) as exc:
                    log.info("live events for %s lost Redis (%s): polling directly", execution_id, type(exc).__name__)
                    async for ev in _direct_stream(client, execution_id, cursor):
                        yield ev
                    return
                if msg is None:
                    if loop.time() - last_yield > KEEPALIVE_SECONDS:
                        last_yield = loop.time()
                        yield None
                    continue
                ev = json.loads(msg["data"])
                seq = ev.get("seq")
                if isinstance(seq, int):
                    if seq <= cursor:
                        continue
                    cursor = seq
                last_yield = loop.time()
                yield ev
                if str(ev.get("type", "")).startswith(TERMINAL_EVENT_PREFIX):
                    return
        finally:
            if poller is not None and not poller.done():
                poller.cancel()
                try:
                    await poller
                except BaseException:  # noqa: BLE001
                    pass
            try:
                if await redis.get(_lock_key(execution_id)) == owner:
                    await redis.delete(_lock_key(execution_id))
            except (RedisError, OSError):
                pass
    finally:
        try:
            await pubsub.aclose()
            await redis.aclose()
        except Exception:  # noqa: BLE001
            pass
