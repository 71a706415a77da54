"""`s3` against moto's S3 server on loopback, read back with boto3's own client."""

from __future__ import annotations

import base64

import boto3
import pytest
from moto.server import ThreadedMotoServer

from connectors.base import ComponentError
from connectors.registry import default_registry
from connectors.s3_object import S3Object
from tests.connectors.conftest import FAST_RETRY
from tests.helpers import defn, node
from tests.localpeers import free_port
from workflows.validation import validate_definition

C = S3Object()
KEYS = {"access_key_id": "AKIAEXAMPLE", "secret_access_key": "s3-secret-key-1", "region": "us-east-1"}


@pytest.fixture(scope="module")
def moto_url():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(moto_url):
    client = boto3.client("s3", endpoint_url=moto_url, aws_access_key_id=KEYS["access_key_id"],
                          aws_secret_access_key=KEYS["secret_access_key"], region_name="us-east-1")
    client.create_bucket(Bucket="wfo-test")
    return client


async def test_put_get_list_delete(vault, s3, moto_url):
    cred = await vault.add("store", "s3", {**KEYS, "endpoint_url": moto_url})
    out = await C.run({"credential": cred, "operation": "put", "bucket": "wfo-test", "key": "a/b.json",
                       "content": '{"x": 1}', "content_type": "application/json", "metadata": {"by": "wfo"}},
                      vault.ctx())
    assert out["size"] == 8 and out["etag"]
    obj = s3.get_object(Bucket="wfo-test", Key="a/b.json")
    assert obj["Body"].read() == b'{"x": 1}' and obj["ContentType"] == "application/json"
    assert obj["Metadata"] == {"by": "wfo"}
    s3.put_object(Bucket="wfo-test", Key="a/bin", Body=bytes(range(256)))
    got = await C.run({"credential": cred, "operation": "get", "bucket": "wfo-test", "key": "a/b.json"}, vault.ctx())
    assert got["content"] == '{"x": 1}' and got["encoding"] == "utf-8" and got["metadata"] == {"by": "wfo"}
    binary = await C.run({"credential": cred, "operation": "get", "bucket": "wfo-test", "key": "a/bin"}, vault.ctx())
    assert base64.b64decode(binary["content"]) == bytes(range(256)) and binary["encoding"] == "base64"
    listed = await C.run({"credential": cred, "operation": "list", "bucket": "wfo-test", "prefix": "a/"}, vault.ctx())
    assert sorted(o["key"] for o in listed["objects"]) == ["a/b.json", "a/bin"]
    await C.run({"credential": cred, "operation": "delete", "bucket": "wfo-test", "key": "a/bin"}, vault.ctx())
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="wfo-test", Prefix="a/")["Contents"]] == ["a/b.json"]
    too_big = {"credential": cred, "operation": "get", "bucket": "wfo-test", "key": "a/b.json", "max_bytes": 2}
    with pytest.raises(ComponentError) as exc:
        await C.run(too_big, vault.ctx())
    assert exc.value.type == "S3ObjectTooLarge"


async def test_missing_key_and_bucket_not_retried(vault, s3, moto_url):
    cred = await vault.add("store2", "s3", {**KEYS, "endpoint_url": moto_url})
    for cfg in ({"bucket": "wfo-test", "key": "nope"}, {"bucket": "no-such-bucket", "key": "k"}):
        with pytest.raises(ComponentError) as exc:
            await C.run({"credential": cred, "operation": "get", **cfg}, vault.ctx())
        assert exc.value.type == "S3Error" and not exc.value.retryable
        assert "s3-secret-key-1" not in exc.value.message


def test_bad_config_names_the_field():
    d = defn([node("start", "start"), node("s", "s3", credential="c", operation="put", bucket="Bad_Bucket", key="k",
                                           content="x"), node("end", "end")], ["start->s", "s->end"])
    problems = validate_definition(d, default_registry())
    assert [(p.node_id, p.field) for p in problems] == [("s", "config.bucket")]


async def test_peer_down_retryable_then_error_port(vault, run_node):
    cred = await vault.add("store-down", "s3", {**KEYS, "endpoint_url": "http://127.0.0.1:1"})
    cfg = {"credential": cred, "operation": "list", "bucket": "wfo-test", "timeout_seconds": 2}
    with pytest.raises(ComponentError) as exc:
        await C.run(cfg, vault.ctx())
    assert exc.value.retryable and exc.value.type == "S3ConnectionError"
    flow = await run_node("s3", cfg, retry=FAST_RETRY)
    assert flow.result["error"]["type"] == "S3ConnectionError" and flow.result["error"]["attempts"] == 2
