"""A sync webhook's wait is bounded by its timeout even when the result's long poll is slow to cancel."""

from __future__ import annotations

import asyncio
import time

import pytest

from wfo import hook_responses


class SlowToCancelHandle:
    """A workflow handle whose result() long poll takes 20 s to notice a cancellation."""

    id = "exec-slow-cancel"

    async def result(self):
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await asyncio.shield(asyncio.sleep(20))
            raise


async def test_timeout_answers_on_time_even_if_the_long_poll_lingers(monkeypatch):
    async def nothing_stored(redis_url, execution_id):
        return None

    monkeypatch.setattr(hook_responses, "stored_response", nothing_stored)
    t = time.perf_counter()
    with pytest.raises(TimeoutError):
        await hook_responses.wait_for_answer(SlowToCancelHandle(), "redis://unused", timeout=0.3)
    assert time.perf_counter() - t < 0.3 + hook_responses.CLEANUP_SECONDS + 0.5
