"""`http.request`: one HTTP call (or a bounded series of pages), idempotent across retries through an
Idempotency-Key header.

Auth by credential (`credential`): `http_basic`, `http_bearer`, `http_api_key` (header or query
parameter) and `oauth2_client_credentials` (token fetched from the token URL, cached per worker until
shortly before it expires, fetched again once when the API answers 401). Every URL called, token URL
and page links included, passes the SSRF guard. Credential values and tokens are recorded in
`ctx.secret_values`, so the activity scrubs them from the output and errors.

Pagination (`pagination`, GET-style reads): `next_link` follows a URL from the body (`next_path`) or the
`Link: <...>; rel="next"` header; `cursor` sends the body's `cursor_path` value as query parameter
`cursor_param`; `page` increments query parameter `page_param` until a page has no items. At most
`max_pages` pages (default 10, at most 100); the output gains `items` (all pages' `items_path`
arrays concatenated), `pages` and `truncated` (true when it stopped with more pages to read).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any, ClassVar
from urllib.parse import urlencode, urljoin

import httpx

from connectors.base import ComponentError, NodeContext
from connectors.common import credential_field, fingerprint
from wfo.netguard import UnresolvableHostError, UnsafeURLError, guarded_send
from workflows.components import ComponentSpec

RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}
AUTH_TYPES = ("http_basic", "http_bearer", "http_api_key", "oauth2_client_credentials")
MAX_PAGES = 100
TOKEN_EARLY_EXPIRY_SECONDS = 30.0

_PAGINATION = {
    "type": "object", "title": "Pagination",
    "required": ["mode"],
    "properties": {
        "mode": {"enum": ["next_link", "cursor", "page"]},
        "items_path": {"type": "string", "description": "dotted path of the items array in each page's body "
                                                        "(empty: the body is the array)"},
        "next_path": {"type": "string", "description": "next_link: dotted path of the next URL in the body "
                                                       "(unset: the Link header's rel=next)"},
        "cursor_path": {"type": "string", "description": "cursor: dotted path of the next cursor in the body"},
        "cursor_param": {"type": "string", "minLength": 1, "description": "cursor: query parameter to send it as"},
        "page_param": {"type": "string", "minLength": 1, "default": "page"},
        "start_page": {"type": "integer", "minimum": 0, "default": 1},
        "max_pages": {"type": "integer", "minimum": 1, "maximum": MAX_PAGES, "default": 10},
    },
    "allOf": [{"if": {"properties": {"mode": {"const": "cursor"}}},
               "then": {"required": ["cursor_path", "cursor_param"]}}],
    "additionalProperties": False,
}


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
                "credential": credential_field(*AUTH_TYPES),
                "pagination": _PAGINATION,
            },
            "not": {"required": ["json", "body"]},
            "additionalProperties": False,
        },
        category="integration", title="HTTP request", icon="globe",
        output_schema={"type": "object", "required": ["status", "headers", "body"], "properties": {
            "status": {"type": "integer"}, "headers": {"type": "object"}, "body": {},
            "items": {"type": "array"}, "pages": {"type": "integer"}, "truncated": {"type": "boolean"}},
            "additionalProperties": False},
        idempotent=False,
        docs="Sends `method` to `url` with `headers`, `query` and a `json` or text `body`; answers outside "
             "`expected_status` (default 2xx) fail the node (408/425/429/5xx are retried). An `Idempotency-Key` "
             "header, stable across retries, lets the peer deduplicate. `credential` adds basic, bearer, API-key "
             "or OAuth2 client-credentials auth; `pagination` reads up to `max_pages` pages.",
        example={"method": "GET", "url": "https://api.example.com/orders", "credential": "erp-api",
                 "pagination": {"mode": "next_link", "next_path": "links.next", "items_path": "data"}},
    )

    def __init__(self) -> None:
        self._tokens: dict[tuple[int, str], tuple[str, float]] = {}
        self._token_locks: dict[tuple[int, str], asyncio.Lock] = {}

    async def run(self, config: dict[str, Any], ctx: NodeContext) -> Any:
        pagination = config.get("pagination")
        auth = await self._auth(config, ctx)
        if not pagination:
            return await self._call(config, ctx, str(config["url"]), config.get("query") or None, auth)
        return await self._paginate(config, ctx, pagination, auth)

    async def _auth(self, config: dict[str, Any], ctx: NodeContext) -> dict[str, Any] | None:
        name = config.get("credential")
        if not name:
            return None
        values = await ctx.credential(name, *AUTH_TYPES)
        kind = _auth_kind(values)
        return {"kind": kind, "values": values}

    async def _apply_auth(self, auth: dict[str, Any] | None, headers: dict[str, str], params: dict[str, Any],
                          ctx: NodeContext, timeout: float, refresh: bool = False) -> None:
        if auth is None:
            return
        v, kind = auth["values"], auth["kind"]
        if kind == "http_basic":
            raw = f"{v['username']}:{v['password']}".encode()
            token = base64.b64encode(raw).decode()
            ctx.secret_values.append(token)
            headers["Authorization"] = f"Basic {token}"
        elif kind == "http_bearer":
            headers["Authorization"] = f"Bearer {v['token']}"
        elif kind == "http_api_key":
            if v.get("query_param"):
                params[str(v["query_param"])] = v["key"]
            else:
                headers[str(v.get("header") or "X-API-Key")] = v["key"]
        else:
            token = await self._oauth_token(v, ctx, timeout, refresh)
            headers["Authorization"] = f"Bearer {token}"

    async def _oauth_token(self, v: dict[str, Any], ctx: NodeContext, timeout: float, refresh: bool) -> str:
        """A client-credentials access token, cached per worker (event loop) and credential until it expires."""
        key = (id(asyncio.get_running_loop()), fingerprint(v))
        async with self._token_locks.setdefault(key, asyncio.Lock()):
            cached = self._tokens.get(key)
            if cached and not refresh and cached[1] > time.monotonic():
                ctx.secret_values.append(cached[0])
                return cached[0]
            token_url = str(v["token_url"])
            form = {"grant_type": "client_credentials", "client_id": v["client_id"],
                    "client_secret": v["client_secret"]}
            if v.get("scope"):
                form["scope"] = v["scope"]
            if v.get("audience"):
                form["audience"] = v["audience"]
            try:
                resp = await guarded_send(ctx.services.http, "POST", token_url, ctx.services.settings,
                                          content=urlencode(form).encode(), timeout=timeout,
                                          headers={"Accept": "application/json",
                                                   "Content-Type": "application/x-www-form-urlencoded"})
            except UnresolvableHostError as err:
                raise ComponentError(f"OAuth2 token request to {token_url}: {err}", type="UnresolvableHost") from None
            except UnsafeURLError as err:
                raise ComponentError(f"refusing to call {token_url!r}: {err}", retryable=False,
                                     type="ForbiddenAddress") from None
            except httpx.HTTPError as err:
                raise ComponentError(f"OAuth2 token request to {token_url} failed: {type(err).__name__}",
                                     type="HttpConnectionError") from None
            try:
                data = resp.json()
            except ValueError:
                data = {}
            token = data.get("access_token") if isinstance(data, dict) else None
            if resp.status_code != 200 or not isinstance(token, str) or not token:
                retryable = resp.status_code in RETRYABLE_STATUS
                raise ComponentError(f"OAuth2 token request to {token_url} answered {resp.status_code}"
                                     + ("" if token or not resp.status_code == 200 else " without an access_token"),
                                     retryable=retryable, type="OAuth2TokenError")
            try:
                lifetime = float(data.get("expires_in") or 3600)
            except (TypeError, ValueError):
                lifetime = 3600.0
            ctx.secret_values.append(token)
            self._tokens[key] = (token, time.monotonic() + max(0.0, lifetime - TOKEN_EARLY_EXPIRY_SECONDS))
            return token

    async def _paginate(self, config: dict[str, Any], ctx: NodeContext, pg: dict[str, Any],
                        auth: dict[str, Any] | None) -> Any:
        mode = pg["mode"]
        max_pages = min(int(pg.get("max_pages") or 10), MAX_PAGES)
        items_path = pg.get("items_path") or ""
        url = str(config["url"])
        query = dict(config.get("query") or {})
        page_no = int(pg.get("start_page", 1))
        if mode == "page":
            query[pg.get("page_param") or "page"] = page_no
        items: list[Any] = []
        pages = 0
        truncated = False
        result: dict[str, Any] = {}
        while True:
            result = await self._call(config, ctx, url, query or None, auth)
            pages += 1
            page_items = _path(result["body"], items_path)
            if page_items is None:
                page_items = []
            if not isinstance(page_items, list):
                raise ComponentError(f"pagination: items_path {items_path!r} of page {pages} is not a list",
                                     retryable=False, type="PaginationError")
            items.extend(page_items)
            nxt: str | None = None
            if mode == "next_link":
                if pg.get("next_path"):
                    link = _path(result["body"], pg["next_path"])
                    nxt = urljoin(url, link) if isinstance(link, str) and link else None
                else:
                    link = _link_next(result["headers"].get("link", ""))
                    nxt = urljoin(url, link) if link else None
                more = nxt is not None
            elif mode == "cursor":
                cursor = _path(result["body"], pg["cursor_path"])
                more = cursor not in (None, "", False)
                if more:
                    query[pg["cursor_param"]] = cursor
            else:
                more = bool(page_items)
                if more:
                    page_no += 1
                    query[pg.get("page_param") or "page"] = page_no
            if not more:
                break
            if pages >= max_pages:
                truncated = True
                break
            if nxt is not None:
                url, query = nxt, {}
        return {**result, "items": items, "pages": pages, "truncated": truncated}

    async def _call(self, config: dict[str, Any], ctx: NodeContext, url: str, query: dict[str, Any] | None,
                    auth: dict[str, Any] | None) -> dict[str, Any]:
        method = str(config.get("method") or "GET").upper()
        headers = {str(k): str(v) for k, v in (config.get("headers") or {}).items()}
        headers.setdefault("Idempotency-Key", ctx.idempotency_key)
        params = dict(query or {})
        timeout = float(config.get("timeout_seconds") or 30)
        await self._apply_auth(auth, headers, params, ctx, timeout)
        kwargs: dict[str, Any] = {"headers": headers, "params": params or None}
        if "json" in config:
            kwargs["json"] = config["json"]
        elif config.get("body") is not None:
            kwargs["content"] = str(config["body"]).encode()
        resp = await self._send(ctx, method, url, timeout, config, kwargs)
        if resp.status_code == 401 and auth is not None and auth["kind"] == "oauth2_client_credentials":
            await self._apply_auth(auth, headers, params, ctx, timeout, refresh=True)  # token revoked early
            resp = await self._send(ctx, method, url, timeout, config, kwargs)
        return self._result(config, method, url, resp)

    async def _send(self, ctx: NodeContext, method: str, url: str, timeout: float, config: dict[str, Any],
                    kwargs: dict[str, Any]) -> httpx.Response:
        try:
            # one guard for every outbound call: every hop resolved, checked and connected to as checked
            resp = await guarded_send(ctx.services.http, method, url, ctx.services.settings, timeout=timeout,
                                      follow_redirects=bool(config.get("follow_redirects", True)), **kwargs)
        except UnresolvableHostError as err:
            raise ComponentError(f"{method} {url}: {err}", type="UnresolvableHost") from None
        except UnsafeURLError as err:
            raise ComponentError(f"refusing to call {url!r}: {err}", retryable=False, type="ForbiddenAddress") from None
        except httpx.TimeoutException as err:
            raise ComponentError(f"{method} {url}: timed out after {timeout}s", type="HttpTimeout") from err
        except httpx.HTTPError as err:
            raise ComponentError(f"{method} {url}: {type(err).__name__}: {err}", type="HttpConnectionError") from err
        return resp

    def _result(self, config: dict[str, Any], method: str, url: str, resp: httpx.Response) -> dict[str, Any]:
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


def _auth_kind(values: dict[str, Any]) -> str:
    """The auth a credential's values describe (the vault validated them against their type)."""
    if "token_url" in values:
        return "oauth2_client_credentials"
    if "token" in values:
        return "http_bearer"
    if "key" in values:
        return "http_api_key"
    return "http_basic"


def _path(value: Any, path: str) -> Any:
    """`a.b.0.c` into a JSON value (None when absent); the empty path is the value itself."""
    for part in [p for p in path.split(".") if p] if path else []:
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _link_next(header: str) -> str | None:
    """The rel="next" target of an RFC 8288 Link header."""
    for part in header.split(","):
        section = part.split(";")
        if len(section) < 2:
            continue
        target = section[0].strip()
        if not (target.startswith("<") and target.endswith(">")):
            continue
        for param in section[1:]:
            name, _, val = param.strip().partition("=")
            if name.strip().lower() == "rel" and "next" in val.strip().strip('"').lower().split():
                return target[1:-1]
    return None
