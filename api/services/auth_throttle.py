"""Throttling of failed logins and failed API keys, per account and per client address.

Rules (settings `max_login_attempts`, `max_login_attempts_per_address`, `login_lockout_seconds`):
- each failure counts against every key it names (`acct:<email>`, `addr:<ip>`, `apikey:<ip>`...); the count
  lives for `login_lockout_seconds` from the first failure of its window;
- a key that reached its limit is locked until its window ends: every attempt on it, even with the right
  password, is refused with 429 and `Retry-After` (seconds left), without checking the password;
- a successful login clears the account's count (not the address's).

Storage: Redis (one INCR + EXPIRE NX per key). When Redis is down the counters live in Postgres
(`auth_throttle`, an upsert per key), so an outage never turns the limiter off (no silent fail-open). If
Postgres is down as well, login cannot look the user up either and answers 503.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from wfo.errors import RateLimited
from wfo.redis import SafeRedis
from wfo.settings import Settings

log = logging.getLogger("wfo.api.auth_throttle")

_MISSING = object()


@dataclass(frozen=True)
class Limit:
    key: str
    limit: int


class Throttled(RateLimited):
    """A key is locked (429 + Retry-After through api.errors). `retry_after`: whole seconds until it unlocks."""

    def __init__(self, retry_after: int, what: str):
        retry_after = max(1, retry_after)
        super().__init__(f"too many failed attempts for this {what}; try again in {retry_after} s",
                         retry_after=retry_after)
        self.what = what


def login_limits(settings: Settings, email: str, address: str | None) -> list[Limit]:
    limits = [Limit(f"acct:{email[:320]}", settings.max_login_attempts)]
    if address:
        limits.append(Limit(f"addr:{address}", settings.max_login_attempts_per_address))
    return limits


def api_key_limits(settings: Settings, address: str | None) -> list[Limit]:
    return [Limit(f"apikey:{address or 'unknown'}", settings.max_login_attempts_per_address)]


class AuthThrottle:
    def __init__(self, settings: Settings, redis: SafeRedis, session: AsyncSession):
        self.window = max(1, int(settings.login_lockout_seconds))
        self.redis = redis
        self.session = session

    async def check(self, limits: list[Limit]) -> None:
        """Raise Throttled if any of `limits` is locked."""
        for lim in limits:
            if lim.limit <= 0:
                continue
            count, ttl = await self._get(lim.key)
            if count >= lim.limit and ttl > 0:
                raise Throttled(ttl, lim.key.split(":", 1)[0].replace("acct", "account").replace("addr", "address")
                                .replace("apikey", "address"))

    async def failure(self, limits: list[Limit]) -> None:
        for lim in limits:
            if lim.limit > 0:
                await self._incr(lim.key)

    async def success(self, limits: list[Limit]) -> None:
        for lim in limits:
            if lim.key.startswith("acct:"):
                await self._clear(lim.key)

    # ------------------------------------------------------------ storage

    async def _get(self, key: str) -> tuple[int, int]:
        rkey = "wfo:auth:" + key

        async def get(r):
            async with r.pipeline(transaction=False) as pipe:
                pipe.get(rkey)
                pipe.ttl(rkey)
                count, ttl = await pipe.execute()
            return int(count or 0), int(ttl if ttl and ttl > 0 else 0)

        got = await self.redis.call(get, _MISSING)
        if got is not _MISSING:
            return got  # type: ignore[return-value]
        row = (await self.session.exec(
            text("SELECT failures, EXTRACT(EPOCH FROM expires_at - now()) FROM auth_throttle "
                 "WHERE key = :k AND expires_at > now()").bindparams(k=key))).first()
        return (int(row[0]), int(float(row[1]) + 0.999)) if row else (0, 0)

    async def _incr(self, key: str) -> None:
        rkey = "wfo:auth:" + key

        async def incr(r):
            async with r.pipeline(transaction=True) as pipe:
                pipe.incr(rkey)
                pipe.expire(rkey, self.window, nx=True)
                await pipe.execute()
            return True

        if await self.redis.call(incr, False):
            return
        await self.session.exec(text(
            "INSERT INTO auth_throttle (key, failures, expires_at) "
            "VALUES (:k, 1, now() + make_interval(secs => :w)) ON CONFLICT (key) DO UPDATE SET "
            "failures = CASE WHEN auth_throttle.expires_at <= now() THEN 1 ELSE auth_throttle.failures + 1 END, "
            "expires_at = CASE WHEN auth_throttle.expires_at <= now() THEN EXCLUDED.expires_at "
            "ELSE auth_throttle.expires_at END").bindparams(k=key, w=self.window))
        await self.session.exec(text("DELETE FROM auth_throttle WHERE expires_at < now() - interval '1 day'"))
        await self.session.commit()

    async def _clear(self, key: str) -> None:
        rkey = "wfo:auth:" + key

        async def delete(r):
            await r.delete(rkey)
            return True

        await self.redis.call(delete, False)
        try:  # a count kept while Redis was down must not outlive a success either
            await self.session.exec(text("DELETE FROM auth_throttle WHERE key = :k").bindparams(k=key))
            await self.session.commit()
        except SQLAlchemyError as exc:  # pragma: no cover - the login itself needed the database
            log.warning("clearing a login throttle failed: %s", type(exc).__name__)


__all__ = ["AuthThrottle", "Limit", "Throttled", "api_key_limits", "login_limits"]
