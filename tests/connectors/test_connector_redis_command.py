"""`redis.command` against the real local Redis (:6379), read back with redis-py's own client."""

from __future__ import annotations

import uuid

import pytest
import redis.asyncio as aioredis

from connectors.base import ComponentError
from connectors.redis_command import RedisCommand
from connectors.registry import default_registry
from tests.connectors.conftest import FAST_RETRY
from tests.helpers import defn, node
from workflows.validation import validate_definition

CONNECTOR = RedisCommand()


@pytest.fixture(scope="module", autouse=True)
async def _close():
    yield
    await CONNECTOR.aclose()


@pytest.fixture
async def peer(redis_url):
    client = aioredis.from_url(redis_url)
    yield client
    await client.aclose()


def test_registered_with_docs():
    spec = default_registry().get("redis.command")
    d = spec.describe()
    assert d["category"] == "integration" and d["output_schema"]["required"] == ["result"]
    assert d["config_schema"]["properties"]["credential"]["x-credential-types"] == ["redis"]
    assert d["docs"] and d["example"]["command"] == "set"


async def test_write_then_read_back_through_redis(vault, peer):
    cred = await vault.add("cache", "redis", {"url": "redis://127.0.0.1:6379/0"})
    key = f"wfo-test:{uuid.uuid4().hex}"
    try:
        out = await CONNECTOR.run({"credential": cred, "command": "set", "key": key, "value": {"a": 1},
                                   "ttl_seconds": 60}, vault.ctx())
        assert out == {"result": True}
        assert await peer.get(key) == b'{"a":1}'
        assert 0 < await peer.ttl(key) <= 60
        got = await CONNECTOR.run({"credential": cred, "command": "get", "key": key, "parse_json": True}, vault.ctx())
        assert got == {"result": {"a": 1}}
        nx = await CONNECTOR.run({"credential": cred, "command": "set", "key": key, "value": "x",
                                  "only_if_absent": True}, vault.ctx())
        assert nx == {"result": False} and await peer.get(key) == b'{"a":1}'

        lkey = key + ":list"
        assert (await CONNECTOR.run({"credential": cred, "command": "rpush", "key": lkey, "value": ["a", "b", 3]},
                                    vault.ctx()))["result"] == 3
        assert await peer.lrange(lkey, 0, -1) == [b"a", b"b", b"3"]
        assert (await CONNECTOR.run({"credential": cred, "command": "lrange", "key": lkey},
                                    vault.ctx()))["result"] == ["a", "b", "3"]
        hkey = key + ":h"
        await CONNECTOR.run({"credential": cred, "command": "hset", "key": hkey, "fields": {"f": "v", "n": 2}},
                            vault.ctx())
        assert await peer.hgetall(hkey) == {b"f": b"v", b"n": b"2"}
        assert (await CONNECTOR.run({"credential": cred, "command": "incrby", "key": key + ":n", "amount": 5},
                                    vault.ctx()))["result"] == 5
        assert await peer.get(key + ":n") == b"5"

        pubsub = peer.pubsub()
        await pubsub.subscribe(key + ":ch")
        await pubsub.get_message(timeout=1)
        n = await CONNECTOR.run({"credential": cred, "command": "publish", "key": key + ":ch", "value": "hello"},
                                vault.ctx())
        assert n == {"result": 1}
        msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2)
        assert msg and msg["data"] == b"hello"
        await pubsub.aclose()
    finally:
        await peer.delete(key, key + ":list", key + ":h", key + ":n")


async def test_wrong_type_is_not_retried(vault, peer):
    cred = await vault.add("cache2", "redis", {"host": "127.0.0.1", "port": 6379})
    key = f"wfo-test:{uuid.uuid4().hex}"
    await peer.set(key, "text")
    try:
        with pytest.raises(ComponentError) as exc:
            await CONNECTOR.run({"credential": cred, "command": "lpush", "key": key, "value": "x"}, vault.ctx())
        assert exc.value.type == "RedisCommandError" and not exc.value.retryable and "WRONGTYPE" in exc.value.message
    finally:
        await peer.delete(key)


async def test_credential_of_another_type_refused(vault):
    cred = await vault.add("not-redis", "hmac_secret", {"secret": "s" * 16})
    with pytest.raises(ComponentError) as exc:
        await CONNECTOR.run({"credential": cred, "command": "get", "key": "k"}, vault.ctx())
    assert exc.value.type == "CredentialTypeMismatch" and not exc.value.retryable
    with pytest.raises(ComponentError) as exc:
        await CONNECTOR.run({"credential": "missing", "command": "get", "key": "k"}, vault.ctx())
    assert exc.value.type == "CredentialNotFound"


def test_bad_config_names_the_field():
    d = defn([node("start", "start"), node("r", "redis.command", credential="c", command="hset", key="k"),
              node("end", "end")], ["start->r", "r->end"])
    problems = validate_definition(d, default_registry())
    assert [(p.node_id, p.code) for p in problems] == [("r", "bad_config")]
    assert "fields" in problems[0].message
    d["nodes"][1]["config"] = {"credential": "c", "command": "flushall", "key": "k"}
    problems = validate_definition(d, default_registry())
    assert problems and problems[0].field == "config.command"


async def test_runtime_bad_config_names_the_field(vault):
    with pytest.raises(ComponentError) as exc:
        await CONNECTOR.run({"credential": "c", "command": "set", "key": "k", "ttl_seconds": "soon", "value": 1},
                            vault.ctx())
    assert exc.value.type == "ConfigError" and "config.ttl_seconds" in exc.value.message


async def test_peer_down_retryable_then_error_port(vault, run_node):
    cred = await vault.add("down", "redis", {"host": "127.0.0.1", "port": 1, "password": "down-pw-123"})
    with pytest.raises(ComponentError) as exc:
        await CONNECTOR.run({"credential": cred, "command": "get", "key": "k", "timeout_seconds": 2}, vault.ctx())
    assert exc.value.retryable and exc.value.type == "RedisConnectionError"
    assert "down-pw-123" not in exc.value.message

    flow = await run_node("redis.command", {"credential": cred, "command": "get", "key": "k", "timeout_seconds": 2},
                          retry=FAST_RETRY)
    err = flow.result["error"]
    assert err["type"] == "RedisConnectionError" and err["attempts"] == 2


async def test_in_a_workflow(vault, run_node, peer):
    cred = await vault.add("wf", "redis", {"url": "redis://127.0.0.1:6379/0"})
    key = f"wfo-test:{uuid.uuid4().hex}"
    try:
        flow = await run_node("redis.command", {"credential": cred, "command": "incr", "key": key})
        assert flow.result == {"ok": {"result": 1}}
        assert await peer.get(key) == b"1"
    finally:
        await peer.delete(key)
