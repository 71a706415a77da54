"""Helpers shared by connectors: runtime config checks, credential -> server address, per-loop client caches."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar
from urllib.parse import quote, urlsplit

import httpx
from jsonschema import Draft202012Validator

from connectors.base import ComponentError, NodeContext
from wfo.netguard import UnresolvableHostError, UnsafeURLError, check_outbound_url, guarded_send
from workflows.components import ComponentSpec

T = TypeVar("T")

CREDENTIAL_FIELD = {"type": "string", "minLength": 1, "description": "name of a credential in the vault"}


def credential_field(*types: str) -> dict[str, Any]:
    """The `credential` config field of a connector that uses credentials of `types`."""
    return {**CREDENTIAL_FIELD, "title": "Credential", "x-credential-types": list(types),
            "description": f"name of a {' or '.join(types)} credential in the vault"}


def validate_config(spec: ComponentSpec, config: Any) -> None:
    """The rendered config against the spec's schema: a non-retryable `ConfigError` naming the field.
    (The definition validator checks the same schema before the run; templates are checked here.)"""
    errors = sorted(Draft202012Validator(spec.config_schema).iter_errors(config),
                    key=lambda e: (list(e.absolute_path), e.validator))
    if not errors:
        return
    err = errors[0]
    path = "config" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)
    if err.validator == "required":
        missing = [r for r in err.validator_value if not isinstance(config, Mapping) or r not in config]
        message = f"{spec.type}: {path}.{missing[0] if missing else '?'} is required"
    elif err.validator == "additionalProperties":
        allowed = ", ".join(sorted(spec.config_schema.get("properties", {})))
        message = f"{spec.type}: {path}: {err.message} (allowed: {allowed})"
    elif err.validator in ("enum", "type", "minimum", "maximum", "minLength", "maxLength", "pattern", "minItems"):
        message = f"{spec.type}: {path} must satisfy {err.validator} {err.validator_value!r}"
    else:
        message = f"{spec.type}: {path}: {err.message[:300]}"
    raise ComponentError(message, retryable=False, type="ConfigError", details={"field": path})


def server_url(values: Mapping[str, Any], scheme: str, default_port: int, *, path: str | None = None) -> str:
    """A server URL from a credential: its `url` as is, else built from host/port/username/password/database."""
    url = values.get("url")
    if isinstance(url, str) and url:
        return url
    host = str(values.get("host") or "127.0.0.1")
    port = int(values.get("port") or default_port)
    user = values.get("username")
    password = values.get("password")
    auth = ""
    if user or password:
        auth = quote(str(user or ""), safe="") + (":" + quote(str(password), safe="") if password else "") + "@"
    db = path if path is not None else (values.get("database") or "")
    netloc_host = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"{scheme}://{auth}{netloc_host}:{port}/{db}"


def describe_url(url: str, default_port: int) -> str:
    """`host:port` of a server URL, for messages: never the user or password."""
    try:
        parts = urlsplit(url)
        return f"{parts.hostname or '127.0.0.1'}:{parts.port or default_port}"
    except ValueError:
        return "the configured server"


def fingerprint(value: Any) -> str:
    """A stable hash of a credential's values (cache keys never hold secrets)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


class ClientCache(Generic[T]):
    """Clients (pools, connections) per event loop and credential fingerprint, created once, closed by `aclose`."""

    def __init__(self, close: Callable[[T], Awaitable[None]]):
        self._clients: dict[tuple[int, str], T] = {}
        self._locks: dict[tuple[int, str], asyncio.Lock] = {}
        self._close = close

    async def get(self, values: Any, create: Callable[[], Awaitable[T]],
                  alive: Callable[[T], bool] = lambda _c: True) -> T:
        key = (id(asyncio.get_running_loop()), fingerprint(values))
        client = self._clients.get(key)
        if client is not None and alive(client):
            return client
        async with self._locks.setdefault(key, asyncio.Lock()):
            client = self._clients.get(key)
            if client is None or not alive(client):
                client = self._clients[key] = await create()
        return client

    async def drop(self, values: Any) -> None:
        """Forget (and close) the client for `values` on this loop, e.g. after its connection broke."""
        key = (id(asyncio.get_running_loop()), fingerprint(values))
        client = self._clients.pop(key, None)
        if client is not None:
            try:
                await self._close(client)
            except Exception:  # noqa: BLE001 - already broken
                pass

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            try:
                await asyncio.wait_for(self._close(client), 10)
            except BaseException:  # noqa: BLE001 - shutting down
                pass


async def guarded_request(ctx: NodeContext, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One outbound HTTP call through the SSRF guard (`wfo.netguard.guarded_send`); a refused or
    unresolvable target is a `ComponentError` (refused: not retried), transport errors stay `httpx` errors."""
    try:
        return await guarded_send(ctx.services.http, method, url, ctx.services.settings, **kwargs)
    except UnresolvableHostError as err:
        raise ComponentError(f"{method} {url}: {err}", type="UnresolvableHost") from None
    except UnsafeURLError as err:
        raise ComponentError(f"refusing to call {url!r}: {err}", retryable=False, type="ForbiddenAddress") from None


async def check_endpoint(ctx: NodeContext, url: str) -> None:
    """The SSRF check alone, for clients that connect themselves (boto3): refused -> non-retryable."""
    try:
        await check_outbound_url(url, ctx.services.settings)
    except UnresolvableHostError as err:
        raise ComponentError(f"{url}: {err}", type="UnresolvableHost") from None
    except UnsafeURLError as err:
        raise ComponentError(f"refusing to call {url!r}: {err}", retryable=False, type="ForbiddenAddress") from None


def content_bytes(config: Mapping[str, Any], component: str) -> bytes:
    """The bytes of a write/upload/put node's `config.content`: base64-decoded when `config.encoding` is
    `base64` (invalid base64 is a non-retryable ConfigError naming the field), UTF-8 otherwise."""
    if config.get("encoding") == "base64":
        try:
            return base64.b64decode(config["content"], validate=True)
        except ValueError:
            raise ComponentError(f"{component}: config.content is not valid base64", retryable=False,
                                 type="ConfigError", details={"field": "config.content"}) from None
    return config["content"].encode()


def content_text(data: bytes, encoding: str | None) -> tuple[str, str]:
    """(content, encoding) of bytes read back: base64 when asked for, else UTF-8 text, or base64 when the
    bytes are not UTF-8."""
    if encoding != "base64":
        try:
            return data.decode(), "utf-8"
        except UnicodeDecodeError:
            pass
    return base64.b64encode(data).decode(), "base64"
