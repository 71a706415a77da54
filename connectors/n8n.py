"""`n8n.execute`: call an n8n workflow through its Webhook trigger (`<base_url>/webhook/<path>`).

`mode: sync` waits for the workflow's answer (a Webhook node set to respond "when last node finishes" or
"using Respond to Webhook"); `mode: async` expects n8n's immediate acknowledgement (a Webhook node set to
respond "immediately": `{"message": "Workflow was started"}`) and continues.

The `n8n_api` credential gives `base_url` and the authentication the webhook checks: `api_key` is sent as
`X-N8N-API-KEY`, `username`/`password` as HTTP basic auth. Errors map to the node's `error` port; only
"n8n is unreachable or overloaded" is retried: a timed-out or failed n8n execution is not re-run, since
the workflow on the n8n side may already have done its work.
"""

from __future__ import annotations

import base64
import json
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from connectors.base import ComponentError, NodeContext
from connectors.http import _truncate
from wfo.netguard import UnresolvableHostError, UnsafeURLError, guarded_send
from workflows.components import ComponentSpec

RETRYABLE_STATUS = {429, 502, 503, 504}


class N8nExecute:
    spec: ClassVar[ComponentSpec] = ComponentSpec(
        "n8n.execute", "activity", "Runs an n8n workflow through its webhook (sync: waits for its answer).",
        {
            "type": "object", "required": ["path"], "additionalProperties": False,
            "anyOf": [{"required": ["credential"]}, {"required": ["base_url"]}],
            "properties": {
                "credential": {"type": "string", "minLength": 1, "title": "n8n credential",
                               "description": "Name of an `n8n_api` credential (base URL and API key or "
                                              "basic auth)."},
                "base_url": {"type": "string", "pattern": "^https?://", "title": "n8n base URL",
                             "description": "e.g. http://n8n:5678 (when no credential gives it)."},
                "path": {"type": "string", "minLength": 1, "title": "Webhook path",
                         "description": "The path of the workflow's Webhook node (after /webhook/)."},
                "method": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"], "default": "POST"},
                "mode": {"enum": ["sync", "async"], "default": "sync", "title": "Mode",
                         "description": "sync: wait for the workflow's answer; async: n8n acknowledges at once."},
                "data": {"title": "Data", "description": "JSON body (query parameters for GET)."},
                "query": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
                "headers": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
                "test": {"type": "boolean", "default": False,
                         "description": "Call the editor's test URL (/webhook-test/) instead."},
                "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 3600,
                                    "description": "Default 300 (sync) or 30 (async)."},
            },
        },
        category="advanced", title="n8n workflow", icon="workflow", idempotent=False,
        output_schema={"type": "object", "required": ["status", "body"], "properties": {
            "status": {"type": "integer"}, "body": {}, "started": {"type": "boolean"}}},
        docs="Calls an n8n workflow by its Webhook node: `POST <base_url>/webhook/<path>` with `data` as JSON. "
             "`sync` outputs `{status, body}` with the workflow's answer; `async` outputs `{status, body, "
             "started: true}` once n8n has acknowledged. Errors go to the `error` port: N8nWebhookNotFound "
             "(404: workflow inactive or wrong path), N8nAuthError (401/403), N8nWorkflowError (500: the n8n "
             "execution failed), N8nTimeout, N8nUnavailable (connection refused, 429/502/503/504: retried).",
        example={"credential": "n8n-prod", "path": "orders/new", "mode": "sync",
                 "data": {"order_id": "{{ input.id }}"}},
    )

    async def run(self, config: dict[str, Any], ctx: NodeContext) -> Any:
        cred: dict[str, Any] = {}
        if config.get("credential"):
            cred = await ctx.credential(str(config["credential"]), "n8n_api")
        base = str(config.get("base_url") or cred.get("base_url") or "").rstrip("/")
        if not base:
            raise ComponentError("n8n.execute needs a base URL (config.base_url or the credential's base_url)",
                                 retryable=False, type="BadConfig")
        path = "/".join(quote(part, safe="") for part in str(config["path"]).strip("/").split("/"))
        url = f"{base}/{'webhook-test' if config.get('test') else 'webhook'}/{path}"
        method = str(config.get("method") or "POST").upper()
        mode = config.get("mode") or "sync"
        headers = {str(k): str(v) for k, v in (config.get("headers") or {}).items()}
        headers.setdefault("Idempotency-Key", ctx.idempotency_key)
        if cred.get("api_key"):
            headers["X-N8N-API-KEY"] = str(cred["api_key"])
        if cred.get("username"):
            pair = f"{cred['username']}:{cred.get('password') or ''}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        params = dict(config.get("query") or {})
        body: Any = None
        if "data" in config:
            if method in ("GET", "HEAD"):
                if not isinstance(config["data"], dict):
                    raise ComponentError("for GET, 'data' must be an object (sent as query parameters)",
                                         retryable=False, type="BadConfig")
                params.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in config["data"].items()})
            else:
                body = config["data"]
        timeout = float(config.get("timeout_seconds") or (300 if mode == "sync" else 30))
        where = f"n8n webhook {method} /{'webhook-test' if config.get('test') else 'webhook'}/{path}"
        try:  # the project's one SSRF guard: resolved, checked, connected to as checked; no redirects
            resp = await guarded_send(ctx.services.http, method, url, ctx.services.settings, headers=headers,
                                      params=params or None, json=body, timeout=timeout, follow_redirects=False)
        except UnresolvableHostError as err:
            raise ComponentError(f"{where}: {err}", type="N8nUnavailable") from None
        except UnsafeURLError as err:
            raise ComponentError(f"refusing to call {url!r}: {err}", retryable=False, type="ForbiddenAddress") from None
        except httpx.ConnectError as err:
            raise ComponentError(f"{where}: n8n is unreachable ({err})", type="N8nUnavailable") from err
        except httpx.TimeoutException as err:
            # the request reached n8n: its workflow may be running, so do not start it again
            raise ComponentError(f"{where}: no answer within {timeout:g}s (the n8n workflow may still run)",
                                 retryable=False, type="N8nTimeout") from err
        except httpx.HTTPError as err:
            raise ComponentError(f"{where}: {type(err).__name__}: {err}", type="N8nUnavailable") from err
        body = _body(resp)
        status = resp.status_code
        if 200 <= status < 300:
            out = {"status": status, "body": body}
            if mode == "async":
                out["started"] = True
            return out
        detail = body.get("message") if isinstance(body, dict) else None
        hint = body.get("hint") if isinstance(body, dict) else None
        text = f"{where} answered {status}" + (f": {detail}" if detail else "") + (f" ({hint})" if hint else "")
        details = {"status": status, "body": _truncate(body)}
        if status == 404:
            raise ComponentError(text, retryable=False, type="N8nWebhookNotFound", details=details)
        if status in (401, 403):
            raise ComponentError(text, retryable=False, type="N8nAuthError", details=details)
        if status in RETRYABLE_STATUS:
            raise ComponentError(text, retryable=True, type="N8nUnavailable", details=details)
        if status >= 500:
            raise ComponentError(text, retryable=False, type="N8nWorkflowError", details=details)
        raise ComponentError(text, retryable=False, type="N8nError", details=details)


def _body(resp: httpx.Response) -> Any:
    if not resp.content:
        return None
    if "json" in resp.headers.get("content-type", ""):
        try:
            return resp.json()
        except ValueError:
            pass
    try:
        return resp.text
    except UnicodeDecodeError:
        return resp.content.hex()
