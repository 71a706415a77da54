"""Issue 10 item 7: `wfo dev` children are recorded, reclaimed after a crash, and die with their parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from cli.orphans import FILE_NAME, forget_child, reclaim_orphans, record_child


def _sleeper(marker: str) -> tuple[subprocess.Popen, list[str]]:
    cmd = [sys.executable, "-c", "import time; time.sleep(300)", marker]
    return subprocess.Popen(cmd, start_new_session=True), cmd


def _gone(pid: int, timeout: float = 8.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":  # exited, not yet reaped
                return True
        except OSError:
            return True
        time.sleep(0.1)
    return False


def test_an_orphan_is_reclaimed_and_an_unrelated_pid_is_not(tmp_path):
    orphan, cmd = _sleeper(f"orphan-{uuid.uuid4().hex}")
    bystander, _ = _sleeper(f"bystander-{uuid.uuid4().hex}")
    try:
        record_child(tmp_path, "temporal", orphan.pid, cmd)
        record_child(tmp_path, "other", bystander.pid, ["temporal", "server", "start-dev"])  # pid reused since
        stopped = reclaim_orphans(tmp_path, grace=3)
        assert stopped == [f"temporal (pid {orphan.pid})"]
        assert orphan.wait(timeout=8) is not None
        assert bystander.poll() is None  # left alone: not the command we started
        assert not (tmp_path / FILE_NAME).exists()
        assert reclaim_orphans(tmp_path) == []  # nothing recorded any more
    finally:
        for p in (orphan, bystander):
            p.kill()
            p.wait()


def test_a_stopped_child_is_forgotten(tmp_path):
    proc, cmd = _sleeper(f"x-{uuid.uuid4().hex}")
    try:
        record_child(tmp_path, "temporal", proc.pid, cmd)
        forget_child(tmp_path, "temporal")
        assert reclaim_orphans(tmp_path) == [] and proc.poll() is None
    finally:
        proc.kill()
        proc.wait()


PARENT = """
import subprocess, sys, time
from cli.orphans import die_with_parent
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True,
                         preexec_fn=die_with_parent)
print(child.pid, flush=True)
time.sleep(300)
"""


def test_a_child_dies_with_its_parent_even_on_sigkill():
    root = Path(__file__).resolve().parents[1]
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True, cwd=root,
                              env={**os.environ, "PYTHONPATH": str(root)})
    try:
        child_pid = int(parent.stdout.readline())
        time.sleep(0.3)
        os.kill(child_pid, 0)  # running
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=5)
        assert _gone(child_pid), "the child outlived its SIGKILLed parent"
    finally:
        parent.kill()
        parent.wait()
