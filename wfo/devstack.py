"""The running `wfo dev` stack, found by the other commands.

`wfo dev` writes `<data folder>/stack.json` (database URL, Temporal address, task queue, API and UI
URLs, its pid) once everything is up and removes it when it stops. `wfo run`, `wfo replay`, `wfo worker`,
`wfo migrate` and `wfo gc` use it when the environment names neither `DATABASE_URL` nor
`TEMPORAL_ADDRESS`, so they talk to the same Postgres and Temporal as the dev stack, and say so.
A stack file whose pid is gone (the dev process was killed) is ignored. The dev stack's loopback
allowance for outbound calls is carried over only to `wfo run`: `wfo worker` keeps the strict default.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from wfo.settings import Settings

STACK_FILE = "stack.json"
DEFAULT_DATA_DIR = ".wfo"
_ENV_KEYS = ("DATABASE_URL", "TEMPORAL_ADDRESS")


def write_stack(data_dir: Path, settings: Settings, *, api_url: str) -> Path:
    path = data_dir / STACK_FILE
    info = {"pid": os.getpid(), "database_url": settings.database_url,
            "temporal_address": settings.temporal_address, "temporal_namespace": settings.temporal_namespace,
            "temporal_task_queue": settings.temporal_task_queue, "temporal_ui_url": settings.temporal_ui_url,
            "api_url": api_url, "outbound_allowlist": settings.outbound_allowlist}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(info, indent=2))
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    return path


def remove_stack(data_dir: Path) -> None:
    (data_dir / STACK_FILE).unlink(missing_ok=True)


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def find_stack(data_dir: Path | None = None) -> dict[str, Any] | None:
    """The live dev stack's description, or None (no file, unreadable, or its process is gone)."""
    path = (data_dir or Path(os.environ.get("WFO_DATA_DIR", DEFAULT_DATA_DIR))) / STACK_FILE
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) and _alive(info.get("pid")) else None


def cli_settings(environ: dict[str, str] | None = None, data_dir: Path | None = None, *,
                 dev_outbound: bool = False) -> tuple[Settings, str | None]:
    """Settings for a CLI command, and a line naming the dev stack they point at (None: the environment's).
    `dev_outbound`: also take the stack's outbound allowlist (`wfo run`, whose in-process worker stands in
    for the dev stack's)."""
    env = os.environ if environ is None else environ
    settings = Settings()
    if any(key in env for key in _ENV_KEYS):
        return settings, None
    info = find_stack(data_dir)
    if info is None:
        return settings, None
    keys = ["database_url", "temporal_address", "temporal_namespace", "temporal_task_queue", "temporal_ui_url"]
    if dev_outbound and "OUTBOUND_ALLOWLIST" not in env:
        keys.append("outbound_allowlist")
    settings = settings.model_copy(update={k: info[k] for k in keys if info.get(k) is not None})
    return settings, (f"using the dev stack of {path_of(data_dir)} (Temporal {settings.temporal_address}, "
                      f"task queue '{settings.temporal_task_queue}'); set DATABASE_URL/TEMPORAL_ADDRESS to use another")


def path_of(data_dir: Path | None) -> str:
    return str((data_dir or Path(os.environ.get("WFO_DATA_DIR", DEFAULT_DATA_DIR))).resolve())
