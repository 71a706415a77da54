"""`mqtt.publish`: publish one message to an MQTT broker (aiomqtt) with an `mqtt` credential.

QoS 1 and 2 wait for the broker's acknowledgement before the node completes; QoS 0 is fire-and-forget.
Bodies that are not strings are sent as JSON. Each run opens its own short connection (MQTT connects
in one round trip), so no connection outlives the activity. Connection failures and missing acks are
retried; a refused login or an invalid topic is not.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from typing import Any, ClassVar

import aiomqtt

from connectors.base import ComponentError, NodeContext
from connectors.common import credential_field, validate_config
from workflows.components import ComponentSpec

DEFAULT_TIMEOUT_SECONDS = 10.0
_AUTH_CODES = {4, 5, 134, 135}  # bad user name or password / not authorized (MQTT 3.1.1 and 5)


class MqttPublish:
    spec: ClassVar[ComponentSpec] = ComponentSpec(
        "mqtt.publish", "activity",
        "Publishes a message to an MQTT topic (QoS 0, 1 or 2, optionally retained).",
        {
            "type": "object",
            "required": ["credential", "topic"],
            "properties": {
                "credential": credential_field("mqtt"),
                "topic": {"type": "string", "minLength": 1, "pattern": "^[^#+]+$", "title": "Topic",
                          "description": "no wildcards (+, #) when publishing"},
                "payload": {"title": "Payload", "description": "a string, or any JSON value (sent as JSON)"},
                "qos": {"enum": [0, 1, 2], "default": 1},
                "retain": {"type": "boolean", "default": False},
                "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 300},
            },
            "additionalProperties": False,
        },
        category="integration", title="MQTT publish", icon="radio",
        output_schema={"type": "object", "required": ["published"], "properties": {
            "published": {"type": "boolean"}, "topic": {"type": "string"}, "qos": {"type": "integer"},
            "bytes": {"type": "integer"}}},
        idempotent=False,
        docs="QoS 1/2 complete once the broker acknowledged; a retry after a lost acknowledgement may deliver "
             "twice (QoS 2 deduplicates within one session only). `retain` keeps the last message for new "
             "subscribers: publishing the same retained message twice is idempotent.",
        example={"credential": "plant-broker", "topic": "plant/line1/alerts", "payload": "{{ input }}", "qos": 1},
    )

    async def run(self, config: dict[str, Any], ctx: NodeContext) -> Any:
        validate_config(self.spec, config)
        values = await ctx.credential(config["credential"], "mqtt")
        host, port = str(values["host"]), int(values.get("port") or 1883)
        where = f"{host}:{port}"
        timeout = float(config.get("timeout_seconds") or DEFAULT_TIMEOUT_SECONDS)
        payload = config.get("payload")
        data = payload.encode() if isinstance(payload, str) else json.dumps(payload, separators=(",", ":")).encode()
        qos = int(config.get("qos", 1))
        try:
            async with asyncio.timeout(timeout + 1):
                async with aiomqtt.Client(
                        host, port, username=values.get("username") or None, password=values.get("password") or None,
                        identifier=values.get("client_id") or None, timeout=timeout,
                        tls_context=ssl.create_default_context() if values.get("tls") else None) as client:
                    await client.publish(config["topic"], data, qos=qos, retain=bool(config.get("retain")),
                                         timeout=timeout)
        except aiomqtt.MqttCodeError as err:
            if err.rc in _AUTH_CODES or getattr(err.rc, "value", None) in _AUTH_CODES:
                raise ComponentError(f"mqtt.publish: {where} refused the login ({err.rc})", retryable=False,
                                     type="MqttAuthError") from None
            raise ComponentError(f"mqtt.publish to {where}: {str(err)[:300]}", retryable=True,
                                 type="MqttError") from None
        except (aiomqtt.MqttError, OSError, TimeoutError) as err:
            raise ComponentError(f"mqtt.publish: cannot publish to {where}: {type(err).__name__}: {str(err)[:200]}",
                                 retryable=True, type="MqttConnectionError") from None
        return {"published": True, "topic": config["topic"], "qos": qos, "bytes": len(data)}
