"""Run a benchmark's `main()` and leave without Python's interpreter finalization (`cli.process`: the
Temporal SDK's native threads may otherwise abort the exit after the results are printed)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from cli.process import exit_code, hard_exit


def run(main: Callable[[], Coroutine[Any, Any, int | None]]) -> None:
    try:
        code = asyncio.run(main()) or 0
    except KeyboardInterrupt:
        code = 130
    except SystemExit as exc:
        code = exit_code(exc)
    hard_exit(code)
