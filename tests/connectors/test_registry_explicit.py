"""The connector registry is explicit: every connector is listed, and a missing dependency is a clear start-up error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from connectors.registry import default_registry

ROOT = Path(__file__).resolve().parents[2]


def test_every_connector_is_registered():
    assert {"http.request", "db.query", "email.send", "util.noop"} <= set(default_registry().types())


def test_missing_dependency_stops_the_worker_at_start_with_a_clear_message():
    # the worker's module imports the registry; `aiosmtplib` is made unimportable in that process
    code = "import sys; sys.modules['aiosmtplib'] = None; import worker.main"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert ("a connector cannot be loaded: Python package 'aiosmtplib' is missing (needed by 'email.send')"
            in proc.stderr)
