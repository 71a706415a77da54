"""`wfo dev`'s SECRET_KEY: one random key per data folder instead of the public built-in default.

Invariant: the key is created once (`<data folder>/secret_key`, mode 0600) and reused on every start, so
tokens, approval links and sealed secrets of that folder stay valid across restarts. A SECRET_KEY set in the
environment (anything but the built-in default) wins.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from wfo.settings import DEFAULT_SECRET_KEY, Settings

FILE_NAME = "secret_key"


def data_folder_secret(data_dir: Path) -> str:
    path = data_dir / FILE_NAME
    try:
        existing = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        existing = ""
    if existing:
        return existing
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key + "\n")
    return key


def with_dev_secret(settings: Settings, data_dir: Path) -> Settings:
    if settings.secret_key != DEFAULT_SECRET_KEY:
        return settings
    return settings.model_copy(update={"secret_key": data_folder_secret(data_dir)})
