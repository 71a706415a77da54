"""Per-trigger rate limits in Redis (fixed one-second or one-minute windows).

Fails open: with Redis down nothing is limited, which keeps accepting webhooks (the issue's
rule: correctness must not depend on Redis).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from wfo.redis import SafeRedis


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    retry_after: int = 0
    count: int = 0


async def hit(redis: SafeRedis, bucket: str, limit: int, window_seconds: int = 60) -> RateDecision:
    """Count one request in ``bucket``; refuse past ``limit`` per window."""
    if limit <= 0:
        return RateDecision(True)
    now = time.time()
    window = int(now // window_seconds)
    key = f"wfo:rl:{bucket}:{window_seconds}:{window}"

    async def _incr(r) -> int:
        async with r.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, window_seconds + 1)
            count, _ = await pipe.execute()
        return int(count)

    count = await redis.call(_incr, 0)
    if count == 0:  # Redis unavailable: fail open
        return RateDecision(True)
    if count > limit:
        retry_after = max(1, int((window + 1) * window_seconds - now + 0.999))
        return RateDecision(False, retry_after=retry_after, count=count)
    return RateDecision(True, count=count)
