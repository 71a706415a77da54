"""`amqp.publish`: publish one message to RabbitMQ (AMQP 0-9-1, aio-pika) with an `amqp` credential.

Publisher confirms are on: the node completes only once the broker has taken the message (and, with
`mandatory`, routed it to a queue). The message id defaults to the node's idempotency key, stable across
retries, so consumers can drop the duplicate a retry after a lost confirm may produce. Bodies that are
not strings are sent as JSON (`content_type` application/json). One connection per credential and worker.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, ClassVar

import aio_pika
from aio_pika import exceptions as amqperr
from aiormq import exceptions as aiormqerr

from connectors.base import ComponentError, NodeContext
from connectors.common import ClientCache, credential_field, describe_url, server_url, validate_config
from workflows.components import ComponentSpec

DEFAULT_TIMEOUT_SECONDS = 10.0


def _url(values: dict[str, Any]) -> str:
    if values.get("url"):
        return str(values["url"])
    vhost = str(values.get("vhost") or "")
    return server_url(values, "amqp", 5672, path=vhost.replace("/", "%2F") if vhost not in ("", "/") else "")


class AmqpPublish:
    spec: ClassVar[ComponentSpec] = ComponentSpec(
        "amqp.publish", "activity",
        "Publishes a message to a RabbitMQ exchange (or queue) with publisher confirms.",
        {
            "type": "object",
            "required": ["credential", "routing_key"],
            "properties": {
                "credential": credential_field("amqp"),
                "exchange": {"type": "string", "default": "", "title": "Exchange",
                             "description": "empty: the default exchange (routing_key names the queue)"},
                "exchange_type": {"enum": ["direct", "fanout", "topic", "headers"],
                                  "description": "declare the exchange (durable) with this type if missing"},
                "routing_key": {"type": "string", "title": "Routing key"},
                "body": {"title": "Body", "description": "a string, or any JSON value (sent as JSON)"},
                "content_type": {"type": "string"},
                "headers": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
                "message_id": {"type": "string", "minLength": 1, "description": "default: the node's idempotency key"},
                "persistent": {"type": "boolean", "default": True},
                "mandatory": {"type": "boolean", "default": False,
                              "description": "fail when no queue is bound for the routing key"},
                "expiration_seconds": {"type": "number", "exclusiveMinimum": 0},
                "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 300},
            },
            "additionalProperties": False,
        },
        category="integration", title="RabbitMQ publish", icon="send",
        output_schema={"type": "object", "required": ["published", "message_id"], "properties": {
            "published": {"type": "boolean"}, "exchange": {"type": "string"}, "routing_key": {"type": "string"},
            "message_id": {"type": "string"}}},
        idempotent=False,
        docs="At least once: a retry after a lost confirm publishes again with the same `message_id`, so "
             "consumers can deduplicate. Unroutable messages fail the node only with `mandatory`.",
        example={"credential": "broker", "exchange": "orders", "exchange_type": "topic",
                 "routing_key": "order.created", "body": "{{ input }}"},
    )

    def __init__(self) -> None:
        self._connections: ClientCache[aio_pika.abc.AbstractConnection] = ClientCache(lambda c: c.close())

    async def aclose(self) -> None:
        await self._connections.aclose()

    async def run(self, config: dict[str, Any], ctx: NodeContext) -> Any:
        validate_config(self.spec, config)
        values = await ctx.credential(config["credential"], "amqp")
        url = _url(values)
        where = describe_url(url, 5672)
        timeout = float(config.get("timeout_seconds") or DEFAULT_TIMEOUT_SECONDS)
        body = config.get("body")
        content_type = config.get("content_type")
        if isinstance(body, str):
            data = body.encode()
            content_type = content_type or "text/plain"
        else:
            data = json.dumps(body, separators=(",", ":")).encode()
            content_type = content_type or "application/json"
        message_id = str(config.get("message_id") or ctx.idempotency_key)
        message = aio_pika.Message(
            data, content_type=content_type, message_id=message_id, headers=dict(config.get("headers") or {}),
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT if config.get("persistent", True)
            else aio_pika.DeliveryMode.NOT_PERSISTENT,
            expiration=config.get("expiration_seconds"))
        exchange_name = str(config.get("exchange") or "")
        try:
            conn = await asyncio.wait_for(self._connections.get(
                values, lambda: aio_pika.connect(url, timeout=timeout), lambda c: not c.is_closed), timeout)
        except asyncio.CancelledError:
            raise
        except aiormqerr.ProbableAuthenticationError:
            raise ComponentError(f"amqp.publish: authentication to {where} failed", retryable=False,
                                 type="AmqpAuthError") from None
        except BaseException as err:  # noqa: BLE001 - unreachable broker; never leaks the URL
            await self._connections.drop(values)
            raise ComponentError(f"amqp.publish: cannot reach {where}: {type(err).__name__}", retryable=True,
                                 type="AmqpConnectionError") from None
        try:
            async with conn.channel(publisher_confirms=True, on_return_raises=True) as channel:
                if exchange_name == "":
                    exchange = channel.default_exchange
                elif config.get("exchange_type"):
                    exchange = await channel.declare_exchange(exchange_name, config["exchange_type"], durable=True)
                else:
                    exchange = await channel.get_exchange(exchange_name, ensure=True)
                await asyncio.wait_for(exchange.publish(message, routing_key=str(config["routing_key"]),
                                                        mandatory=bool(config.get("mandatory")), timeout=timeout),
                                       timeout + 1)
        except amqperr.DeliveryError as err:
            raise ComponentError(f"amqp.publish: the broker returned the message ({_reason(err)}): no queue bound "
                                 f"for routing key {config['routing_key']!r} on exchange {exchange_name!r}",
                                 retryable=False, type="AmqpUnroutable") from None
        except aiormqerr.ChannelNotFoundEntity:
            raise ComponentError(f"amqp.publish: exchange {exchange_name!r} does not exist on {where} "
                                 "(set exchange_type to declare it)", retryable=False, type="AmqpConfigError") from None
        except (aiormqerr.ChannelPreconditionFailed, aiormqerr.ChannelAccessRefused) as err:
            raise ComponentError(f"amqp.publish on {where}: {type(err).__name__}: {str(err)[:300]}",
                                 retryable=False, type="AmqpConfigError") from None
        except asyncio.CancelledError:
            raise
        except (asyncio.TimeoutError, TimeoutError):
            raise ComponentError(f"amqp.publish: no confirm from {where} within {timeout:g}s", retryable=True,
                                 type="AmqpTimeout") from None
        except (aiormqerr.AMQPConnectionError, ConnectionError, OSError) as err:
            await self._connections.drop(values)
            raise ComponentError(f"amqp.publish: connection to {where} lost: {type(err).__name__}", retryable=True,
                                 type="AmqpConnectionError") from None
        return {"published": True, "exchange": exchange_name, "routing_key": config["routing_key"],
                "message_id": message_id}


def _reason(err: Exception) -> str:
    frame = getattr(err, "frame", None)
    return str(getattr(frame, "reply_text", "") or "returned")
