"""Encrypt stored secrets at rest (Fernet, key derived from ``settings.secret_key``)."""

from __future__ import annotations

import base64
import hashlib
import secrets as _secrets
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken


@lru_cache(maxsize=8)
def _fernet(secret_key: str) -> Fernet:
    key = hashlib.sha256(b"wfo-secretbox-v1\x00" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret_key: str, plaintext: str) -> str:
    return _fernet(secret_key).encrypt(plaintext.encode()).decode("ascii")


def unseal(secret_key: str, token: str) -> str:
    try:
        return _fernet(secret_key).decrypt(token.encode("ascii")).decode()
    except InvalidToken as exc:
        raise ValueError("stored secret cannot be decrypted (SECRET_KEY changed?)") from exc


def new_secret() -> str:
    return "whsec_" + _secrets.token_urlsafe(32)
