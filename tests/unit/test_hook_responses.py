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


class FinishesHandle:
    id = "exec-finishes"

    async def result(self):
        await asyncio.sleep(0.05)
        return {"ok": True}


async def test_without_a_respond_node_redis_is_never_polled(monkeypatch):
    calls = []

    async def counted(redis_url, execution_id):
        calls.append(execution_id)
        return None

    monkeypatch.setattr(hook_responses, "stored_response", counted)
    kind, out = await hook_responses.wait_for_answer(FinishesHandle(), "redis://unused", 5, poll_responses=False)
    assert (kind, out, calls) == ("result", {"ok": True}, [])
    kind, out = await hook_responses.wait_for_answer(FinishesHandle(), "redis://unused", 5)
    assert (kind, out) == ("result", {"ok": True}) and calls  # polled (and checked once more at the end)


async def test_timeout_without_polling_is_still_bounded(monkeypatch):
    t = time.perf_counter()
    with pytest.raises(TimeoutError):
        await hook_responses.wait_for_answer(SlowToCancelHandle(), "redis://unused", 0.3, poll_responses=False)
    assert time.perf_counter() - t < 0.3 + hook_responses.CLEANUP_SECONDS + 0.5


def test_responds_early_only_with_a_respond_node():
    assert hook_responses.responds_early({"nodes": [{"id": "r", "type": "webhook.respond"}]})
    assert not hook_responses.responds_early({"nodes": [{"id": "s", "type": "start"}]})
    assert not hook_responses.responds_early(None)
