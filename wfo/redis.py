"""A Redis client that never makes correctness depend on Redis.

Every helper built on it degrades to "no answer" when Redis is slow or down: short socket
timeouts, and after a failure Redis is skipped for a cool-down so a dead Redis does not add a
connect timeout to every request.
"""

from __future__ import annotations

import logging
import time
from typing import Awaitable, Callable, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
T = TypeVar("T")


class SafeRedis:
    def __init__(self, url: str, *, timeout: float = 0.25, cooldown: float = 5.0) -> None:
        self.url = url
        self.cooldown = cooldown
        self._down_until = 0.0
        self.redis = aioredis.from_url(
            url,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            health_check_interval=30,
            decode_responses=True,
        )

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def mark_down(self, exc: BaseException) -> None:
        if self.available:
            log.warning("redis unavailable (%s); continuing without it for %.0fs", type(exc).__name__, self.cooldown)
        self._down_until = time.monotonic() + self.cooldown

    async def call(self, fn: Callable[[aioredis.Redis], Awaitable[T]], default: T) -> T:
        """Run ``fn(redis)``; on any Redis/OS error return ``default`` and back off."""
        if not self.available:
            return default
        try:
            return await fn(self.redis)
        except (RedisError, OSError, TimeoutError) as exc:
            self.mark_down(exc)
            return default

    async def close(self) -> None:
        try:
            await self.redis.aclose()
        except Exception:  # noqa: BLE001 - pragma: no cover - best effort
            pass


_clients: dict[str, SafeRedis] = {}


def get_safe_redis(url: str) -> SafeRedis:
    """One shared client per URL (per event loop use; created lazily)."""
    client = _clients.get(url)
    if client is None:
        client = _clients[url] = SafeRedis(url)
    return client


async def close_all() -> None:
    for client in list(_clients.values()):
        await client.close()
    _clients.clear()


__all__ = ["SafeRedis", "get_safe_redis", "close_all"]
