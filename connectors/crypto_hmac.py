"""`crypto.hmac`: an HMAC of a value with a secret from the credentials vault (an activity: the secret is
resolved inside the activity and never enters workflow history)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any, ClassVar

from connectors.base import ComponentError, NodeContext
from workflows.components import ComponentSpec
from workflows.data_components import digest_encode

ALGORITHMS = ("md5", "sha1", "sha256", "sha384", "sha512")
CREDENTIAL_TYPES = ("hmac_secret",)


def secret_bytes(values: dict[str, Any], name: str) -> bytes:
    """The `secret` field of an `hmac_secret`/`jwt_secret` credential (text, or `base64:` + base64)."""
    secret = values.get("secret")
    if not isinstance(secret, str) or not secret:
        raise ComponentError(f"credential {name!r} has no `secret` field", retryable=False, type="CredentialInvalid")
    if secret.startswith("base64:"):
        try:
            return base64.b64decode(secret[len("base64:"):], validate=True)
        except (binascii.Error, ValueError):
            raise ComponentError(f"credential {name!r}: `secret` is not valid base64", retryable=False,
                                 type="CredentialInvalid") from None
    return secret.encode("utf-8")


class CryptoHmac:
    spec: ClassVar[ComponentSpec] = ComponentSpec(
        "crypto.hmac", "activity", "HMAC signature of a value with a secret credential (optionally compared).",
        {
            "type": "object", "required": ["credential", "value"], "additionalProperties": False,
            "properties": {
                "credential": {"type": "string", "minLength": 1, "title": "Credential",
                               "description": "name of an `hmac_secret` credential (its `secret` field)"},
                "value": {"title": "Value", "description": "the message (non-strings as JSON); a `{{ }}` template"},
                "algorithm": {"enum": list(ALGORITHMS), "default": "sha256", "title": "Algorithm"},
                "encoding": {"enum": ["hex", "base64"], "default": "hex", "title": "Output encoding"},
                "input_encoding": {"enum": ["utf8", "base64"], "default": "utf8", "title": "Input encoding"},
                "compare": {"type": "string", "title": "Expected signature",
                            "description": "when set, `valid` tells whether it equals the HMAC (constant time; "
                                           "an optional `sha256=` style prefix is ignored)"},
            },
        },
        category="data", title="HMAC", icon="key-round", idempotent=True,
        output_schema={"type": "object", "properties": {
            "value": {"type": "string"}, "algorithm": {"type": "string"}, "valid": {"type": "boolean"}},
            "additionalProperties": False},
        docs="Signs `value` with the credential's secret, e.g. to call an API that wants a signature, or "
             "checks an incoming webhook's signature with `compare`. The secret is read inside the activity; "
             "only the signature enters history.",
        example={"credential": "shop-webhook", "value": "{{ input.raw_body }}",
                 "compare": "{{ input.headers['x-signature'] }}"},
    )

    async def run(self, config: dict[str, Any], ctx: NodeContext) -> Any:
        name = str(config["credential"])
        secret = secret_bytes(await ctx.credential(name, *CREDENTIAL_TYPES), name)
        value = config.get("value")
        try:
            if config.get("input_encoding") == "base64":
                data = base64.b64decode(str(value), validate=True)
            else:
                data = (value if isinstance(value, str) else
                        json.dumps(value, separators=(",", ":"), ensure_ascii=False)).encode("utf-8")
        except (binascii.Error, ValueError):
            raise ComponentError("crypto.hmac: `value` is not valid base64", retryable=False,
                                 type="BadInput") from None
        algorithm = config.get("algorithm") or "sha256"
        if algorithm not in ALGORITHMS:
            raise ComponentError(f"crypto.hmac: unknown algorithm {algorithm!r}", retryable=False, type="BadConfig")
        digest = hmac.new(secret, data, getattr(hashlib, algorithm)).digest()
        encoding = config.get("encoding") or "hex"
        out: dict[str, Any] = {"value": digest_encode(digest, encoding), "algorithm": algorithm}
        if config.get("compare") is not None:
            given = str(config["compare"]).strip()
            if given.lower().startswith(f"{algorithm}="):  # `sha256=abcd...` (GitHub style)
                given = given[len(algorithm) + 1:]
            if encoding == "hex":
                given = given.lower()
            out["valid"] = hmac.compare_digest(given.encode(), out["value"].encode())
        return out
