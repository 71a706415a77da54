"""`nats.publish` against the real local NATS with JetStream (:4222), read back from the stream by nats-py."""

from __future__ import annotations

import asyncio
import json
import uuid

import nats
import pytest

from connectors.base import ComponentError
from connectors.nats_publish import NatsPublish
from connectors.registry import default_registry
from tests.connectors.conftest import FAST_RETRY
from tests.helpers import defn, node
from workflows.validation import validate_definition

CONNECTOR = NatsPublish()
SERVER = {"servers": ["nats://127.0.0.1:4222"]}


@pytest.fixture
async def stream():
    nc = await nats.connect("nats://127.0.0.1:4222")
    js = nc.jetstream()
    name = f"WFO_{uuid.uuid4().hex[:8].upper()}"
    await js.add_stream(name=name, subjects=[f"{name.lower()}.>"])
    yield js, name, name.lower()
    await js.delete_stream(name)
    await nc.close()


async def test_jetstream_publish_acked_and_deduplicated(vault, stream):
    js, name, prefix = stream
    cred = await vault.add("ev", "nats", SERVER)
    ctx = vault.ctx()
    out = await CONNECTOR.run({"credential": cred, "subject": f"{prefix}.created", "payload": {"id": 5},
                               "headers": {"x-src": "wfo"}}, ctx)
    assert out == {"published": True, "subject": f"{prefix}.created", "stream": name, "seq": 1, "duplicate": False}
    again = await CONNECTOR.run({"credential": cred, "subject": f"{prefix}.created", "payload": {"id": 5}},
                                ctx)  # a retry of the same node activation: same idempotency key
    assert again["duplicate"] is True and again["seq"] == 1
    msg = await js.get_msg(name, 1)
    assert json.loads(msg.data) == {"id": 5} and msg.headers["x-src"] == "wfo"
    assert msg.headers["Nats-Msg-Id"] == ctx.idempotency_key
    assert (await js.stream_info(name)).state.messages == 1


async def test_core_publish_reaches_a_subscriber(vault):
    cred = await vault.add("ev2", "nats", SERVER)
    nc = await nats.connect("nats://127.0.0.1:4222")
    subject = f"wfo.core.{uuid.uuid4().hex}"
    sub = await nc.subscribe(subject)
    await nc.flush()
    try:
        out = await CONNECTOR.run({"credential": cred, "subject": subject, "payload": "hi", "jetstream": False},
                                  vault.ctx())
        assert out["published"] is True and out["seq"] is None
        msg = await sub.next_msg(timeout=3)
        assert msg.data == b"hi"
    finally:
        await nc.close()


async def test_no_stream_for_subject_not_retried(vault):
    cred = await vault.add("ev3", "nats", SERVER)
    with pytest.raises(ComponentError) as exc:
        await CONNECTOR.run({"credential": cred, "subject": f"nostream.{uuid.uuid4().hex}", "payload": "x",
                             "timeout_seconds": 2}, vault.ctx())
    assert exc.value.type == "NatsNoStream" and not exc.value.retryable


def test_bad_config_names_the_field():
    d = defn([node("start", "start"), node("p", "nats.publish", credential="c", subject="a.>"), node("end", "end")],
             ["start->p", "p->end"])
    problems = validate_definition(d, default_registry())
    assert [(p.node_id, p.field) for p in problems] == [("p", "config.subject")]


async def test_peer_down_retryable_then_error_port(vault, run_node):
    cred = await vault.add("ev-down", "nats", {"servers": ["nats://127.0.0.1:1"], "token": "nats-tok-1"})
    with pytest.raises(ComponentError) as exc:
        await CONNECTOR.run({"credential": cred, "subject": "a.b", "payload": "x", "timeout_seconds": 2}, vault.ctx())
    assert exc.value.retryable and exc.value.type == "NatsConnectionError"
    flow = await run_node("nats.publish", {"credential": cred, "subject": "a.b", "payload": "x",
                                           "timeout_seconds": 2}, retry=FAST_RETRY)
    assert flow.result["error"]["type"] == "NatsConnectionError" and flow.result["error"]["attempts"] == 2


async def test_in_a_workflow(vault, run_node, stream):
    js, name, prefix = stream
    cred = await vault.add("ev-wf", "nats", SERVER)
    flow = await run_node("nats.publish", {"credential": cred, "subject": f"{prefix}.wf", "payload": "{{ input }}"},
                          input={"k": "v"})
    assert flow.result["ok"]["stream"] == name
    msg = await asyncio.wait_for(js.get_msg(name, flow.result["ok"]["seq"]), 5)
    assert json.loads(msg.data) == {"k": "v"}
