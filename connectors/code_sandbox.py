"""Run untrusted user code: Python in a fresh locked-down process, JavaScript in a locked-down V8 host process.

Both children are `connectors/sandbox_child.py` run as a script (see its docstring for the lock-down:
rlimits, capabilities dropped, no_new_privs, Landlock, seccomp, audit hook). This module is the worker
side: it starts them, enforces the wall-clock deadline and the output size limit, and turns every
failure into a typed, non-retryable `ComponentError`:

- `CodeTimeout`: the wall-time (or, for Python, the CPU-time) limit was reached; the child is killed.
- `CodeMemoryLimit`: the memory limit was reached (Python: address space; JavaScript: V8 heap).
- `CodeOutputTooLarge`: the returned JSON is larger than `max_output_bytes`.
- `CodeError`: the user's code raised (message starts with `line N:` when the line is known; details
  carry `exception`, `line`, `source` and the user's own frames as `traceback`) or returned non-JSON.
- `SandboxUnavailable`: the child could not lock itself down; the code is never run unprotected.

Invariant: the worker process never runs user code itself; a child that misbehaves in any way is killed
and (JavaScript) replaced, so the next activity runs on a healthy host.

`evaluate_js()` is the reusable JavaScript evaluator (also used by the n8n importer's expressions).
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any

from connectors.base import ComponentError

CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sandbox_child.py")
MIB = 1024 * 1024
STARTUP_GRACE_S = 2.0
"""Wall time granted on top of the code's limit for starting and locking down the child."""
_IDENT = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
log = logging.getLogger(__name__)


class CodeError(ComponentError):
    def __init__(self, message: str, *, type: str = "CodeError", details: dict[str, Any] | None = None):
        super().__init__(message, retryable=False, type=type, details=details)


def _error(answer: dict[str, Any]) -> CodeError:
    kind = str(answer.get("error") or "CodeError")
    details = {k: answer[k] for k in ("exception", "line", "source", "traceback", "stdout") if answer.get(k)}
    return CodeError(str(answer.get("message") or kind), type=kind, details=details or None)


@dataclass(frozen=True)
class CodeLimits:
    timeout_s: float = 10.0
    """Wall-clock limit of the user's code (Python: also its CPU seconds, rounded up)."""
    memory_mb: int = 256
    """Python: the child's address space; JavaScript: the V8 heap of the evaluation."""
    max_output_bytes: int = 1 * MIB
    """Size limit of the returned value as JSON."""
    max_file_bytes: int = 16 * MIB
    """Largest file the Python code may write in its scratch directory."""
    audit_hook: bool = True
    """Python: the in-process audit hook (clear messages). Tests turn it off to prove that the kernel-level
    guards (seccomp, Landlock, rlimits) hold on their own."""


# ------------------------------------------------------------------------------------------------ Python


async def run_python(code: str, bindings: dict[str, Any], limits: CodeLimits = CodeLimits()) -> Any:
    """Run `code` (a function body: `return` gives the output) with `input`, `nodes`, `vars`, `execution`
    and `params` bound, in a fresh process. Returns its JSON output or raises a `CodeError` subtype."""
    scratch = tempfile.mkdtemp(prefix="wfo-code-")
    request = json.dumps({
        "code": code, "bindings": bindings, "scratch": scratch,
        "limits": {"memory_mb": limits.memory_mb, "cpu_seconds": max(1, int(limits.timeout_s + 0.999)),
                   "max_output_bytes": limits.max_output_bytes, "max_file_bytes": limits.max_file_bytes,
                   "audit_hook": limits.audit_hook},
    }, separators=(",", ":"), default=str).encode()
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-I", "-S", "-B", CHILD, "python",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            cwd=scratch, env={}, start_new_session=True,
        )
    except OSError as start_err:  # no process could be started (EAGAIN, ENOMEM): a retry may find room
        shutil.rmtree(scratch, ignore_errors=True)
        raise ComponentError(f"cannot start the code sandbox: {start_err}", type="SandboxUnavailable") from start_err
    cap = limits.max_output_bytes + 64 * 1024
    started = time.monotonic()
    try:
        try:
            out, err = await asyncio.wait_for(_exchange(proc, request, cap), limits.timeout_s + STARTUP_GRACE_S)
        except asyncio.TimeoutError:
            raise CodeError(f"the code ran longer than its time limit of {limits.timeout_s:g}s",
                            type="CodeTimeout") from None
        except _TooMuch:
            raise CodeError(f"the code's output is over the limit of {limits.max_output_bytes} bytes",
                            type="CodeOutputTooLarge") from None
    finally:
        if proc.returncode is None:
            _kill_group(proc.pid)
            await proc.wait()
        shutil.rmtree(scratch, ignore_errors=True)
    if out:
        try:
            answer = json.loads(out)
        except ValueError:
            answer = None
        if isinstance(answer, dict):
            if answer.get("ok"):
                return answer.get("output")
            raise _error(answer)
    rc = proc.returncode
    if rc in (-signal.SIGXCPU, -signal.SIGKILL):
        raise CodeError(f"the code used more than its CPU time limit of {limits.timeout_s:g}s "
                        f"(after {time.monotonic() - started:.1f}s)", type="CodeTimeout")
    text = err.decode(errors="replace")
    if "MemoryError" in text:
        raise CodeError(f"the code exceeded its memory limit of {limits.memory_mb} MB", type="CodeMemoryLimit")
    raise CodeError(f"the code's process ended without an answer (exit status {rc})",
                    details={"stderr": text[-2000:]} if text else None)


class _TooMuch(Exception):
    pass


async def _exchange(proc: asyncio.subprocess.Process, request: bytes, cap: int) -> tuple[bytes, bytes]:
    stdin, stdout, stderr = proc.stdin, proc.stdout, proc.stderr
    assert stdin is not None and stdout is not None and stderr is not None  # all three are pipes

    async def feed() -> None:
        try:
            stdin.write(request)
            await stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            stdin.close()

    async def drain(stream: asyncio.StreamReader, limit: int, fail: bool) -> bytes:
        chunks, size = [], 0
        while chunk := await stream.read(65536):
            size += len(chunk)
            if size > limit:
                if fail:
                    raise _TooMuch()
                continue
            chunks.append(chunk)
        return b"".join(chunks)

    feeder = asyncio.create_task(feed())
    try:
        out, err = await asyncio.gather(drain(stdout, cap, True), drain(stderr, 16 * 1024, False))
        await proc.wait()
    finally:
        feeder.cancel()
    return out, err


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


# ------------------------------------------------------------------------------------------------ JavaScript


class _JsHost:
    """One locked-down V8 host process answering one request at a time (newline-delimited JSON)."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-B", CHILD, "js-host"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env={}, cwd=tempfile.gettempdir(), start_new_session=True)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._stdin, self._stdout = self.proc.stdin, self.proc.stdout
        self._buf = b""
        try:
            info = json.loads(self._read_line(time.monotonic() + 30, 64 * 1024))
        except (TimeoutError, EOFError, _TooMuch, ValueError) as err:
            self.kill()
            raise ComponentError(f"the JavaScript host did not start ({type(err).__name__})", retryable=True,
                                 type="SandboxUnavailable") from None
        if not info.get("ready"):
            self.kill()
            raise CodeError(str(info.get("message") or "the JavaScript host could not start"),
                            type="SandboxUnavailable")
        self.info = info
        if not info.get("landlock_abi"):
            log.warning("this kernel has no Landlock: code sandboxes guard the file system with an audit hook only "
                        "(see docs/code-sandbox.md)")

    def _read_line(self, deadline: float, cap: int) -> bytes:
        fd = self._stdout.fileno()
        while b"\n" not in self._buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError()
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                raise EOFError()
            self._buf += chunk
            if len(self._buf) > cap:
                raise _TooMuch()
        line, _, self._buf = self._buf.partition(b"\n")
        return line

    def request(self, req: dict[str, Any], deadline: float, cap: int) -> dict[str, Any]:
        self._stdin.write(json.dumps(req, separators=(",", ":")).encode() + b"\n")
        self._stdin.flush()
        return json.loads(self._read_line(deadline, cap))

    def kill(self) -> None:
        if self.proc.poll() is None:
            _kill_group(self.proc.pid)
        self.proc.wait()
        for f in (self._stdin, self._stdout):
            try:
                f.close()
            except OSError:
                pass


class JsHostPool:
    """Warm V8 host processes (starting V8 takes ~0.5 s). Thread-safe; `size` evaluations at once."""

    def __init__(self, size: int = 2):
        self._slots = threading.BoundedSemaphore(size)
        self._idle: list[_JsHost] = []
        self._lock = threading.Lock()

    def _take(self) -> _JsHost:
        with self._lock:
            while self._idle:
                host = self._idle.pop()
                if host.proc.poll() is None:
                    return host
        return _JsHost()

    def evaluate(self, req: dict[str, Any], timeout_s: float, cap: int) -> dict[str, Any]:
        with self._slots:
            host = self._take()
            try:
                answer = host.request(req, time.monotonic() + timeout_s + STARTUP_GRACE_S, cap)
            except TimeoutError:
                host.kill()  # a runaway the engine did not stop (e.g. microtasks): the host goes
                return {"error": "CodeTimeout", "message": f"the code ran longer than its time limit of {timeout_s:g}s"}
            except _TooMuch:
                host.kill()
                return {"error": "CodeOutputTooLarge", "message": "the code's output is over its size limit"}
            except (EOFError, OSError, ValueError) as err:
                host.kill()
                return {"error": "CodeError", "message": f"the JavaScript host died ({type(err).__name__})"}
            if answer.get("retire") or answer.get("error") in ("CodeTimeout", "CodeMemoryLimit"):
                host.kill()  # V8 stopped it: the next evaluation starts on a fresh host
            else:
                with self._lock:
                    self._idle.append(host)
            return answer

    def close(self) -> None:
        with self._lock:
            hosts, self._idle = self._idle, []
        for host in hosts:
            host.kill()


_pool: JsHostPool | None = None
_pool_lock = threading.Lock()


def js_pool() -> JsHostPool:
    """The process-wide pool of JavaScript hosts (created on first use, closed at exit)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = JsHostPool(size=max(2, min(4, os.cpu_count() or 2)))
            atexit.register(_pool.close)
        return _pool


def evaluate_js(code: str, bindings: dict[str, Any], *, timeout_s: float = 1.0, memory_mb: int = 64,
                max_output_bytes: int = 1 * MIB) -> Any:
    """Evaluate JavaScript `code` with `bindings` as global variables; returns its value as JSON data.

    `code` is a script: its value is the completion value of its last statement, as with `eval` (an
    expression such as `$json.total * 2` works as is; wrap an object literal in parentheses). Binding
    names must be JavaScript identifiers (`$json`, `$input` are fine); values must be JSON data. No I/O
    exists in the engine (no require, fetch, process, file system); each call gets a fresh V8 context
    (nothing leaks between calls) in a locked-down host process. Synchronous code only: a returned
    Promise is refused. Blocking: call it from a thread (`evaluate_js_async`) inside an event loop.

    Raises `CodeError` (type `CodeError`, `CodeTimeout`, `CodeMemoryLimit`, `CodeOutputTooLarge`), all
    non-retryable; `ValueError` for a binding name that is not an identifier.
    """
    for name in bindings:
        if not isinstance(name, str) or not _IDENT.match(name):
            raise ValueError(f"binding name {name!r} is not a JavaScript identifier")
    req = {"code": code, "timeout_s": timeout_s, "memory_mb": memory_mb, "max_output_bytes": max_output_bytes,
           "bindings": {k: json.dumps(v, separators=(",", ":"), default=str) for k, v in bindings.items()}}
    answer = js_pool().evaluate(req, timeout_s, 8 * max_output_bytes + 64 * 1024)
    if answer.get("ok"):
        return json.loads(answer["json"]) if "json" in answer else answer.get("output")
    raise _error(answer)


async def evaluate_js_async(code: str, bindings: dict[str, Any], **limits: Any) -> Any:
    """`evaluate_js` off the event loop (in a thread)."""
    return await asyncio.to_thread(evaluate_js, code, bindings, **limits)
