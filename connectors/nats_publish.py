"""`nats.publish`: publish one message to NATS with a `nats` credential; JetStream by default (the node
completes on the stream's ack: stream name and sequence in the output).

The JetStream message id (`Nats-Msg-Id`) defaults to the node's idempotency key, stable across retries:
the stream drops a retried duplicate inside its duplicate window (`duplicate: true` in the output), so a
retry after a lost ack does not store the message twice. With `jetstream: false` it is a core NATS
publish, flushed to the server (at most once). Each run opens its own connection.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, ClassVar

import nats
from nats import errors as natserr
from nats.js import errors as jserr

from connectors.base import ComponentError, NodeContext
from connectors.common import credential_field, validate_config
from workflows.components import ComponentSpec

DEFAULT_TIMEOUT_SECONDS = 10.0


async def _quiet(err: Exception) -> None:
    """nats-py logs every failed connect with a traceback by default; errors are raised to us anyway."""


class NatsPublish:
    spec: ClassVar[ComponentSpec] = ComponentSpec(
        "nats.publish", "activity",
        "Publishes a message to a NATS subject; with JetStream (default) waits for the stream's ack.",
        {
            "type": "object",
            "required": ["credential", "subject"],
            "properties": {
                "credential": credential_field("nats"),
                "subject": {"type": "string", "minLength": 1, "pattern": "^[^\\s*>]+$", "title": "Subject"},
                "payload": {"title": "Payload", "description": "a string, or any JSON value (sent as JSON)"},
                "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                "jetstream": {"type": "boolean", "default": True},
                "stream": {"type": "string", "minLength": 1, "description": "JetStream: expect this stream"},
                "msg_id": {"type": "string", "minLength": 1, "description": "JetStream dedup id "
                                                                          "(default: the node's idempotency key)"},
                "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 300},
            },
            "additionalProperties": False,
        },
        category="integration", title="NATS publish", icon="zap",
        output_schema={"type": "object", "required": ["published"], "properties": {
            "published": {"type": "boolean"}, "subject": {"type": "string"}, "stream": {"type": ["string", "null"]},
            "seq": {"type": ["integer", "null"]}, "duplicate": {"type": "boolean"}}},
        idempotent=True,
        docs="JetStream publishes are deduplicated by `msg_id` within the stream's duplicate window, so retries "
             "are safe; core publishes (`jetstream: false`) are at most once and not idempotent. A subject "
             "no stream captures fails the node (not retried).",
        example={"credential": "events", "subject": "orders.created", "payload": "{{ input }}"},
    )

    async def run(self, config: dict[str, Any], ctx: NodeContext) -> Any:
        validate_config(self.spec, config)
        values = await ctx.credential(config["credential"], "nats")
        servers = list(values["servers"])
        where = ", ".join(s.split("@")[-1] for s in servers)
        timeout = float(config.get("timeout_seconds") or DEFAULT_TIMEOUT_SECONDS)
        payload = config.get("payload")
        data = payload.encode() if isinstance(payload, str) else json.dumps(payload, separators=(",", ":")).encode()
        headers = {str(k): str(v) for k, v in (config.get("headers") or {}).items()}
        jetstream = config.get("jetstream", True)
        subject = str(config["subject"])
        try:
            # max_reconnect_attempts=1: with 0 nats-py retries the initial connect forever
            nc = await asyncio.wait_for(nats.connect(
                servers=servers, user=values.get("user"), password=values.get("password"), token=values.get("token"),
                connect_timeout=timeout, allow_reconnect=False, max_reconnect_attempts=1, reconnect_time_wait=0.2,
                error_cb=_quiet, name=f"wfo:{ctx.node_id}"), timeout + 5)
        except (natserr.NoServersError, OSError, TimeoutError, natserr.TimeoutError) as err:
            raise ComponentError(f"nats.publish: cannot reach {where}: {type(err).__name__}", retryable=True,
                                 type="NatsConnectionError") from None
        except natserr.Error as err:
            auth = "authorization" in str(err).lower()
            raise ComponentError(f"nats.publish: {where}: {'authorization failed' if auth else type(err).__name__}",
                                 retryable=not auth, type="NatsAuthError" if auth else "NatsConnectionError") from None
        try:
            if not jetstream:
                await nc.publish(subject, data, headers=headers or None)
                await nc.flush(timeout=max(1, int(timeout)))
                return {"published": True, "subject": subject, "stream": None, "seq": None, "duplicate": False}
            msg_id = str(config.get("msg_id") or ctx.idempotency_key)
            ack = await nc.jetstream(timeout=timeout).publish(
                subject, data, timeout=timeout, stream=config.get("stream"), headers={**headers, "Nats-Msg-Id": msg_id})
            return {"published": True, "subject": subject, "stream": ack.stream, "seq": ack.seq,
                    "duplicate": bool(ack.duplicate)}
        except (natserr.NoRespondersError, jserr.NoStreamResponseError):
            raise ComponentError(f"nats.publish: no JetStream stream captures subject {subject!r} on {where}",
                                 retryable=False, type="NatsNoStream") from None
        except jserr.APIError as err:
            raise ComponentError(f"nats.publish on {where}: {err.description or type(err).__name__}"
                                 f" (code {err.err_code})", retryable=False, type="NatsJetStreamError") from None
        except (natserr.TimeoutError, TimeoutError):
            raise ComponentError(f"nats.publish: no ack from {where} within {timeout:g}s", retryable=True,
                                 type="NatsTimeout") from None
        except (natserr.ConnectionClosedError, OSError) as err:
            raise ComponentError(f"nats.publish: connection to {where} lost: {type(err).__name__}", retryable=True,
                                 type="NatsConnectionError") from None
        finally:
            try:
                await nc.close()
            except Exception:  # noqa: BLE001 - already closed
                pass
