"""`wfo dev`'s child processes: recorded in the data folder, reclaimed after a crash, tied to the parent.

Invariants:
- every child `wfo dev` starts (the Temporal dev server) is recorded in `<data folder>/children.json` with its
  pid and command line, and removed from it when `wfo dev` stops it;
- on the next start, a recorded pid whose process still runs *the same command line* is an orphan of a
  crashed `wfo dev` (SIGKILL, OOM...): it is stopped (SIGTERM, then SIGKILL after a grace period) before the
  ports are checked; a pid reused by an unrelated process is left alone;
- on Linux a child also gets PR_SET_PDEATHSIG(SIGTERM), so it dies with `wfo dev` even when it is killed
  with SIGKILL; the spawn must then happen on the main thread (the signal follows the spawning *thread*).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import sys
import time
from pathlib import Path

FILE_NAME = "children.json"
PR_SET_PDEATHSIG = 1


def _path(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def _read(data_dir: Path) -> dict[str, dict]:
    try:
        data = json.loads(_path(data_dir).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(data_dir: Path, children: dict[str, dict]) -> None:
    tmp = _path(data_dir).with_suffix(".tmp")
    tmp.write_text(json.dumps(children, indent=1))
    tmp.replace(_path(data_dir))


def record_child(data_dir: Path, name: str, pid: int, cmd: list[str]) -> None:
    children = _read(data_dir)
    children[name] = {"pid": pid, "cmd": cmd}
    _write(data_dir, children)


def forget_child(data_dir: Path, name: str) -> None:
    children = _read(data_dir)
    if children.pop(name, None) is not None:
        _write(data_dir, children)


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _cmdline(pid) is not None or sys.platform != "linux"


def _stop(pid: int, grace: float) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reap it if it happens to be ours
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def reclaim_orphans(data_dir: Path, grace: float = 5.0) -> list[str]:
    """Stop the recorded children still running their recorded command. Returns what was stopped."""
    stopped = []
    for name, child in _read(data_dir).items():
        pid, cmd = child.get("pid"), child.get("cmd")
        if not isinstance(pid, int) or not isinstance(cmd, list) or pid == os.getpid():
            continue
        if _cmdline(pid) == [str(c) for c in cmd]:
            _stop(pid, grace)
            stopped.append(f"{name} (pid {pid})")
    with contextlib.suppress(FileNotFoundError):
        _path(data_dir).unlink()
    return stopped


def die_with_parent() -> None:
    """A `preexec_fn`: the child gets SIGTERM when its parent dies (Linux; elsewhere a no-op)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
