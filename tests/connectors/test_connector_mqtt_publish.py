"""`mqtt.publish` against the real local Mosquitto (:1883), read back by a subscribing MQTT client."""

from __future__ import annotations

import asyncio
import json
import uuid

import aiomqtt
import pytest

from connectors.base import ComponentError
from connectors.mqtt_publish import MqttPublish
from connectors.registry import default_registry
from tests.connectors.conftest import FAST_RETRY
from tests.helpers import defn, node
from workflows.validation import validate_definition

CONNECTOR = MqttPublish()


async def _receive(topic: str, publish, count: int = 1) -> list[aiomqtt.Message]:
    async with aiomqtt.Client("127.0.0.1", 1883) as sub:
        await sub.subscribe(topic, qos=1)
        await publish()
        got = []
        async with asyncio.timeout(5):
            async for msg in sub.messages:
                got.append(msg)
                if len(got) == count:
                    return got
    return got


async def test_publish_then_subscriber_receives(vault):
    cred = await vault.add("mq", "mqtt", {"host": "127.0.0.1", "port": 1883})
    topic = f"wfo/test/{uuid.uuid4().hex}"
    outs = []

    async def publish():
        outs.append(await CONNECTOR.run({"credential": cred, "topic": topic, "payload": {"t": 21.5}, "qos": 1},
                                        vault.ctx()))
        outs.append(await CONNECTOR.run({"credential": cred, "topic": topic, "payload": "plain", "qos": 2},
                                        vault.ctx()))

    msgs = await _receive(topic, publish, 2)
    assert [json.loads(msgs[0].payload), msgs[1].payload] == [{"t": 21.5}, b"plain"]
    assert msgs[0].qos == 1
    assert outs[0] == {"published": True, "topic": topic, "qos": 1, "bytes": 10}


async def test_retained_message_seen_by_a_later_subscriber(vault):
    cred = await vault.add("mq2", "mqtt", {"host": "127.0.0.1"})
    topic = f"wfo/test/{uuid.uuid4().hex}"
    await CONNECTOR.run({"credential": cred, "topic": topic, "payload": "last", "retain": True}, vault.ctx())

    async def nothing():
        pass

    [msg] = await _receive(topic, nothing)
    assert msg.payload == b"last" and msg.retain
    await CONNECTOR.run({"credential": cred, "topic": topic, "payload": "", "retain": True}, vault.ctx())  # clear


def test_bad_config_names_the_field():
    d = defn([node("start", "start"), node("m", "mqtt.publish", credential="c", topic="a/#"), node("end", "end")],
             ["start->m", "m->end"])
    problems = validate_definition(d, default_registry())
    assert [(p.node_id, p.field) for p in problems] == [("m", "config.topic")]


async def test_peer_down_retryable_then_error_port(vault, run_node):
    cred = await vault.add("mq-down", "mqtt", {"host": "127.0.0.1", "port": 1, "password": "mqtt-pw-1"})
    with pytest.raises(ComponentError) as exc:
        await CONNECTOR.run({"credential": cred, "topic": "t", "payload": "x", "timeout_seconds": 2}, vault.ctx())
    assert exc.value.retryable and exc.value.type == "MqttConnectionError"
    flow = await run_node("mqtt.publish", {"credential": cred, "topic": "t", "payload": "x", "timeout_seconds": 2},
                          retry=FAST_RETRY)
    assert flow.result["error"]["type"] == "MqttConnectionError" and flow.result["error"]["attempts"] == 2


async def test_in_a_workflow(vault, run_node):
    cred = await vault.add("mq-wf", "mqtt", {"host": "127.0.0.1"})
    topic = f"wfo/test/{uuid.uuid4().hex}"
    flows = []

    async def publish():
        flows.append(await run_node("mqtt.publish", {"credential": cred, "topic": topic, "payload": "{{ input }}"},
                                    input={"v": 1}))

    [msg] = await _receive(topic, publish)
    assert json.loads(msg.payload) == {"v": 1} and flows[0].result["ok"]["published"] is True
