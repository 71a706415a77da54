"""The child side of the code sandbox: run as a *script* (`python -I -S sandbox_child.py MODE`), stdlib only.

Never imported by the worker (it imports nothing of the project). Two modes:

- ``python``: read one JSON request from stdin (`code`, `bindings`, `limits`, `scratch`), lock the process
  down, run the user's code and write one JSON answer to the original stdout.
- ``js-host``: load the embedded JavaScript engine (mini-racer), lock the process down, then answer
  newline-delimited JSON requests, one fresh V8 context each, until stdin closes.

Lock-down (`harden`), in this order, all without privileges the worker may not have:
1. resource limits: address space (python mode), CPU seconds (python mode), file size, open files, core 0;
2. capabilities dropped (capset to nothing) and `no_new_privs` set, so running as root gains nothing;
3. Landlock (Linux >= 5.13) when the kernel has it: read-only access to the interpreter's own library
   directories, read-write to the scratch directory, nothing else (no /etc, no /proc, no /home);
4. a seccomp-bpf filter: no sockets of any family, no exec, no fork (threads only), no signals to other
   processes, no ptrace/process_vm_*, no io_uring, no mount/namespaces/modules/bpf, no raising limits;
5. (python mode) an audit hook that refuses sockets, subprocesses, ctypes and opening files outside the
   allowed directories: a clear message for the common cases and the file-system guard when Landlock
   is missing.
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
import resource
import sys
import traceback

MIB = 1024 * 1024
USER_FILENAME = "<code>"

# ----------------------------------------------------------------------------------------------- seccomp

_ARCH = {  # audit arch, syscall numbers denied with EPERM, clone, clone3
    "x86_64": (0xC000003E, {
        "socket": 41, "connect": 42, "accept": 43, "bind": 49, "listen": 50, "socketpair": 53, "accept4": 288,
        "fork": 57, "vfork": 58, "execve": 59, "execveat": 322, "kill": 62, "tkill": 200, "tgkill": 234,
        "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "setrlimit": 160, "prlimit64": 302,
        "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "unshare": 272, "setns": 308,
        "reboot": 169, "init_module": 175, "finit_module": 313, "delete_module": 176, "kexec_load": 246,
        "kexec_file_load": 320, "bpf": 321, "perf_event_open": 298, "keyctl": 250, "add_key": 248,
        "request_key": 249, "userfaultfd": 323, "io_uring_setup": 425, "io_uring_enter": 426,
        "io_uring_register": 427, "open_by_handle_at": 304, "name_to_handle_at": 303, "personality": 135,
        "swapon": 167, "swapoff": 168, "acct": 163, "settimeofday": 164, "clock_settime": 227,
        "sethostname": 170, "setdomainname": 171, "iopl": 172, "ioperm": 173, "mknod": 133, "mknodat": 259,
        "quotactl": 179, "pidfd_open": 434, "pidfd_getfd": 438, "pidfd_send_signal": 424, "capset": 126,
    }, 56, 435),
    "aarch64": (0xC00000B7, {  # untested here (the project's machines are x86_64)
        "socket": 198, "socketpair": 199, "bind": 200, "listen": 201, "accept": 202, "connect": 203,
        "accept4": 242, "execve": 221, "execveat": 281, "kill": 129, "tkill": 130, "tgkill": 131,
        "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "setrlimit": 164, "prlimit64": 261,
        "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51, "unshare": 97, "setns": 268, "reboot": 142,
        "init_module": 105, "finit_module": 273, "delete_module": 106, "kexec_load": 104,
        "kexec_file_load": 294, "bpf": 280, "perf_event_open": 241, "keyctl": 219, "add_key": 217,
        "request_key": 218, "userfaultfd": 282, "io_uring_setup": 425, "io_uring_enter": 426,
        "io_uring_register": 427, "open_by_handle_at": 265, "name_to_handle_at": 264, "personality": 92,
        "swapon": 224, "swapoff": 225, "acct": 89, "settimeofday": 170, "clock_settime": 112,
        "sethostname": 161, "setdomainname": 162, "mknodat": 33, "quotactl": 60, "pidfd_open": 434,
        "pidfd_getfd": 438, "pidfd_send_signal": 424, "capset": 91,
    }, 220, 435),
}
_RET_KILL = 0x80000000
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_EPERM, _ENOSYS = 1, 38
_CLONE_THREAD = 0x00010000


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def _bpf_program(machine: str, allow: tuple[str, ...] = ()) -> list[tuple[int, int, int, int]]:
    arch, denied, clone, clone3 = _ARCH[machine]
    denied = {name: nr for name, nr in denied.items() if name not in allow}
    ld, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    prog = [(ld, 0, 0, 4), (jeq, 1, 0, arch), (ret, 0, 0, _RET_KILL), (ld, 0, 0, 0)]
    if machine == "x86_64":
        prog += [(jge, 0, 1, 0x40000000), (ret, 0, 0, _RET_KILL)]  # the x32 ABI
    for nr in sorted(set(denied.values())):
        prog += [(jeq, 0, 1, nr), (ret, 0, 0, _RET_ERRNO | _EPERM)]
    prog += [(jeq, 0, 1, clone3), (ret, 0, 0, _RET_ERRNO | _ENOSYS)]  # libc falls back to clone
    # clone: threads (CLONE_THREAD) only; args[0] low word is at offset 16 (little endian)
    prog += [(jeq, 0, 3, clone), (ld, 0, 0, 16), (jset, 1, 0, _CLONE_THREAD), (ret, 0, 0, _RET_ERRNO | _EPERM)]
    prog += [(ret, 0, 0, _RET_ALLOW)]
    return prog


def _install_seccomp(libc, allow: tuple[str, ...] = ()) -> None:
    machine = platform.machine()
    if machine not in _ARCH:
        raise OSError(f"no seccomp filter for architecture {machine}")
    prog = _bpf_program(machine, allow)
    arr = (_SockFilter * len(prog))(*[_SockFilter(*ins) for ins in prog])
    fprog = _SockFprog(len(prog), arr)
    # prctl(PR_SET_SECCOMP=22, SECCOMP_MODE_FILTER=2, &fprog)
    if libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "seccomp filter refused")


# ----------------------------------------------------------------------------------------------- landlock

_LL_SYS = {"x86_64": (444, 445, 446), "aarch64": (444, 445, 446)}
_FS_READ = 4 | 8  # READ_FILE | READ_DIR
_FS_ALL_V1 = (1 << 13) - 1


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _landlock(libc, read_only: list[str], read_write: list[str]) -> int:
    """Restrict file access to these trees. Returns the Landlock ABI used (0: not available)."""
    create, add, restrict = _LL_SYS.get(platform.machine(), (None, None, None))
    if create is None:
        return 0
    abi = libc.syscall(create, None, 0, 1)  # LANDLOCK_CREATE_RULESET_VERSION
    if abi < 1:
        return 0
    handled = _FS_ALL_V1
    if abi >= 2:
        handled |= 1 << 13  # REFER
    if abi >= 3:
        handled |= 1 << 14  # TRUNCATE
    if abi >= 5:
        handled |= 1 << 15  # IOCTL_DEV
    fields = [handled]
    if abi >= 4:
        fields.append(1 | 2)  # handled_access_net: BIND_TCP | CONNECT_TCP, no rule: none allowed
    if abi >= 6:
        fields.append(1 | 2)  # scoped: abstract unix sockets and signals stay inside the domain
    attr = (ctypes.c_uint64 * len(fields))(*fields)
    fd = libc.syscall(create, ctypes.byref(attr), ctypes.sizeof(attr), 0)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        for paths, access in ((read_only, _FS_READ), (read_write, handled)):
            for path in paths:
                try:
                    pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except OSError:
                    continue
                try:
                    is_dir = os.path.isdir(path)
                    rule = _PathBeneath(access if is_dir else access & (1 | 2 | 4 | (1 << 14)), pfd)
                    if libc.syscall(add, fd, 1, ctypes.byref(rule), 0) != 0:
                        raise OSError(ctypes.get_errno(), f"landlock_add_rule {path} failed")
                finally:
                    os.close(pfd)
        if libc.syscall(restrict, fd, 0) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(fd)
    return abi


# ----------------------------------------------------------------------------------------------- harden


def _drop_capabilities(libc) -> None:
    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    hdr = Header(0x20080522, 0)
    data = (Data * 2)()
    if libc.syscall(126 if platform.machine() == "x86_64" else 91, ctypes.byref(hdr), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


def harden(*, scratch: str | None, read_only: list[str], memory_mb: int | None, cpu_seconds: int | None,
           max_file_bytes: int, max_open_files: int = 64, allow_syscalls: tuple[str, ...] = ()) -> dict[str, object]:
    """Lock this process down (see the module docstring). Returns what was applied."""
    def limit(which: int, value: int) -> None:
        soft, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, value))

    if memory_mb:
        limit(resource.RLIMIT_AS, memory_mb * MIB)
    if cpu_seconds:
        soft = max(1, int(cpu_seconds))
        hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
        resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 1 if hard == resource.RLIM_INFINITY else hard))
    limit(resource.RLIMIT_FSIZE, max_file_bytes)
    limit(resource.RLIMIT_NOFILE, max_open_files)
    limit(resource.RLIMIT_CORE, 0)
    limit(resource.RLIMIT_NPROC, 64)  # not enforced for root: the seccomp filter refuses fork instead
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    libc.prctl.restype = ctypes.c_int
    _drop_capabilities(libc)
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        raise OSError(ctypes.get_errno(), "no_new_privs refused")
    landlock = _landlock(libc, read_only, [scratch] if scratch else [])
    _install_seccomp(libc, allow_syscalls)
    return {"landlock_abi": landlock, "seccomp": True}


def _library_dirs() -> list[str]:
    """The interpreter's own library trees (stdlib, lib-dynload, site-packages when loaded), time zones."""
    dirs = {os.path.dirname(os.__file__)}
    if os.path.isdir("/usr/share/zoneinfo"):
        dirs.add("/usr/share/zoneinfo")
    for p in sys.path:
        if p and os.path.isdir(p):
            dirs.add(os.path.realpath(p))
    return sorted(dirs)


# ----------------------------------------------------------------------------------------------- python


class _Capture:
    """`print` output of the user's code, bounded (kept for error messages)."""

    def __init__(self, limit: int):
        self.parts: list[str] = []
        self.size = 0
        self.limit = limit

    def write(self, s: str) -> int:
        if self.size < self.limit:
            self.parts.append(s[: self.limit - self.size])
            self.size += len(s)
        return len(s)

    def flush(self) -> None:
        pass

    def text(self) -> str:
        return "".join(self.parts)


_BLOCKED_EVENTS = ("socket.", "subprocess.", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                   "os.forkpty", "ctypes.", "os.kill", "os.killpg", "pty.", "resource.setrlimit", "sys.addaudithook",
                   "mmap.", "sqlite3.", "webbrowser.", "shutil.rmtree")
_BLOCKED_MODULES = {"ctypes", "_ctypes", "_posixsubprocess", "subprocess", "socket", "_socket", "ssl", "_ssl",
                    "select", "selectors", "multiprocessing", "_multiprocessing", "asyncio", "mmap", "pty", "fcntl"}


def _install_audit_hook(allowed_roots: list[str], write_root: str) -> None:
    roots = tuple(os.path.realpath(r) + os.sep for r in allowed_roots)
    write = os.path.realpath(write_root) + os.sep

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None))[:3]
            if isinstance(path, int) or path is None:
                return
            real = os.path.realpath(os.fsdecode(path)) + os.sep
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC))
            if writing and not real.startswith(write):
                raise PermissionError(f"sandbox: writing {path!r} is not allowed (only the scratch directory)")
            if not real.startswith(roots + (write,)):
                raise PermissionError(f"sandbox: reading {path!r} is not allowed (only the scratch directory)")
        elif event == "import" and args and str(args[0]).split(".")[0] in _BLOCKED_MODULES:
            raise ImportError(f"sandbox: module {args[0]!r} is not available in code steps")
        elif event.startswith(_BLOCKED_EVENTS):
            raise PermissionError(f"sandbox: {event} is not allowed in code steps")

    sys.addaudithook(hook)


def _user_error(err: BaseException, code_lines: list[str]) -> dict[str, object]:
    """Error type, message with the user's line, and the user's frames of the traceback."""
    lineno = None
    if isinstance(err, SyntaxError) and err.filename == USER_FILENAME:
        lineno = err.lineno
    frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename == USER_FILENAME]
    if frames:
        lineno = frames[-1].lineno
    source = code_lines[lineno - 1].strip() if lineno and 0 < lineno <= len(code_lines) else None
    exc = type(err).__name__
    text = err.msg if isinstance(err, SyntaxError) else str(err)
    message = (f"line {lineno}: " if lineno else "") + f"{exc}: {text}"
    def text_of(n: int | None) -> str:
        return code_lines[n - 1].strip() if n and 0 < n <= len(code_lines) else ""

    tb = "".join(f'  line {f.lineno}, in {"<code>" if f.name == "__wfo_main__" else f.name}\n    {text_of(f.lineno)}\n'
                 for f in frames)
    return {"error": "CodeError", "message": message, "exception": exc, "line": lineno, "source": source,
            "traceback": tb}


def _compile_user(code: str):
    import ast

    body = ast.parse(code, USER_FILENAME).body or [ast.Pass()]
    wrapper = ast.parse("def __wfo_main__(input, nodes, vars, execution, params):\n    pass\n", USER_FILENAME)
    fn = wrapper.body[0]
    assert isinstance(fn, ast.FunctionDef)
    fn.body = body
    fn.lineno = fn.end_lineno = 1
    return compile(ast.fix_missing_locations(wrapper), USER_FILENAME, "exec")


def run_python() -> None:
    out_fd = os.dup(1)
    req = json.loads(sys.stdin.read())
    limits = req["limits"]
    scratch = req["scratch"]
    os.chdir(scratch)
    # modules most code steps use, imported before the lock-down (later imports work too, read-only)
    import collections, datetime, decimal, functools, hashlib, itertools, math, random, re, statistics  # noqa
    import string, base64, uuid, copy, textwrap, operator, urllib.parse, html, calendar, time, fractions  # noqa
    import ast, tempfile, io, unicodedata, zoneinfo, dataclasses, typing, enum, json as _json  # noqa
    lines = req["code"].splitlines()
    bindings = req["bindings"]
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    capture = _Capture(4096)
    sys.stdout = capture
    tempfile.tempdir = scratch

    def reply(obj: dict[str, object]) -> None:
        data = json.dumps(obj, separators=(",", ":")).encode()
        with os.fdopen(out_fd, "wb") as f:
            f.write(data)

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG: die with the worker
        harden(scratch=scratch, read_only=_library_dirs(), memory_mb=limits["memory_mb"],
               cpu_seconds=limits["cpu_seconds"], max_file_bytes=limits["max_file_bytes"])
        if limits.get("audit_hook", True):
            _install_audit_hook(_library_dirs(), scratch)
    except Exception as err:  # noqa: BLE001 never run user code unprotected
        reply({"error": "SandboxUnavailable", "message": f"cannot lock the code sandbox down: {err}"})
        return
    result_text = None
    try:
        compiled = _compile_user(req["code"])
        scope: dict[str, object] = {"__name__": "__code__"}
        exec(compiled, scope)
        main = scope["__wfo_main__"]
        assert callable(main)
        value = main(bindings.get("input"), bindings.get("nodes") or {}, bindings.get("vars") or {},
                    bindings.get("execution") or {}, bindings.get("params"))
        del scope, bindings, main
        try:
            result_text = json.dumps(value, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as err:
            reply({"error": "CodeError", "message": f"the code returned a value that is not JSON: {err}"})
            return
    except MemoryError:
        reply({"error": "CodeMemoryLimit", "message": f"the code exceeded its memory limit of {limits['memory_mb']} MB"})
        return
    except RecursionError as err:
        reply(_user_error(err, lines))
        return
    except BaseException as err:  # noqa: BLE001 the user's exception (SystemExit included): report with its line
        answer = _user_error(err, lines)
        if capture.size:
            answer["stdout"] = capture.text()[-2000:]
        reply(answer)
        return
    if len(result_text) > limits["max_output_bytes"]:
        reply({"error": "CodeOutputTooLarge", "message": f"the code's output is {len(result_text)} bytes, over the "
               f"limit of {limits['max_output_bytes']} bytes"})
        return
    with os.fdopen(out_fd, "wb") as f:
        f.write(b'{"ok":true,"output":' + result_text.encode() + b"}")


# ----------------------------------------------------------------------------------------------- javascript

_JS_PRELUDE = """
globalThis.console = (() => { const out = []; const log = (...a) => { if (out.length < 100) out.push(a.map(String).join(' ')); };
  return { log, info: log, warn: log, error: log, debug: log, __out: out }; })();
"""


def _js_answer(ctx, req: dict) -> dict[str, object]:
    from py_mini_racer import JSEvalException, JSOOMException, JSParseException, JSTimeoutException

    timeout = float(req["timeout_s"])
    try:
        ctx.eval(_JS_PRELUDE + "".join(f"globalThis[{json.dumps(k)}] = {v};\n" for k, v in req["bindings"].items()),
                 timeout_sec=timeout)
        text = ctx.eval(
            "(() => { const __v = eval(" + json.dumps(req["code"]) + ");"
            " if (__v && typeof __v.then === 'function') throw new TypeError("
            "'the code returned a Promise: async code (await, then) is not supported in code steps');"
            " if (__v === undefined) return 'null'; const __t = JSON.stringify(__v);"
            " if (typeof __t !== 'string') throw new TypeError('the code returned a value that is not JSON: ' + typeof __v);"
            " return __t; })()",
            timeout_sec=timeout)
    except JSTimeoutException:
        return {"error": "CodeTimeout", "message": f"the code ran longer than its time limit of {timeout:g}s"}
    except JSOOMException:
        return {"error": "CodeMemoryLimit", "message": f"the code exceeded its memory limit of {req['memory_mb']} MB"}
    except (JSParseException, JSEvalException) as err:
        return _js_error(str(err))
    if text is None:
        return {"ok": True, "output": None}
    if not isinstance(text, str):
        return {"error": "CodeError", "message": "the code returned a value that is not JSON"}
    if len(text) > int(req["max_output_bytes"]):
        return {"error": "CodeOutputTooLarge", "message": f"the code's output is {len(text)} bytes, over the limit "
                f"of {req['max_output_bytes']} bytes"}
    return {"ok": True, "json": text}


def _js_error(text: str) -> dict[str, object]:
    """V8's message is `<anonymous>:LINE: Type: message` then the source line and a stack."""
    lines = text.strip().splitlines()
    head = lines[0] if lines else text
    line = None
    for prefix in ("<anonymous>:", "undefined:"):
        if head.startswith(prefix):
            num, _, head = head[len(prefix):].partition(": ")
            line = int(num) if num.isdigit() else None
            break
    exc = head.split(":", 1)[0] if ":" in head else "Error"
    if "async code (await, then)" in head or "a value that is not JSON" in head:
        return {"error": "CodeError", "message": head, "exception": "TypeError"}
    if "Array buffer allocation failed" in head or "Invalid array buffer length" in head:
        return {"error": "CodeMemoryLimit", "message": f"the code exceeded its memory limit ({head})"}
    return {"error": "CodeError", "message": (f"line {line}: " if line else "") + head, "exception": exc,
            "line": line, "source": lines[1].strip() if len(lines) > 1 else None,
            "traceback": "\n".join(lines[3:])[:2000]}


def js_host() -> None:
    from py_mini_racer import MiniRacer

    warm = MiniRacer()  # loads V8 and its data files before the lock-down
    warm.eval("1")
    out = os.fdopen(os.dup(1), "w", buffering=1)
    inp = sys.stdin
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 1)
    os.close(null)
    try:
        applied = harden(scratch=None, read_only=_library_dirs(), memory_mb=None, cpu_seconds=None,
                         max_file_bytes=0, max_open_files=256,
                         allow_syscalls=("socketpair",))  # mini-racer's event loop: a local pipe pair only
    except Exception as err:  # noqa: BLE001 whatever stops the lock-down
        out.write(json.dumps({"ready": False, "message": f"cannot lock the JavaScript host down: {err}"}) + "\n")
        return
    out.write(json.dumps({"ready": True, **applied}) + "\n")
    from py_mini_racer import JSTimeoutException

    for raw in inp:
        req = json.loads(raw)
        ctx = MiniRacer()
        retire = False
        try:
            ctx.set_hard_memory_limit(int(req["memory_mb"]) * MIB)
            answer = _js_answer(ctx, req)
            if answer.get("error") in ("CodeTimeout", "CodeMemoryLimit"):
                retire = True
            else:
                try:  # run whatever microtasks the code queued, under the same time limit
                    ctx.eval("undefined", timeout_sec=float(req["timeout_s"]))
                except JSTimeoutException:
                    answer = {"error": "CodeTimeout",
                              "message": f"the code ran longer than its time limit of {req['timeout_s']:g}s"}
                    retire = True
        except Exception as err:  # noqa: BLE001 the engine's own failures
            answer, retire = {"error": "CodeError", "message": f"{type(err).__name__}: {err}"}, True
        if retire:  # a stopped isolate may not close cleanly: answer, then leave (the pool starts another)
            out.write(json.dumps({**answer, "retire": True}) + "\n")
            out.flush()
            os._exit(0)
        try:
            ctx.close()
        except Exception:  # noqa: BLE001 closing is best effort
            pass
        out.write(json.dumps(answer) + "\n")


if __name__ == "__main__":
    {"python": run_python, "js-host": js_host}[sys.argv[1]]()
    os._exit(0)  # at once: threads the user's code left running (or V8's) must not keep the process alive
