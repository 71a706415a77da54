"""Exactly-once inbound webhooks.

The correctness guarantee is Temporal's: a delivery's idempotency key is turned into a
deterministic Temporal workflow id, and the start uses ``REJECT_DUPLICATE`` reuse and
``USE_EXISTING`` conflict policies, so a second delivery with the same key, concurrent or later,
cannot start a second execution. Redis only remembers ``key -> execution id`` to answer repeats
without a round trip to Temporal; losing Redis loses speed, never correctness.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from wfo.redis import SafeRedis

# Headers naming one delivery, in order of preference. Providers retry with the same value.
IDEMPOTENCY_HEADERS = (
    "idempotency-key",
    "x-idempotency-key",
    "x-github-delivery",
    "x-gitlab-event-uuid",
    "x-shopify-webhook-id",
    "webhook-id",  # Standard Webhooks
    "svix-id",
    "x-delivery-id",
    "x-request-id",
)
MAX_KEY_LENGTH = 255
FAST_PATH_TTL_SECONDS = 24 * 3600


def idempotency_key_from_headers(headers: Mapping[str, str]) -> tuple[str, str] | None:
    """(header name, key) of the first delivery-id header present, else None."""
    lower = {k.lower(): v for k, v in headers.items()}
    for name in IDEMPOTENCY_HEADERS:
        value = (lower.get(name) or "").strip()
        if value:
            return name, value[:MAX_KEY_LENGTH]
    return None


def _redis_key(trigger_id: str, key: str) -> str:
    return "wfo:idem:" + hashlib.sha256(f"{trigger_id}\x00{key}".encode()).hexdigest()


async def remembered_execution(redis: SafeRedis, trigger_id: str, key: str) -> str | None:
    """The execution id an earlier delivery with this key started, if Redis remembers it."""
    async def get(r: Any) -> str | None:
        value = await r.get(_redis_key(trigger_id, key))
        return value.decode() if isinstance(value, bytes) else value

    return await redis.call(get, None)


async def remember_execution(redis: SafeRedis, trigger_id: str, key: str, execution_id: str) -> None:
    await redis.call(
        lambda r: r.set(_redis_key(trigger_id, key), execution_id, ex=FAST_PATH_TTL_SECONDS, nx=True), None
    )
