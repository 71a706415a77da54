"""`webhook.respond`: the HTTP answer (status, headers, body) of the `sync` webhook call that started this
execution, sent while the workflow goes on (like n8n's "Respond to Webhook").

The first `webhook.respond` of an execution wins; later ones (and retries) change nothing. Without a
waiting sync caller (async trigger, manual run, the caller timed out) the response is stored and unused.
Storing it needs the worker's Redis: Redis down is a retryable error.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from connectors.base import ComponentError, NodeContext
from connectors.common import validate_config
from wfo.hook_responses import store_response
from workflows.components import ComponentSpec

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_FORBIDDEN_HEADERS = {"content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "host",
                      "trailer", "te", "proxy-authenticate", "proxy-authorization"}


class WebhookRespond:
    spec: ClassVar[ComponentSpec] = ComponentSpec(
        "webhook.respond", "activity",
        "Answers the sync webhook call that started the execution (status, headers, body); the workflow goes on.",
        {
            "type": "object",
            "properties": {
                "status": {"type": "integer", "minimum": 200, "maximum": 599, "default": 200, "title": "HTTP status"},
                "headers": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 4096}},
                "body": {"title": "Body", "description": "JSON value, or text with a text/* content_type"},
                "content_type": {"type": "string", "default": "application/json"},
            },
            "additionalProperties": False,
        },
        category="communication", title="Respond to webhook", icon="reply",
        output_schema={"type": "object", "required": ["responded"], "properties": {
            "responded": {"type": "boolean", "description": "false when an earlier node had responded already"},
            "status": {"type": "integer"}}},
        idempotent=True,
        docs="Use it in workflows started by a webhook trigger with `response_mode: sync`: the caller gets this "
             "answer as soon as the node runs instead of waiting for the end. The first response of an execution "
             "wins, so retries are harmless.",
        example={"status": 201, "headers": {"X-Order-Id": "{{ nodes.save.row.id }}"},
                 "body": {"accepted": True, "id": "{{ nodes.save.row.id }}"}},
    )

    def __init__(self) -> None:
        self._clients: dict[str, aioredis.Redis] = {}

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    async def run(self, config: dict[str, Any], ctx: NodeContext) -> Any:
        validate_config(self.spec, config)
        headers: dict[str, str] = {}
        for name, value in (config.get("headers") or {}).items():
            if not _TOKEN.match(name) or name.lower() in _FORBIDDEN_HEADERS or any(c in value for c in "\r\n\x00"):
                raise ComponentError(f"webhook.respond: header {name!r} cannot be set", retryable=False,
                                     type="ConfigError", details={"field": f"config.headers.{name}"})
            headers[name] = value
        status = int(config.get("status") or 200)
        response = {"status": status, "headers": headers, "body": config.get("body"),
                    "content_type": config.get("content_type") or "application/json"}
        url = ctx.services.settings.redis_url
        client = self._clients.get(url)
        if client is None:
            client = self._clients[url] = aioredis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
        try:
            stored = await store_response(client, ctx.execution_id, response)
        except (RedisError, OSError) as err:
            raise ComponentError(f"webhook.respond: cannot store the response ({type(err).__name__})",
                                 type="WebhookRespondUnavailable") from None
        return {"responded": stored, "status": status}
