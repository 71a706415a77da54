"""`amqp.publish` against the real local RabbitMQ (:5672, guest/guest), read back by an aio-pika consumer."""

from __future__ import annotations

import asyncio
import json
import uuid

import aio_pika
import pytest

from connectors.amqp_publish import AmqpPublish
from connectors.base import ComponentError
from connectors.registry import default_registry
from tests.connectors.conftest import FAST_RETRY
from tests.helpers import defn, node
from workflows.validation import validate_definition

CONNECTOR = AmqpPublish()
BROKER = {"host": "127.0.0.1", "port": 5672, "username": "guest", "password": "guest"}


@pytest.fixture(scope="module", autouse=True)
async def _close():
    yield
    await CONNECTOR.aclose()


@pytest.fixture
async def channel():
    conn = await aio_pika.connect("amqp://guest:guest@127.0.0.1:5672/")
    ch = await conn.channel()
    yield ch
    await conn.close()


async def _get(queue, timeout=5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        msg = await queue.get(no_ack=True, fail=False)
        if msg is not None:
            return msg
        assert asyncio.get_running_loop().time() < deadline, "no message"
        await asyncio.sleep(0.05)


async def test_publish_to_queue_and_topic_exchange(vault, channel):
    cred = await vault.add("broker", "amqp", BROKER)
    qname = f"wfo-test-{uuid.uuid4().hex[:8]}"
    queue = await channel.declare_queue(qname, auto_delete=True)
    ctx = vault.ctx()
    out = await CONNECTOR.run({"credential": cred, "routing_key": qname, "body": {"order": 7},
                               "headers": {"x-src": "wfo"}}, ctx)
    assert out == {"published": True, "exchange": "", "routing_key": qname, "message_id": ctx.idempotency_key}
    msg = await _get(queue)
    assert json.loads(msg.body) == {"order": 7} and msg.content_type == "application/json"
    assert msg.message_id == ctx.idempotency_key and msg.headers["x-src"] == "wfo"
    assert msg.delivery_mode == aio_pika.DeliveryMode.PERSISTENT

    exname = f"wfo-ex-{uuid.uuid4().hex[:8]}"
    await CONNECTOR.run({"credential": cred, "exchange": exname, "exchange_type": "topic",
                         "routing_key": "x.created", "body": "declared"}, vault.ctx())  # unrouted, not mandatory
    exchange = await channel.get_exchange(exname)
    await queue.bind(exchange, "order.*")
    await CONNECTOR.run({"credential": cred, "exchange": exname, "routing_key": "order.created", "body": "hi"},
                        vault.ctx())
    msg = await _get(queue)
    assert msg.body == b"hi" and msg.routing_key == "order.created"
    await exchange.delete()


async def test_unroutable_mandatory_and_missing_exchange_not_retried(vault):
    cred = await vault.add("broker2", "amqp", {"url": "amqp://guest:guest@127.0.0.1:5672/"})
    with pytest.raises(ComponentError) as exc:
        await CONNECTOR.run({"credential": cred, "routing_key": f"nobody-{uuid.uuid4().hex}", "body": "x",
                             "mandatory": True}, vault.ctx())
    assert exc.value.type == "AmqpUnroutable" and not exc.value.retryable
    with pytest.raises(ComponentError) as exc:
        await CONNECTOR.run({"credential": cred, "exchange": f"missing-{uuid.uuid4().hex}", "routing_key": "k",
                             "body": "x"}, vault.ctx())
    assert exc.value.type == "AmqpConfigError" and not exc.value.retryable
    # the connection survives a channel error
    qname = f"wfo-test-{uuid.uuid4().hex[:8]}"
    assert (await CONNECTOR.run({"credential": cred, "routing_key": qname, "body": "ok"}, vault.ctx()))["published"]


async def test_wrong_password_not_retried(vault):
    cred = await vault.add("broker-bad", "amqp", {**BROKER, "password": "wrong-amqp-pw"})
    with pytest.raises(ComponentError) as exc:
        await CONNECTOR.run({"credential": cred, "routing_key": "q", "body": "x"}, vault.ctx())
    assert exc.value.type == "AmqpAuthError" and not exc.value.retryable
    assert "wrong-amqp-pw" not in exc.value.message


def test_bad_config_names_the_field():
    d = defn([node("start", "start"), node("p", "amqp.publish", credential="b", routing_key="q",
                                           exchange_type="fanoutish"), node("end", "end")], ["start->p", "p->end"])
    problems = validate_definition(d, default_registry())
    assert [(p.node_id, p.field) for p in problems] == [("p", "config.exchange_type")]


async def test_peer_down_retryable_then_error_port(vault, run_node):
    cred = await vault.add("broker-down", "amqp", {**BROKER, "port": 1})
    with pytest.raises(ComponentError) as exc:
        await CONNECTOR.run({"credential": cred, "routing_key": "q", "body": "x", "timeout_seconds": 2}, vault.ctx())
    assert exc.value.retryable and exc.value.type == "AmqpConnectionError"
    flow = await run_node("amqp.publish", {"credential": cred, "routing_key": "q", "body": "x", "timeout_seconds": 2},
                          retry=FAST_RETRY)
    assert flow.result["error"]["type"] == "AmqpConnectionError" and flow.result["error"]["attempts"] == 2


async def test_in_a_workflow(vault, run_node, channel):
    cred = await vault.add("broker-wf", "amqp", BROKER)
    qname = f"wfo-test-{uuid.uuid4().hex[:8]}"
    queue = await channel.declare_queue(qname, auto_delete=True)
    flow = await run_node("amqp.publish", {"credential": cred, "routing_key": qname, "body": "{{ input }}"},
                          input={"n": 1})
    assert flow.result["ok"]["published"] is True
    msg = await _get(queue)
    assert json.loads(msg.body) == {"n": 1} and msg.message_id == flow.result["ok"]["message_id"]
