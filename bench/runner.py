"""Run a benchmark's `main()` and exit without Python's interpreter finalization.

The Temporal SDK's Rust runtime keeps native threads that may still call into Python while the
interpreter finalizes (seen as `Fatal Python error: PyGILState_Release` after a benchmark had printed its
results). By the time `main()` returns, every server, worker and client it started has been shut down,
so the process flushes its output and leaves with `os._exit`, with `main()`'s exit code.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Coroutine
from typing import Any


def run(main: Callable[[], Coroutine[Any, Any, int | None]]) -> None:
    code = 1
    try:
        code = asyncio.run(main()) or 0
    except KeyboardInterrupt:
        code = 130
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
