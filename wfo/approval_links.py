"""Signed, expiring, single-use approval links bound to one assignee (for emails and chat messages).

A token is ``<payload>.<signature>``: the payload (base64url JSON) names the task, the assignee, the
decision, an expiry and a nonce; the signature is HMAC-SHA256 with a key derived from SECRET_KEY.
Single use is enforced in Postgres (`task_link_uses`), so it does not depend on any cache.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from wfo.errors import WfoError
from wfo.settings import Settings


class LinkError(WfoError):
    """A signed approval link is unusable; ``status`` is the HTTP status the link page answers with."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class LinkClaim:
    task_id: str
    assignee: str
    roles: list[str]
    decision: str
    expires: int
    nonce: str


def _key(settings: Settings) -> bytes:
    return hmac.new(settings.secret_key.encode(), b"wfo-approval-links-v1", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def link_path(task_id: str, token: str) -> str:
    """Where a link token is used: a confirmation page (GET) that decides with a POST."""
    return f"/api/v1/tasks/{task_id}/act?token={token}"


def make_token(settings: Settings, task_id: str, assignee: str, decision: str, *, ttl_seconds: int,
               roles: list[str] | None = None, now: float | None = None) -> str:
    claim = {"t": task_id, "u": assignee, "r": roles or [], "d": decision,
             "e": int((now or time.time()) + ttl_seconds), "n": secrets.token_urlsafe(16)}
    payload = _b64(json.dumps(claim, separators=(",", ":")).encode())
    sig = _b64(hmac.new(_key(settings), payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{sig}"


def read_token(settings: Settings, token: str, task_id: str, now: float | None = None) -> LinkClaim:
    """Verify a token for `task_id`. Raises LinkError(401) if forged, (410) if expired."""
    try:
        payload, sig = token.split(".", 1)
        expected = _b64(hmac.new(_key(settings), payload.encode("utf-8", "replace"), hashlib.sha256).digest())
    except ValueError:
        raise LinkError("malformed approval link", 401) from None
    # bytes, not str: compare_digest refuses non-ASCII str (a 500 on a pasted, mangled link)
    if not hmac.compare_digest(sig.encode("utf-8", "replace"), expected.encode("ascii")):
        raise LinkError("invalid approval link signature", 401)
    try:
        c = json.loads(_unb64(payload))
        claim = LinkClaim(task_id=c["t"], assignee=c["u"], roles=list(c.get("r") or []), decision=c["d"],
                          expires=int(c["e"]), nonce=c["n"])
    except (ValueError, KeyError, TypeError):
        raise LinkError("malformed approval link", 401) from None
    if claim.task_id != task_id:
        raise LinkError("this link is for another task", 401)
    if (now or time.time()) > claim.expires:
        raise LinkError("this approval link has expired", 410)
    return claim
