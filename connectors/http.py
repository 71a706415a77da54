"""`http.request`: one HTTP call, idempotent across retries through an Idempotency-Key header."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import httpx

from connectors.base import ComponentError, NodeContext
from wfo.netguard import UnresolvableHostError, UnsafeURLError, guarded_send
from workflows.components import ComponentSpec

RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}


class HttpRequest:
    spec: ClassVar[ComponentSpec] = ComponentSpec(
        "http.request", "activity",
        "Sends an HTTP request; outputs {status, headers, body}.",
        {
            "type": "object",
            "required": ["url"],
            "properties": {
                "method": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]},
                "url": {"type": "string", "minLength": 1},
                "headers": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
                "query": {"type": "object"},
                "json": {},
                "body": {"type": ["string", "null"]},
                "expected_status": {"type": "array", "items": {"type": "integer"}},
                "timeout_seconds": {"type": "number", "exclusiveMinimum": 0},
                "follow_redirects": {"type": "boolean"},
            },
            "not": {"required": ["json", "body"]},
            "additionalProperties": False,
        },
        category="integration", title="HTTP request", icon="globe", idempotent=False,
        output_schema={"type": "object", "properties": {
            "status": {"type": "integer"}, "headers": {"type": "object"}, "body": {}},
            "required": ["status", "headers", "body"], "additionalProperties": False},
        docs="One HTTP call. A JSON response body is decoded, anything else is text. Statuses outside 2xx (or "
             "`expected_status`) fail the node: 408/425/429/5xx are retried, the others not. Every attempt "
             "sends the same `Idempotency-Key` header, so a retried POST can be deduplicated by the server. "
             "Private and loopback addresses are refused unless the worker allows them.",
        example={"method": "POST", "url": "https://api.example.com/orders", "json": "{{ nodes.order }}",
                 "expected_status": [200, 201]},
    )

    async def run(self, config: dict[str, Any], ctx: NodeContext) -> Any:
        settings = ctx.services.settings
        url = str(config["url"])
        method = str(config.get("method") or "GET").upper()
        headers = {str(k): str(v) for k, v in (config.get("headers") or {}).items()}
        headers.setdefault("Idempotency-Key", ctx.idempotency_key)
        kwargs: dict[str, Any] = {"headers": headers, "params": config.get("query") or None}
        if "json" in config:
            kwargs["json"] = config["json"]
        elif config.get("body") is not None:
            kwargs["content"] = str(config["body"]).encode()
        timeout = float(config.get("timeout_seconds") or 30)
        try:
            # one guard for every outbound call: every hop resolved, checked and connected to as checked
            resp = await guarded_send(ctx.services.http, method, url, settings, timeout=timeout,
                                      follow_redirects=bool(config.get("follow_redirects", True)), **kwargs)
        except UnresolvableHostError as err:
            raise ComponentError(f"{method} {url}: {err}", type="UnresolvableHost") from None
        except UnsafeURLError as err:
            raise ComponentError(f"refusing to call {url!r}: {err}", retryable=False, type="ForbiddenAddress") from None
        except httpx.TimeoutException as err:
            raise ComponentError(f"{method} {url}: timed out after {timeout}s", type="HttpTimeout") from err
        except httpx.HTTPError as err:
            raise ComponentError(f"{method} {url}: {type(err).__name__}: {err}", type="HttpConnectionError") from err

        body = _decode_body(resp)
        expected = config.get("expected_status")
        ok = resp.status_code in expected if expected else 200 <= resp.status_code < 300
        result = {"status": resp.status_code, "headers": dict(resp.headers), "body": body}
        if not ok:
            retryable = resp.status_code in RETRYABLE_STATUS
            raise ComponentError(
                f"{method} {url} answered {resp.status_code}" + ("" if retryable else " (not retried)"),
                retryable=retryable, type="HttpStatusError",
                details={"status": resp.status_code, "body": _truncate(body)},
            )
        return result


def _decode_body(resp: httpx.Response) -> Any:
    ctype = resp.headers.get("content-type", "")
    if "json" in ctype:
        try:
            return resp.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            pass
    try:
        return resp.text
    except UnicodeDecodeError:
        return resp.content.hex()


def _truncate(body: Any, limit: int = 2000) -> Any:
    text = body if isinstance(body, str) else json.dumps(body, default=str)
    return text if len(text) <= limit else text[:limit] + "..."
