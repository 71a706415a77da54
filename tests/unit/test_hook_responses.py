"""A sync webhook's wait is bounded by its timeout even when the result's long poll is slow to cancel."""

from __future__ import annotations

import asyncio
import time

import pytest

from wfo import hook_responses
from wfo.replies import Outcome


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


class RecordingHandle:
    """A finished run: result() answers at once, and records when it was asked."""

    id = "exec-recorded"

    def __init__(self) -> None:
        self.asked_at: list[float] = []

    async def result(self):
        self.asked_at.append(time.perf_counter())
        return {"from": "temporal"}


async def test_an_in_process_reply_means_no_long_poll():
    handle = RecordingHandle()
    reply = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_later(0.05, reply.set_result, Outcome("completed", {"from": "reply"}))
    kind, out = await hook_responses.wait_for_answer(handle, "redis://unused", 5, poll_responses=False, reply=reply,
                                                     fallback_after=1.0)
    assert (kind, out, handle.asked_at) == ("result", {"from": "reply"}, [])
    failed = asyncio.get_running_loop().create_future()
    failed.set_result(Outcome("failed", error="no good"))
    assert await hook_responses.wait_for_answer(handle, "redis://unused", 5, poll_responses=False,
                                                reply=failed) == ("failed", "no good")
    assert handle.asked_at == []


async def test_no_reply_falls_back_to_temporal_after_the_delay_and_a_withdrawn_one_at_once():
    handle = RecordingHandle()
    t0 = time.perf_counter()
    silent = asyncio.get_running_loop().create_future()  # the run went to another worker: nothing comes
    kind, out = await hook_responses.wait_for_answer(handle, "redis://unused", 5, poll_responses=False,
                                                     reply=silent, fallback_after=0.3)
    assert (kind, out) == ("result", {"from": "temporal"})
    assert 0.3 <= handle.asked_at[0] - t0 < 1.0
    withdrawn = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_later(0.05, withdrawn.cancel)
    t0 = time.perf_counter()
    assert (await hook_responses.wait_for_answer(handle, "redis://unused", 5, poll_responses=False,
                                                 reply=withdrawn, fallback_after=3.0))[0] == "result"
    assert handle.asked_at[1] - t0 < 0.5  # asked as soon as the reply was withdrawn, not after 3 s
    never = asyncio.get_running_loop().create_future()
    with pytest.raises(TimeoutError):  # and the overall timeout still bounds it
        await hook_responses.wait_for_answer(SlowToCancelHandle(), "redis://unused", 0.4, poll_responses=False,
                                             reply=never, fallback_after=0.1)
