"""Encrypted Temporal payloads: an AES-GCM `PayloadCodec` on every client and worker.

Settings: `PAYLOAD_CODEC_KEYS="k2:<base64 of 32 bytes>,k1:<...>"`. The first key encrypts; every listed key
decrypts (rotation: put the new key first, keep the old ones until no history needs them).

An encrypted payload is `{"encoding": "binary/encrypted", "encryption-key-id": <id>, "wfo-workflow-id": <id>}`
with data `nonce (12 bytes) || AES-GCM(serialized original payload)`. Invariants:
- the workflow id travels in clear (the codec endpoint checks the caller's tenant by it) and is bound into the
  AES-GCM associated data with the key id, so it cannot be swapped to another execution's;
- a payload without `binary/encrypted` passes through decode unchanged, so histories recorded before the
  codec (or with it off) still replay and read;
- with no keys configured, `data_converter_for` is the plain default converter (no codec at all).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
from collections.abc import Iterable, Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
)

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
WORKFLOW_ID = "wfo-workflow-id"
NONCE_BYTES = 12


class CodecKeyError(ValueError):
    """PAYLOAD_CODEC_KEYS is malformed, or a payload names a key that is not configured."""


def parse_keys(spec: str | None) -> list[tuple[str, bytes]]:
    """`"id:base64,id:base64"` -> [(id, 32-byte key)], the first one encrypting."""
    out: list[tuple[str, bytes]] = []
    for part in (spec or "").split(","):
        part = part.strip()
        if not part:
            continue
        kid, sep, b64 = part.partition(":")
        if not sep or not kid.strip():
            raise CodecKeyError("PAYLOAD_CODEC_KEYS entries are `key-id:base64-key`")
        try:
            key = base64.b64decode(b64.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise CodecKeyError(f"PAYLOAD_CODEC_KEYS: key {kid.strip()!r} is not valid base64") from None
        if len(key) != 32:
            raise CodecKeyError(f"PAYLOAD_CODEC_KEYS: key {kid.strip()!r} must be 32 bytes (AES-256)")
        out.append((kid.strip(), key))
    if len({k for k, _ in out}) != len(out):
        raise CodecKeyError("PAYLOAD_CODEC_KEYS: key ids must be unique")
    return out


def new_key_spec(key_id: str = "k1") -> str:
    """A fresh `id:base64` entry (what `wfo dev` writes to its data folder)."""
    return f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}"


def payload_workflow_id(payload: Payload) -> str | None:
    raw = payload.metadata.get(WORKFLOW_ID)
    return raw.decode("utf-8", "replace") if raw else None


def is_encrypted(payload: Payload) -> bool:
    return payload.metadata.get("encoding") == ENCODING


class EncryptionCodec(PayloadCodec, WithSerializationContext):
    def __init__(self, keys: Sequence[tuple[str, bytes]], workflow_id: str | None = None):
        if not keys:
            raise CodecKeyError("an encryption codec needs at least one key")
        self._keys = list(keys)
        self._by_id = {kid: AESGCM(key) for kid, key in keys}
        self._workflow_id = workflow_id

    def with_context(self, context: SerializationContext) -> "EncryptionCodec":
        wid = getattr(context, "workflow_id", None)
        return EncryptionCodec(self._keys, wid) if wid != self._workflow_id else self

    @staticmethod
    def _aad(kid: str, workflow_id: str | None) -> bytes:
        return b"wfo-codec-v1\x00" + kid.encode() + b"\x00" + (workflow_id or "").encode()

    def encrypt(self, payload: Payload, workflow_id: str | None = None) -> Payload:
        wid = workflow_id if workflow_id is not None else self._workflow_id
        kid = self._keys[0][0]
        nonce = os.urandom(NONCE_BYTES)
        data = nonce + self._by_id[kid].encrypt(nonce, payload.SerializeToString(), self._aad(kid, wid))
        metadata = {"encoding": ENCODING, KEY_ID: kid.encode()}
        if wid:
            metadata[WORKFLOW_ID] = wid.encode()
        return Payload(metadata=metadata, data=data)

    def decrypt(self, payload: Payload) -> Payload:
        """The original payload; an unencrypted one as it is. CodecKeyError for an unknown key or a forgery."""
        if not is_encrypted(payload):
            return payload
        kid = payload.metadata.get(KEY_ID, b"").decode("utf-8", "replace")
        aead = self._by_id.get(kid)
        if aead is None:
            raise CodecKeyError(f"payload encrypted with key {kid!r}, which is not in PAYLOAD_CODEC_KEYS")
        nonce, body = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = aead.decrypt(nonce, body, self._aad(kid, payload_workflow_id(payload)))
        except InvalidTag:
            raise CodecKeyError("payload failed authentication (tampered, or another key)") from None
        out = Payload()
        out.ParseFromString(plain)
        return out

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]


def codec_for(spec: str | None) -> EncryptionCodec | None:
    keys = parse_keys(spec)
    return EncryptionCodec(keys) if keys else None


def data_converter_for(spec: str | None, base: DataConverter | None = None) -> DataConverter:
    """The data converter for PAYLOAD_CODEC_KEYS `spec`: `base` (the default) plus the codec, with failure
    messages and stack traces encoded too (they can quote data). No keys: `base` unchanged."""
    base = base or DataConverter.default
    codec = codec_for(spec)
    if codec is None:
        return base
    return dataclasses.replace(base, payload_codec=codec,
                               failure_converter_class=DefaultFailureConverterWithEncodedAttributes)


def payloads_from_json(items: Iterable[dict[str, Any]]) -> list[Payload]:
    """The codec-server JSON form (`{"metadata": {k: base64}, "data": base64}`) -> Payloads. ValueError if bad."""
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValueError(f"payloads[{i}] must be an object")
        try:
            meta = {str(k): base64.b64decode(v, validate=True) for k, v in (item.get("metadata") or {}).items()}
            data = base64.b64decode(item.get("data") or "", validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise ValueError(f"payloads[{i}]: metadata values and data must be base64") from None
        out.append(Payload(metadata=meta, data=data))
    return out


def payloads_to_json(payloads: Iterable[Payload]) -> list[dict[str, Any]]:
    return [{"metadata": {k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
             "data": base64.b64encode(p.data).decode()} for p in payloads]
