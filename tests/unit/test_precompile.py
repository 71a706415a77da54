"""The sandboxed runner gets current bytecode for the workflow modules it imports afresh per execution, even
where Python writes none by itself (PYTHONDONTWRITEBYTECODE)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import workflows
from worker.main import precompile_workflow_modules


def test_the_workflow_modules_get_current_bytecode(monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    source = Path(workflows.__file__).parent / "interpreter.py"
    cached = Path(importlib.util.cache_from_source(str(source)))
    cached.unlink(missing_ok=True)
    assert precompile_workflow_modules.__wrapped__() is True
    assert cached.exists() and cached.stat().st_mtime >= source.stat().st_mtime
    # the loader takes it: the bytecode's recorded source mtime and size match the file
    data = cached.read_bytes()
    assert int.from_bytes(data[8:12], "little") == int(source.stat().st_mtime)
    assert int.from_bytes(data[12:16], "little") == source.stat().st_size & 0xFFFFFFFF
