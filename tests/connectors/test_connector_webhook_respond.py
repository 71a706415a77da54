"""`webhook.respond` stores its answer in the real Redis (read back with redis-py); first answer wins."""

from __future__ import annotations

import json

import pytest
import redis.asyncio as aioredis

from connectors.base import ComponentError
from connectors.registry import default_registry
from connectors.webhook_respond import WebhookRespond
from tests.connectors.conftest import FAST_RETRY
from tests.helpers import defn, node
from wfo.hook_responses import response_key
from workflows.validation import validate_definition

C = WebhookRespond()


@pytest.fixture(scope="module", autouse=True)
async def _close():
    yield
    await C.aclose()


async def test_stores_first_answer(vault, redis_url):
    ctx = vault.ctx()
    out = await C.run({"status": 202, "headers": {"X-A": "1"}, "body": {"ok": True}}, ctx)
    assert out == {"responded": True, "status": 202}
    assert (await C.run({"status": 500, "body": "late"}, ctx)) == {"responded": False, "status": 500}
    r = aioredis.from_url(redis_url)
    try:
        stored = json.loads(await r.get(response_key(ctx.execution_id)))
        assert stored == {"status": 202, "headers": {"X-A": "1"}, "body": {"ok": True},
                          "content_type": "application/json"}
        assert 0 < await r.ttl(response_key(ctx.execution_id)) <= 600
    finally:
        await r.delete(response_key(ctx.execution_id))
        await r.aclose()


@pytest.mark.parametrize("headers", [{"Content-Length": "1"}, {"X-Bad": "a\r\nSet-Cookie: x=1"}, {"Bad Name": "x"}])
async def test_unsafe_headers_refused(vault, headers):
    with pytest.raises(ComponentError) as exc:
        await C.run({"headers": headers}, vault.ctx())
    assert exc.value.type == "ConfigError" and not exc.value.retryable


def test_bad_config_names_the_field():
    d = defn([node("start", "start"), node("w", "webhook.respond", status=99), node("end", "end")],
             ["start->w", "w->end"])
    assert [(p.node_id, p.field) for p in validate_definition(d, default_registry())] == [("w", "config.status")]


async def test_redis_down_retryable_then_error_port(vault, run_node, settings):
    settings.redis_url = "redis://127.0.0.1:1/0"
    with pytest.raises(ComponentError) as exc:
        await C.run({"body": "x"}, vault.ctx())
    assert exc.value.retryable and exc.value.type == "WebhookRespondUnavailable"
    flow = await run_node("webhook.respond", {"body": "x"}, retry=FAST_RETRY)
    assert flow.result["error"]["type"] == "WebhookRespondUnavailable" and flow.result["error"]["attempts"] == 2
