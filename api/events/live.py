"""Live execution events: one poller per execution (elected in Redis) turns the interpreter's
progress query into node events, and the approval inbox (``tasks`` rows) into task events, and
publishes them on a Redis channel; every API replica's SSE streams subscribe to that channel.
Anything else can publish on the same channel with :func:`publish_execution_event`.

Without Redis each stream polls Temporal (and Postgres) itself: slower fan-out, same events.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from wfo.db import sql

log = logging.getLogger(__name__)

POLL_INTERVAL_SECONDS = 0.5
LOCK_TTL_SECONDS = 5
KEEPALIVE_SECONDS = 15.0
STATE_TTL_SECONDS = 3600
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


def _key(execution_id: str, what: str) -> str:
    return f"wfo:exec:{execution_id}:{what}"


def pubsub_redis(url: str) -> aioredis.Redis:
    """A connection for subscriptions: quick to fail on connect, no read timeout while idle."""
    return aioredis.from_url(url, socket_connect_timeout=0.5, decode_responses=True)


async def publish_execution_event(redis: aioredis.Redis, execution_id: str, event: dict[str, Any]) -> None:
    """Publish one event (``{"type": "...", ...}``) to the execution's live stream."""
    await redis.publish(channel_for(execution_id), json.dumps({"execution_id": execution_id, **event}, default=str))


def node_event(execution_id: str, seq: int, raw: dict[str, Any]) -> dict[str, Any]:
    ev = {k: v for k, v in raw.items() if k != "seq"}
    if "seq" in raw:
        ev["activation"] = raw["seq"]
    return {**ev, "type": f"node.{raw.get('event', 'event')}", "execution_id": execution_id, "seq": seq}


@dataclass
class PollState:
    cursor: int = 0
    """Number of node events already emitted (events carry ``seq`` = their position, from 1)."""
    tasks: dict[str, list] = field(default_factory=dict)
    """task id -> [status, decision, escalated, votes] as last emitted."""
    tasks_supported: bool = True


async def _task_events(sessionmaker, execution_id: str, state: PollState) -> list[dict[str, Any]]:
    if sessionmaker is None or not state.tasks_supported:
        return []
    try:
        async with sessionmaker() as session:
            rows = (
                await sql(
                    session,
                    "SELECT id, node_id, title, status, decision, escalated, jsonb_array_length(votes) AS votes, "
                    "due_at, completed_at FROM tasks WHERE execution_id = :id ORDER BY created_at, id",
                    {"id": execution_id},
                )
            ).all()
    except Exception as exc:  # noqa: BLE001 - no tasks table (approvals not installed) or DB hiccup
        if "tasks" in str(exc) and "does not exist" in str(exc):
            state.tasks_supported = False
        return []
    events = []
    for row in rows:
        now = [row.status, row.decision, bool(row.escalated), int(row.votes or 0)]
        before = state.tasks.get(row.id)
        if before == now:
            continue
        base = {"execution_id": execution_id, "task_id": row.id, "node_id": row.node_id, "title": row.title,
                "status": row.status, "decision": row.decision, "escalated": bool(row.escalated), "votes": now[3],
                "due_at": row.due_at, "completed_at": row.completed_at}
        if before is None:
            events.append({**base, "type": "task.created"})
            before = [row.status if row.status in ("pending", "open") else "pending", None, False, 0]
        if now[2] and not before[2]:
            events.append({**base, "type": "task.escalated"})
        if now[3] != before[3] and row.decision is None:
            events.append({**base, "type": "task.voted"})
        if now[1] is not None and before[1] is None:
            events.append({**base, "type": "task.completed"})
        elif now[0] != before[0] and row.decision is None and now[0] not in ("pending", "open"):
            events.append({**base, "type": f"task.{now[0]}"})
        state.tasks[row.id] = now
    return events


async def poll_once(
    client: Client, execution_id: str, state: PollState, sessionmaker=None
) -> tuple[list[dict[str, Any]], dict | None]:
    """(new events, terminal event or None) from one describe + progress query (+ the task inbox)."""
    handle = client.get_workflow_handle(execution_id)
    desc = await handle.describe()
    terminal = None
    if desc.status in _TERMINAL:
        terminal = {"type": f"execution.{_TERMINAL[desc.status]}", "execution_id": execution_id,
                    "status": _TERMINAL[desc.status]}
    fresh: list[dict[str, Any]] = []
    try:
        progress = await asyncio.wait_for(handle.query("progress"), 5)
    except Exception:  # noqa: BLE001 - no worker right now / query unsupported: no node events this round
        progress = None
    if progress is not None:
        events = progress.get("events") or []
        base = int(progress.get("events_dropped") or 0)
        for i, raw in enumerate(events):
            seq = base + i + 1
            if seq > state.cursor:
                fresh.append(node_event(execution_id, seq, raw))
        state.cursor = max(state.cursor, base + len(events))
    fresh += await _task_events(sessionmaker, execution_id, state)
    return fresh, terminal


async def run_poller(client: Client, redis: aioredis.Redis, execution_id: str, owner: str, sessionmaker=None) -> None:
    """Publish this execution's events while holding the poller lock; stop at the end or on loss."""
    saved = await redis.get(_key(execution_id, "poll_state"))
    state = PollState()
    if saved:
        data = json.loads(saved)
        state.cursor, state.tasks = int(data.get("cursor", 0)), dict(data.get("tasks", {}))
    while True:
        try:
            fresh, terminal = await poll_once(client, execution_id, state, sessionmaker)
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            fresh, terminal = [], None
        for ev in fresh:
            await redis.publish(channel_for(execution_id), json.dumps(ev, default=str))
        await redis.set(
            _key(execution_id, "poll_state"), json.dumps({"cursor": state.cursor, "tasks": state.tasks}),
            ex=STATE_TTL_SECONDS,
        )
        if terminal is not None:
            await redis.publish(channel_for(execution_id), json.dumps(terminal))
            await redis.set(_key(execution_id, "terminal"), json.dumps(terminal), ex=STATE_TTL_SECONDS)
            return
        await asyncio.sleep(POLL_INTERVAL_SECONDS)
        if await redis.get(_key(execution_id, "poller")) != owner:  # lost the lock
            return
        await redis.expire(_key(execution_id, "poller"), LOCK_TTL_SECONDS)


async def _direct_stream(client: Client, execution_id: str, state: PollState, sessionmaker) -> AsyncIterator[dict]:
    """No Redis: poll Temporal (and the inbox) from this stream."""
    while True:
        try:
            fresh, terminal = await poll_once(client, execution_id, state, sessionmaker)
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


def _task_key(ev: dict[str, Any]) -> tuple | None:
    if not ev.get("task_id") or not str(ev.get("type", "")).startswith("task."):
        return None
    return (ev["task_id"], ev["type"], ev.get("votes") if ev["type"] == "task.voted" else None)


async def execution_events(
    client: Client, redis_url: str, execution_id: str, *, last_seq: int = 0, sessionmaker=None
) -> AsyncIterator[dict[str, Any] | None]:
    """Events for one execution, node events after ``last_seq``, ending with its ``execution.*`` event.

    Yields ``None`` now and then (the caller sends a keep-alive).
    """
    state = PollState(cursor=last_seq)
    redis = pubsub_redis(redis_url)
    pubsub = redis.pubsub()
    try:
        try:
            await pubsub.subscribe(channel_for(execution_id))
        except (RedisError, OSError) as exc:
            log.info("live events for %s without Redis (%s): polling directly", execution_id, type(exc).__name__)
            async for ev in _direct_stream(client, execution_id, state, sessionmaker):
                yield ev
            return

        # Subscribed first, then catch up from Temporal, so nothing falls between the two.
        try:
            fresh, terminal = await poll_once(client, execution_id, state, sessionmaker)
        except RPCError:
            fresh, terminal = [], None
        shown: set = set()
        for ev in fresh:
            if _task_key(ev) is not None:
                shown.add(_task_key(ev))
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
                    if await redis.set(_key(execution_id, "poller"), owner, nx=True, ex=LOCK_TTL_SECONDS):
                        poller = asyncio.create_task(run_poller(client, redis, execution_id, owner, sessionmaker))
                try:
                    msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
                except (RedisError, OSError) as exc:
                    log.info("live events for %s lost Redis (%s): polling directly", execution_id, type(exc).__name__)
                    async for ev in _direct_stream(client, execution_id, state, sessionmaker):
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
                    if seq <= state.cursor:
                        continue
                    state.cursor = seq
                elif _task_key(ev) is not None:
                    if _task_key(ev) in shown:
                        continue  # the catch-up already showed it
                    shown.add(_task_key(ev))
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
                if await redis.get(_key(execution_id, "poller")) == owner:
                    await redis.delete(_key(execution_id, "poller"))
            except (RedisError, OSError):
                pass
    finally:
        try:
            await pubsub.aclose()
            await redis.aclose()
        except Exception:  # noqa: BLE001
            pass
