"""CLI commands find the running dev stack only when the environment names no database or Temporal."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from wfo.devstack import cli_settings, find_stack, remove_stack, write_stack
from wfo.settings import Settings


def _stack(tmp_path, pid: int | None = None):
    s = Settings(database_url="postgresql://dev@/wfo?host=/x", temporal_address="127.0.0.1:17233",
                 outbound_allowlist=["127.0.0.0/8"])
    path = write_stack(tmp_path, s, api_url="http://127.0.0.1:5000")
    if pid is not None:
        info = json.loads(path.read_text())
        info["pid"] = pid
        path.write_text(json.dumps(info))
    return path


def test_found_when_environment_names_nothing(tmp_path):
    _stack(tmp_path)
    settings, note = cli_settings({}, tmp_path)
    assert settings.temporal_address == "127.0.0.1:17233" and settings.database_url.startswith("postgresql://dev@")
    assert note and "dev stack" in note and "127.0.0.1:17233" in note
    assert settings.outbound_allowlist == Settings().outbound_allowlist  # strict unless asked
    assert cli_settings({}, tmp_path, dev_outbound=True)[0].outbound_allowlist == ["127.0.0.0/8"]


def test_environment_wins(tmp_path):
    _stack(tmp_path)
    for key in ("DATABASE_URL", "TEMPORAL_ADDRESS"):
        settings, note = cli_settings({key: "x"}, tmp_path)
        assert note is None and settings.temporal_address == Settings().temporal_address


def test_stale_stack_of_a_dead_process_is_ignored(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    _stack(tmp_path, pid=dead.pid)
    assert find_stack(tmp_path) is None
    assert cli_settings({}, tmp_path) == (Settings(), None)


def test_stack_file_is_private_and_removed(tmp_path):
    path = _stack(tmp_path)
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    remove_stack(tmp_path)
    assert not path.exists() and find_stack(tmp_path) is None
