"""Leaving the process once a command is done, without Python's interpreter finalization.

The Temporal SDK's Rust runtime keeps native threads that may still call into Python while the
interpreter finalizes, which aborts the process (`Fatal Python error: PyGILState_Release`) after the
work is done and its output printed. By the time a command returns, every server, worker and client it
started has been shut down, so `hard_exit` flushes the output and the log handlers and leaves with the
command's exit code through `os._exit`.
"""

from __future__ import annotations

import logging
import os
import sys


def hard_exit(code: int) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


def exit_code(exc: SystemExit) -> int:
    """What Python would exit with for `exc` (printing a message code to stderr, as Python does)."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1
