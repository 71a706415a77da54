"""`s3`: put, get, list and delete objects on S3 or an S3-compatible store (MinIO, Ceph, ...) with an `s3`
credential (keys, region, `endpoint_url`). boto3 runs in a worker thread; one client per credential.

A custom `endpoint_url` passes the SSRF guard. Missing buckets/keys and refused credentials are not
retried; throttling, 5xx and unreachable endpoints are (boto3's own retries are off: Temporal retries).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, ClassVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from connectors.base import ComponentError, NodeContext
from connectors.common import (
    check_endpoint,
    content_bytes,
    content_text,
    credential_field,
    fingerprint,
    validate_config,
)
from workflows.components import ComponentSpec

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
_NOT_RETRIED = {"NoSuchKey", "NoSuchBucket", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch",
                "InvalidBucketName", "404", "403", "400", "PreconditionFailed", "InvalidArgument"}


class S3Object:
    spec: ClassVar[ComponentSpec] = ComponentSpec(
        "s3", "activity",
        "Puts, gets, lists or deletes objects in an S3 (or S3-compatible) bucket.",
        {
            "type": "object",
            "required": ["credential", "operation", "bucket"],
            "properties": {
                "credential": credential_field("s3"),
                "operation": {"enum": ["put", "get", "list", "delete"], "title": "Operation"},
                "bucket": {"type": "string", "minLength": 3, "maxLength": 63, "pattern": "^[a-z0-9][a-z0-9.\\-]+$"},
                "key": {"type": "string", "minLength": 1, "maxLength": 1024, "title": "Object key"},
                "content": {"type": "string", "title": "Content (put)"},
                "encoding": {"enum": ["utf-8", "base64"], "default": "utf-8"},
                "content_type": {"type": "string"},
                "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
                "prefix": {"type": "string", "description": "list: keys starting with this"},
                "max_keys": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 1000},
                "max_bytes": {"type": "integer", "minimum": 1, "maximum": 64 * 1024 * 1024,
                              "default": DEFAULT_MAX_BYTES},
                "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 600},
            },
            "allOf": [
                {"if": {"properties": {"operation": {"enum": ["put", "get", "delete"]}}}, "then": {"required": ["key"]}},
                {"if": {"properties": {"operation": {"const": "put"}}}, "then": {"required": ["content"]}},
            ],
            "additionalProperties": False,
        },
        category="integration", title="S3 storage", icon="cloud",
        output_schema={"type": "object", "properties": {
            "bucket": {"type": "string"}, "key": {"type": "string"}, "etag": {"type": "string"},
            "content": {"type": "string"}, "encoding": {"type": "string"}, "size": {"type": "integer"},
            "content_type": {"type": ["string", "null"]}, "metadata": {"type": "object"},
            "objects": {"type": "array"}, "truncated": {"type": "boolean"}, "deleted": {"type": "boolean"}}},
        idempotent=True,
        docs="`put` overwrites the object with the same content on a retry, `delete` of a missing key succeeds, "
             "so all four operations are idempotent. `get` returns text, or base64 for binary objects.",
        example={"credential": "archive", "operation": "put", "bucket": "reports",
                 "key": "daily/{{ input.day }}.json", "content": "{{ $string(nodes.report) }}"},
    )

    def __init__(self) -> None:
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _client(self, values: dict[str, Any], timeout: float):
        key = fingerprint([values, timeout])
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = boto3.session.Session().client(
                    "s3", aws_access_key_id=values["access_key_id"], aws_secret_access_key=values["secret_access_key"],
                    aws_session_token=values.get("session_token"), region_name=values.get("region") or "us-east-1",
                    endpoint_url=values.get("endpoint_url"),
                    config=Config(connect_timeout=min(timeout, 10), read_timeout=timeout,
                                  retries={"max_attempts": 1, "mode": "standard"},
                                  s3={"addressing_style": "path"} if values.get("endpoint_url") else None))
        return client

    async def run(self, config: dict[str, Any], ctx: NodeContext) -> Any:
        validate_config(self.spec, config)
        values = await ctx.credential(config["credential"], "s3")
        if values.get("endpoint_url"):
            await check_endpoint(ctx, str(values["endpoint_url"]))
        timeout = float(config.get("timeout_seconds") or 60)
        client = self._client(values, timeout)
        where = f"s3://{config['bucket']}/{config.get('key') or config.get('prefix') or ''}"
        try:
            return await asyncio.to_thread(_run, client, config)
        except ClientError as err:
            code = str(err.response.get("Error", {}).get("Code") or "")
            status = int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            retryable = code not in _NOT_RETRIED and (status >= 500 or status == 429 or code in (
                "SlowDown", "Throttling", "RequestTimeout", "InternalError"))
            raise ComponentError(f"s3 {config['operation']} {where}: {code or status}", retryable=retryable,
                                 type="S3Error", details={"code": code, "status": status}) from None
        except (BotoConnectionError, BotoCoreError, OSError) as err:
            raise ComponentError(f"s3 {config['operation']} {where}: endpoint unreachable ({type(err).__name__})",
                                 retryable=True, type="S3ConnectionError") from None


def _run(client: Any, c: dict[str, Any]) -> dict[str, Any]:
    op, bucket, key = c["operation"], c["bucket"], c.get("key")
    if op == "put":
        data = content_bytes(c, "s3")
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key, "Body": data}
        if c.get("content_type"):
            kwargs["ContentType"] = c["content_type"]
        if c.get("metadata"):
            kwargs["Metadata"] = dict(c["metadata"])
        resp = client.put_object(**kwargs)
        return {"bucket": bucket, "key": key, "etag": str(resp.get("ETag", "")).strip('"'), "size": len(data)}
    if op == "get":
        resp = client.get_object(Bucket=bucket, Key=key)
        limit = int(c.get("max_bytes") or DEFAULT_MAX_BYTES)
        size = int(resp.get("ContentLength") or 0)
        if size > limit:
            resp["Body"].close()
            raise ComponentError(f"s3 get s3://{bucket}/{key}: {size} bytes is over max_bytes {limit}",
                                 retryable=False, type="S3ObjectTooLarge")
        data = resp["Body"].read()
        content, encoding = content_text(data, c.get("encoding"))
        return {"bucket": bucket, "key": key, "content": content, "encoding": encoding, "size": len(data),
                "content_type": resp.get("ContentType"), "metadata": dict(resp.get("Metadata") or {}),
                "etag": str(resp.get("ETag", "")).strip('"')}
    if op == "delete":
        client.delete_object(Bucket=bucket, Key=key)
        return {"bucket": bucket, "key": key, "deleted": True}
    resp = client.list_objects_v2(Bucket=bucket, Prefix=c.get("prefix") or "", MaxKeys=int(c.get("max_keys") or 1000))
    objects = [{"key": o["Key"], "size": o["Size"], "etag": str(o.get("ETag", "")).strip('"'),
                "last_modified": o["LastModified"].isoformat()} for o in resp.get("Contents", [])]
    return {"bucket": bucket, "objects": objects, "truncated": bool(resp.get("IsTruncated"))}
