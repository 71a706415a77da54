"""Passwords (argon2), JWT access tokens and API keys. Nothing here logs secrets."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from wfo.settings import Settings

ALGORITHM = "HS256"
ACCESS_TOKEN_EXPIRE = timedelta(hours=8)
API_KEY_PREFIX = "wfo_"
API_KEY_PREFIX_LEN = 12  # characters of the key kept in clear to identify it ("wfo_" + 8)

_hasher = PasswordHasher()
# A fixed hash verified when the user does not exist, so timing doesn't reveal which emails exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, hashed: str | None) -> bool:
    try:
        return _hasher.verify(hashed or _DUMMY_HASH, password) and hashed is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _jwt_key(settings: Settings) -> bytes:
    # domain-separated 256-bit key derived from SECRET_KEY (which also signs approval links)
    return hashlib.sha256(b"wfo-jwt-v1:" + settings.secret_key.encode()).digest()


def access_token_lifetime(settings: Settings) -> timedelta:
    """`session_timeout_hours` (8 by default)."""
    return timedelta(hours=settings.session_timeout_hours)


def create_access_token(
    settings: Settings, *, user_id: uuid.UUID, tenant_id: uuid.UUID, role: str, expires: timedelta | None = None
) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "tid": str(tenant_id),
        "role": role,
        "typ": "access",
        "iat": now,
        "exp": now + (expires or access_token_lifetime(settings)),
    }
    return jwt.encode(claims, _jwt_key(settings), algorithm=ALGORITHM)


def decode_access_token(settings: Settings, token: str) -> dict[str, Any] | None:
    try:
        claims = jwt.decode(token, _jwt_key(settings), algorithms=[ALGORITHM], options={"require": ["exp", "sub"]})
    except jwt.PyJWTError:
        return None
    if claims.get("typ") != "access":
        return None
    return claims


def generate_api_key() -> tuple[str, str, str]:
    """A new key: (plaintext shown once, prefix kept in clear, sha256 hash stored)."""
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return key, key[:API_KEY_PREFIX_LEN], hash_api_key(key)


def hash_api_key(key: str) -> str:
    # API keys carry 256 bits of entropy, so a fast hash is enough (and keeps lookups O(1)).
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def looks_like_api_key(token: str) -> bool:
    return token.startswith(API_KEY_PREFIX)
