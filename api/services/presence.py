"""Who has a workflow open in the designer: heartbeats in Redis with a TTL, published on the live fan-out.

Per (tenant, workflow) two keys: a sorted set ``member -> last heartbeat (epoch s)`` and a hash
``member -> {"user_id", "email", "since"}``. A viewer is a member whose last heartbeat is at most
``PRESENCE_WINDOW_S`` old; stale members are dropped on every write; both keys expire
``KEY_TTL_S`` after the last heartbeat, so an abandoned workflow leaves nothing behind.
Every change of the viewer list is published on ``presence_channel(workflow_id)``.

No HTTP types here.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

PRESENCE_WINDOW_S = 30.0
KEY_TTL_S = 60


@dataclass(frozen=True)
class Viewer:
    user_id: str
    email: str
    since: str


def _keys(tenant_id: str, workflow_id: str) -> tuple[str, str]:
    base = f"wfo:presence:{tenant_id}:{workflow_id}"
    return base, base + ":info"


def presence_channel(workflow_id: str) -> str:
    """The Redis channel carrying ``{"type": "presence", "workflow_id", "viewers"}`` messages."""
    return f"wfo:workflow:{workflow_id}:events"


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


async def _viewers(redis, zkey: str, hkey: str, now: float) -> list[Viewer]:
    members = await redis.zrangebyscore(zkey, now - PRESENCE_WINDOW_S, "+inf")
    if not members:
        return []
    infos = await redis.hmget(hkey, members)
    out = []
    for raw in infos:
        if raw is None:
            continue
        info = json.loads(_text(raw))
        out.append(Viewer(user_id=info["user_id"], email=info["email"], since=info["since"]))
    return sorted(out, key=lambda v: (v.since, v.email))


async def _publish(redis, tenant_id: str, workflow_id: str, viewers: list[Viewer]) -> None:
    await redis.publish(presence_channel(workflow_id), json.dumps(
        {"type": "presence", "tenant_id": tenant_id, "workflow_id": workflow_id,
         "viewers": [asdict(v) for v in viewers]}))


async def heartbeat(redis, *, tenant_id: str, workflow_id: str, user_id: str, email: str,
                    now: float | None = None) -> list[Viewer]:
    """Record that ``user_id`` has the workflow open; the current viewers (including them)."""
    now = time.time() if now is None else now
    zkey, hkey = _keys(tenant_id, workflow_id)
    await redis.zremrangebyscore(zkey, "-inf", now - PRESENCE_WINDOW_S)
    before = await _viewers(redis, zkey, hkey, now)
    known = next((v for v in before if v.user_id == user_id), None)
    since = known.since if known else datetime.fromtimestamp(now, UTC).isoformat()
    pipe = redis.pipeline(transaction=True)
    pipe.zadd(zkey, {user_id: now})
    pipe.hset(hkey, user_id, json.dumps({"user_id": user_id, "email": email, "since": since}))
    pipe.expire(zkey, KEY_TTL_S)
    pipe.expire(hkey, KEY_TTL_S)
    await pipe.execute()
    viewers = await _viewers(redis, zkey, hkey, now)
    if [v.user_id for v in viewers] != [v.user_id for v in before]:
        await _publish(redis, tenant_id, workflow_id, viewers)
    return viewers


async def leave(redis, *, tenant_id: str, workflow_id: str, user_id: str, now: float | None = None) -> list[Viewer]:
    """``user_id`` closed the workflow; the remaining viewers."""
    now = time.time() if now is None else now
    zkey, hkey = _keys(tenant_id, workflow_id)
    pipe = redis.pipeline(transaction=True)
    pipe.zrem(zkey, user_id)
    pipe.hdel(hkey, user_id)
    removed, _ = await pipe.execute()
    viewers = await _viewers(redis, zkey, hkey, now)
    if removed:
        await _publish(redis, tenant_id, workflow_id, viewers)
    return viewers
