"""HMAC-SHA256 signatures: outbound event deliveries and inbound webhook triggers.

Outbound (we sign, subscribers verify)::

    X-Wfo-Timestamp: 1700000000
    X-Wfo-Signature: v1=<hex(hmac_sha256(secret, f"{timestamp}.{body}"))>
    X-Wfo-Delivery:  <unique delivery id, the same on every retry of one delivery>

Receivers recompute the HMAC over ``"{timestamp}.{raw body}"`` and refuse timestamps older than
a tolerance, which stops replays. Inbound triggers use the GitHub convention
``X-Signature-256: sha256=<hex(hmac_sha256(secret, raw body))>``. Every comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

HEADER_TIMESTAMP = "X-Wfo-Timestamp"
HEADER_SIGNATURE = "X-Wfo-Signature"
HEADER_DELIVERY = "X-Wfo-Delivery"
HEADER_EVENT = "X-Wfo-Event"
SIGNATURE_VERSION = "v1"

INBOUND_SIGNATURE_HEADER = "X-Signature-256"
DEFAULT_TOLERANCE_SECONDS = 300


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def sign_event(secret: str | bytes, timestamp: int, body: str | bytes) -> str:
    """The ``X-Wfo-Signature`` value for one delivery attempt."""
    message = str(int(timestamp)).encode("ascii") + b"." + _as_bytes(body)
    digest = hmac.new(_as_bytes(secret), message, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def signed_headers(
    secret: str | bytes, body: str | bytes, *, delivery_id: str, event_type: str, timestamp: int | None = None
) -> dict[str, str]:
    """Headers for one outbound delivery attempt (fresh timestamp per attempt, same delivery id)."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    return {
        HEADER_TIMESTAMP: str(ts),
        HEADER_SIGNATURE: sign_event(secret, ts, body),
        HEADER_DELIVERY: delivery_id,
        HEADER_EVENT: event_type,
    }


def verify_event(
    secret: str | bytes,
    headers: Mapping[str, str],
    body: str | bytes,
    *,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """What a subscriber does: check the signature and refuse stale (replayed) timestamps."""
    lower = {k.lower(): v for k, v in headers.items()}
    ts_raw = lower.get(HEADER_TIMESTAMP.lower())
    sig = lower.get(HEADER_SIGNATURE.lower())
    if not ts_raw or not sig:
        return False
    try:
        ts = int(ts_raw)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance_seconds:
        return False
    expected = sign_event(secret, ts, body)
    # A header may carry several signatures during secret rotation: "v1=aaa,v1=bbb".
    # bytes, not str: compare_digest raises TypeError on a non-ASCII str
    return any(hmac.compare_digest(expected.encode("ascii"), part.strip().encode("utf-8", "replace"))
               for part in sig.split(","))


def sign_body_github(secret: str | bytes, body: bytes) -> str:
    """``sha256=<hex>`` over the raw body (GitHub's ``X-Hub-Signature-256`` convention)."""
    return "sha256=" + hmac.new(_as_bytes(secret), body, hashlib.sha256).hexdigest()


def verify_body_signature(secret: str | bytes, body: bytes, header_value: str | None) -> bool:
    """Constant-time check of an inbound ``X-Signature-256: sha256=<hex>`` header."""
    if not header_value:
        return False
    expected = sign_body_github(secret, body)
    return hmac.compare_digest(expected.encode("ascii"), header_value.strip().encode("utf-8", "replace"))
