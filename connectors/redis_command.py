"""`redis.command`: one Redis command (get/set/incr/expire/lpush/publish ...) with a `redis` credential.

Values written are strings as given; other JSON values are stored as their JSON text (`parse_json`
reads them back). Values read are returned as text (bytes decoded as UTF-8, else base64 with
`encoding: base64`). Only connection failures and timeouts are retried; wrong types, unknown
commands and authentication failures are not. One client (connection pool) per credential and worker.
"""

from __future__ import annotations

import base64
import json
from typing import Any, ClassVar

import redis.asyncio as aioredis
from redis import exceptions as rerr

from connectors.base import ComponentError, NodeContext
from connectors.common import ClientCache, credential_field, describe_url, server_url, validate_config
from workflows.components import ComponentSpec

# command -> (needs key, needs value/values, what it returns)
COMMANDS: dict[str, str] = {
    "get": "the value (null when missing)", "set": "true (false with only_if_absent when it existed)",
    "del": "how many keys were deleted", "exists": "whether the key exists", "incr": "the new value",
    "incrby": "the new value", "decr": "the new value", "expire": "whether a timeout was set",
    "ttl": "seconds to live (-1 no expiry, -2 missing)", "lpush": "the list length", "rpush": "the list length",
    "lpop": "the value or null", "rpop": "the value or null", "lrange": "the values", "llen": "the list length",
    "hset": "how many fields were added", "hget": "the field's value or null", "hgetall": "an object",
    "hdel": "how many fields were removed", "sadd": "how many members were added", "srem": "how many were removed",
    "smembers": "the members (sorted)", "publish": "how many subscribers received it",
}
_NEEDS_VALUE = {"set", "lpush", "rpush", "sadd", "srem", "publish"}
_NEEDS_FIELDS = {"hset"}
_READS = {"get", "lpop", "rpop", "lrange", "hget", "hgetall", "smembers"}

DEFAULT_TIMEOUT_SECONDS = 10.0


def _encode(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


class RedisCommand:
    spec: ClassVar[ComponentSpec] = ComponentSpec(
        "redis.command", "activity",
        "Runs one Redis command (get, set, incr, expire, lpush, hset, publish ...); outputs {result}.",
        {
            "type": "object",
            "required": ["credential", "command", "key"],
            "properties": {
                "credential": credential_field("redis"),
                "command": {"enum": sorted(COMMANDS), "title": "Command"},
                "key": {"type": "string", "minLength": 1, "title": "Key (channel for publish)"},
                "value": {"title": "Value", "description": "set/publish: the value; lpush/rpush/sadd/srem: a value "
                          "or a list of values (non-strings are stored as JSON)"},
                "fields": {"type": "object", "minProperties": 1, "title": "Fields (hset)"},
                "field": {"type": "string", "minLength": 1, "title": "Field (hget; hdel: one field)"},
                "amount": {"type": "integer", "title": "Amount (incrby)"},
                "ttl_seconds": {"type": "integer", "minimum": 1, "title": "Expire after (set, expire), seconds"},
                "only_if_absent": {"type": "boolean", "title": "set: only if the key does not exist (NX)"},
                "start": {"type": "integer", "default": 0}, "stop": {"type": "integer", "default": -1},
                "parse_json": {"type": "boolean", "title": "Parse values read as JSON when they are"},
                "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 300},
            },
            "allOf": [
                {"if": {"properties": {"command": {"enum": sorted(_NEEDS_VALUE)}}}, "then": {"required": ["value"]}},
                {"if": {"properties": {"command": {"const": "hset"}}}, "then": {"required": ["fields"]}},
                {"if": {"properties": {"command": {"enum": ["hget", "hdel"]}}}, "then": {"required": ["field"]}},
                {"if": {"properties": {"command": {"const": "expire"}}}, "then": {"required": ["ttl_seconds"]}},
            ],
            "additionalProperties": False,
        },
        category="integration", title="Redis", icon="database-zap",
        output_schema={"type": "object", "required": ["result"], "properties": {"result": {}}},
        idempotent=False,
        docs="One command per node. `get`, `exists`, `ttl`, `lrange`, `llen`, `hget`, `hgetall`, `smembers` only "
             "read; `set`, `del`, `expire`, `hset`, `hdel`, `sadd`, `srem` are idempotent; `incr`, `incrby`, `decr`, "
             "`lpush`, `rpush`, `lpop`, `rpop` and `publish` are not (a retry after a lost answer repeats them).",
        example={"credential": "cache", "command": "set", "key": "order:{{ input.id }}",
                 "value": "{{ input }}", "ttl_seconds": 3600},
    )

    def __init__(self) -> None:
        self._clients: ClientCache[aioredis.Redis] = ClientCache(lambda c: c.aclose())

    async def aclose(self) -> None:
        await self._clients.aclose()

    async def run(self, config: dict[str, Any], ctx: NodeContext) -> Any:
        validate_config(self.spec, config)
        values = await ctx.credential(config["credential"], "redis")
        url = server_url(values, "rediss" if values.get("tls") else "redis", 6379,
                         path=str(values.get("db") if values.get("db") is not None else values.get("database") or 0))
        where = describe_url(url, 6379)
        timeout = float(config.get("timeout_seconds") or DEFAULT_TIMEOUT_SECONDS)

        async def create() -> aioredis.Redis:
            return aioredis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout,
                                     health_check_interval=30)

        client = await self._clients.get(values, create)
        try:
            result = await self._command(client, config)
        except rerr.AuthenticationError:
            await self._clients.drop(values)
            raise ComponentError(f"redis.command: authentication to {where} failed", retryable=False,
                                 type="RedisAuthError") from None
        except (rerr.ConnectionError, rerr.TimeoutError, OSError) as err:
            await self._clients.drop(values)
            raise ComponentError(f"redis.command: cannot reach {where}: {type(err).__name__}", retryable=True,
                                 type="RedisConnectionError") from None
        except rerr.ResponseError as err:
            raise ComponentError(f"redis.command {config['command']} on {where}: {str(err)[:300]}", retryable=False,
                                 type="RedisCommandError") from None
        return {"result": self._decode(result, config) if config["command"] in _READS else result}

    async def _command(self, r: aioredis.Redis, c: dict[str, Any]) -> Any:
        cmd, key = c["command"], str(c["key"])
        value = c.get("value")
        many = [_encode(v) for v in value] if isinstance(value, list) else [_encode(value)]
        if cmd == "get":
            return await r.get(key)
        if cmd == "set":
            done = await r.set(key, _encode(value), ex=c.get("ttl_seconds"), nx=bool(c.get("only_if_absent")))
            return bool(done)
        if cmd == "del":
            return await r.delete(key)
        if cmd == "exists":
            return bool(await r.exists(key))
        if cmd == "incr":
            return await r.incr(key)
        if cmd == "incrby":
            return await r.incrby(key, int(c.get("amount", 1)))
        if cmd == "decr":
            return await r.decr(key)
        if cmd == "expire":
            return bool(await r.expire(key, int(c["ttl_seconds"])))
        if cmd == "ttl":
            return await r.ttl(key)
        if cmd == "lpush":
            return await r.lpush(key, *many)
        if cmd == "rpush":
            return await r.rpush(key, *many)
        if cmd == "lpop":
            return await r.lpop(key)
        if cmd == "rpop":
            return await r.rpop(key)
        if cmd == "lrange":
            return await r.lrange(key, int(c.get("start", 0)), int(c.get("stop", -1)))
        if cmd == "llen":
            return await r.llen(key)
        if cmd == "hset":
            return await r.hset(key, mapping={str(k): _encode(v) for k, v in c["fields"].items()})
        if cmd == "hget":
            return await r.hget(key, c["field"])
        if cmd == "hgetall":
            return await r.hgetall(key)
        if cmd == "hdel":
            return await r.hdel(key, c["field"])
        if cmd == "sadd":
            return await r.sadd(key, *many)
        if cmd == "srem":
            return await r.srem(key, *many)
        if cmd == "smembers":
            return sorted(await r.smembers(key))
        if cmd == "publish":
            return await r.publish(key, _encode(value))
        raise ComponentError(f"redis.command: unknown command {cmd!r}", retryable=False, type="ConfigError")

    def _decode(self, value: Any, config: dict[str, Any]) -> Any:
        if isinstance(value, list):
            return [self._decode(v, config) for v in value]
        if isinstance(value, dict):
            return {self._decode(k, {}): self._decode(v, config) for k, v in value.items()}
        if isinstance(value, bytes):
            try:
                text = value.decode()
            except UnicodeDecodeError:
                return {"encoding": "base64", "data": base64.b64encode(value).decode()}
            if config.get("parse_json"):
                try:
                    return json.loads(text)
                except ValueError:
                    return text
            return text
        return value
