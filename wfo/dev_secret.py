"""`wfo dev`'s SECRET_KEY and PAYLOAD_CODEC_KEYS: random keys per data folder instead of the public built-in
default (and instead of plaintext Temporal payloads).

Invariant: each key is created once (`<data folder>/secret_key`, `<data folder>/codec_keys`, mode 0600) and
reused on every start, so tokens, approval links, sealed secrets and encrypted histories of that folder stay
readable across restarts. A value set in the environment wins.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from wfo.codec import new_key_spec
from wfo.settings import DEFAULT_SECRET_KEY, Settings

FILE_NAME = "secret_key"
CODEC_FILE_NAME = "codec_keys"


def data_folder_secret(data_dir: Path, name: str = FILE_NAME, make=lambda: secrets.token_urlsafe(48)) -> str:
    path = data_dir / name
    try:
        existing = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        existing = ""
    if existing:
        return existing
    key = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key + "\n")
    return key


def with_dev_secret(settings: Settings, data_dir: Path) -> Settings:
    update: dict[str, str] = {}
    if settings.secret_key == DEFAULT_SECRET_KEY:
        update["secret_key"] = data_folder_secret(data_dir)
    if not settings.payload_codec_keys:
        update["payload_codec_keys"] = data_folder_secret(data_dir, CODEC_FILE_NAME, new_key_spec)
    return settings.model_copy(update=update) if update else settings
