"""Logging set-up for every process: plain text or JSON lines (`LOG_FORMAT=json`).

Each record gets, when they are known, the execution id, the node id, the activity attempt and the
OpenTelemetry trace and span ids, so a line from an activity can be joined with the execution and its
trace. Expected failures stay short: an activity that fails with one of our typed `ApplicationError`s
(a retry is the expected path: a peer answering 503, a webhook receiver down) has logged one line itself,
inside its span, with the error type and message; the SDK's own "Completing activity as failed" warning
with a traceback is then dropped. Any other exception keeps the SDK's warning and traceback: it is a bug.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace
from temporalio import activity
from temporalio.exceptions import ApplicationError

_FIELDS = ("execution_id", "node_id", "attempt", "activity_type", "trace_id", "span_id")
_SDK_FAILED = "Completing activity as failed"


class ContextFilter(logging.Filter):
    """Adds execution/node/attempt (inside an activity) and trace/span ids (inside a span) to records."""

    def filter(self, record: logging.LogRecord) -> bool:
        if activity.in_activity():
            info = activity.info()
            record.execution_id = getattr(record, "execution_id", None) or info.workflow_id
            record.node_id = getattr(record, "node_id", None) or info.activity_id.split("#", 1)[0]
            record.attempt = info.attempt
            record.activity_type = info.activity_type
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            record.trace_id = format(ctx.trace_id, "032x")
            record.span_id = format(ctx.span_id, "016x")
        return True


class ExpectedFailureFilter(logging.Filter):
    """Drops the SDK's "Completing activity as failed" traceback for our typed errors (already logged)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and str(record.msg).startswith(_SDK_FAILED):
            return not isinstance(record.exc_info[1], ApplicationError)
        return True


def failure_line(err: ApplicationError, attempt: int, max_attempts: int | None) -> str:
    """The one line an activity logs for attempt `attempt` (of `max_attempts`, 0/None: unlimited)."""
    last = err.non_retryable or (bool(max_attempts) and attempt >= (max_attempts or 0))
    retry = "not retried" if last else "will be retried"
    of = f"/{max_attempts}" if max_attempts else ""
    return f"attempt {attempt}{of} failed ({retry}): {err.type or 'ApplicationError'}: {err.message}"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage(),
        }
        for key in _FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        where = " ".join(f"{k}={getattr(record, k)}" for k in ("execution_id", "node_id")
                         if getattr(record, k, None) is not None)
        return f"{line} [{where}]" if where else line


class _WfoHandler(logging.StreamHandler):
    """The handler `configure_logging` installs (the only one it ever replaces). Without an explicit
    stream it writes to whatever `sys.stderr` is at the time of each record (it may be replaced)."""

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream or sys.stderr)
        self._follow_stderr = stream is None

    def emit(self, record: logging.LogRecord) -> None:
        if self._follow_stderr:
            self.stream = sys.stderr
        super().emit(record)


def configure_logging(fmt: str = "text", level: str | int = "INFO", stream: Any = None) -> logging.Handler:
    """Install our handler on the root logger, replacing one installed earlier by this function (other
    handlers, e.g. a test runner's, stay); returns it."""
    handler = _WfoHandler(stream)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(ContextFilter())
    handler.addFilter(ExpectedFailureFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        if isinstance(old, _WfoHandler):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())
    return handler
