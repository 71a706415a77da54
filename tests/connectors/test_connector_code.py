"""The code sandbox, against the real children: each limit is proven, with and without the audit hook
(so the kernel-level guards — seccomp, Landlock, rlimits — are shown to hold on their own)."""

from __future__ import annotations

import asyncio
import os
import socket
import time

import jsonschema
import pytest

from connectors.code import CodeJavascript, CodePython
from connectors.code_sandbox import CodeError, CodeLimits, evaluate_js, evaluate_js_async, js_pool, run_python
from connectors.registry import default_registry

FAST = CodeLimits(timeout_s=1.0, memory_mb=256)
BARE = CodeLimits(timeout_s=1.0, memory_mb=256, audit_hook=False)
BOTH = pytest.mark.parametrize("limits", [FAST, BARE], ids=["audit-hook", "kernel-only"])


async def py_error(code: str, limits: CodeLimits = FAST, **bindings) -> CodeError:
    with pytest.raises(CodeError) as info:
        await run_python(code, bindings, limits)
    assert info.value.retryable is False
    return info.value


@pytest.fixture
def listener():
    """A TCP server on loopback: proves no connection ever arrives from the sandbox."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)
    srv.settimeout(0.3)
    yield srv
    srv.close()


def assert_no_connection(srv: socket.socket) -> None:
    with pytest.raises(socket.timeout):
        srv.accept()


def test_registered_as_advanced_activities():
    for t in ("code.python", "code.javascript"):
        spec = default_registry().get(t)
        assert spec.kind == "activity" and spec.category == "advanced" and spec.docs
        jsonschema.validate(spec.example, spec.config_schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"code": "return 1", "timeout_seconds": 600}, CodePython.spec.config_schema)


# ------------------------------------------------------------------------------------------------ Python


async def test_python_sees_bindings_and_returns_json():
    out = await run_python(
        "items = input['items']\nreturn {'total': sum(i['price'] * i['qty'] for i in items),"
        " 'prev': nodes['fetch']['n'], 'v': vars['k'], 'p': params, 'id': execution['id']}",
        {"input": {"items": [{"price": 5, "qty": 3}, {"price": 1, "qty": 2}]}, "nodes": {"fetch": {"n": 7}},
         "vars": {"k": "v"}, "execution": {"id": "exec-1"}, "params": [1, 2]}, FAST)
    assert out == {"total": 17, "prev": 7, "v": "v", "p": [1, 2], "id": "exec-1"}


@BOTH
async def test_python_socket_connect_fails(limits, listener):
    port = listener.getsockname()[1]
    err = await py_error(f"import socket\ns = socket.socket()\ns.connect(('127.0.0.1', {port}))\nreturn 'connected'",
                         limits)
    assert err.type == "CodeError"
    assert ("PermissionError" in err.message or "ImportError" in err.message), err.message
    assert err.details["line"] in (1, 2)
    assert_no_connection(listener)


async def test_python_unix_socket_refused_by_the_kernel():
    err = await py_error("import socket\nsocket.socket(socket.AF_UNIX)", BARE)
    assert "PermissionError: [Errno 1] Operation not permitted" in err.message


@BOTH
async def test_python_reading_etc_passwd_fails(limits):
    err = await py_error("return open('/etc/passwd').read()", limits)
    assert "PermissionError" in err.message and "root:" not in str(err.details)
    err = await py_error("import os\nreturn os.listdir('/home')", limits)
    assert "PermissionError" in err.message
    source = os.path.abspath(__file__)  # the worker's own code, /proc and symlinks out of scratch: all closed
    for code in (f"return open({source!r}).read()", "return open('/proc/1/environ').read()",
                 "import os\nos.symlink('/etc/passwd', 'p')\nreturn open('p').read()"):
        assert "PermissionError" in (await py_error(code, limits)).message


async def test_python_scratch_directory_is_writable_and_removed():
    cwd = await run_python("open('notes.txt', 'w').write('hi')\nimport os\nreturn [open('notes.txt').read(), os.getcwd()]",
                           {}, FAST)
    assert cwd[0] == "hi"
    assert not os.path.exists(cwd[1])


@BOTH
async def test_python_endless_loop_stops_at_the_time_limit(limits):
    t0 = time.monotonic()
    err = await py_error("while True:\n    pass", limits)
    assert err.type == "CodeTimeout"
    assert time.monotonic() - t0 < 1.0 + 3.5


async def test_python_sleeping_stops_at_the_wall_time_limit():
    t0 = time.monotonic()
    err = await py_error("import time\ntime.sleep(60)", CodeLimits(timeout_s=0.5))
    assert err.type == "CodeTimeout" and time.monotonic() - t0 < 4


@BOTH
async def test_python_2gb_allocation_stops_at_the_memory_limit(limits):
    err = await py_error("x = bytearray(2 * 1024 ** 3)\nreturn len(x)", limits)
    assert err.type == "CodeMemoryLimit" and "256 MB" in err.message
    err = await py_error("chunks = []\nwhile True:\n    chunks.append(' ' * 10_000_000)", limits)
    assert err.type == "CodeMemoryLimit"


async def test_python_threads_left_running_do_not_hold_the_answer():
    t0 = time.monotonic()
    out = await run_python("import threading, time\nthreading.Thread(target=time.sleep, args=(60,)).start()\nreturn 1",
                           {}, CodeLimits(timeout_s=5))
    assert out == 1 and time.monotonic() - t0 < 4


async def test_python_oversize_output_refused():
    err = await py_error("return 'x' * 2_000_000", CodeLimits(timeout_s=2, max_output_bytes=1_000_000))
    assert err.type == "CodeOutputTooLarge" and "1000000" in err.message


async def test_python_error_names_the_users_line():
    err = await py_error("a = 1\nb = 0\nprint('about to divide')\nreturn a / b")
    assert err.type == "CodeError"
    assert err.message == "line 4: ZeroDivisionError: division by zero"
    assert err.details["source"] == "return a / b" and "line 4" in err.details["traceback"]
    assert "about to divide" in err.details["stdout"]
    err = await py_error("return (")
    assert err.message.startswith("line 1: SyntaxError")
    err = await py_error("return object()")
    assert "not JSON" in err.message


@pytest.mark.parametrize("code", ["import os\nos.fork()", "import os\nos.execv('/bin/sh', ['sh', '-c', 'true'])",
                                  "import os\nos.kill(1, 9)"])
async def test_python_no_processes_no_signals(code):
    err = await py_error(code, BARE)
    assert "PermissionError" in err.message or "OSError" in err.message, err.message


async def test_python_cannot_raise_its_own_limits():
    err = await py_error("import resource\nresource.setrlimit(resource.RLIMIT_AS, (-1, -1))", BARE)
    assert "Error" in err.message


async def test_worker_process_stays_healthy_while_code_misbehaves():
    """Five runaway children at once; the event loop keeps ticking and a normal run succeeds right after."""
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.05)
            ticks += 1

    tick = asyncio.create_task(ticker())
    t0 = time.monotonic()
    bad = await asyncio.gather(*[run_python("while True: pass", {}, FAST) for _ in range(3)],
                               run_python("x = bytearray(2 * 1024 ** 3)", {}, FAST), return_exceptions=True)
    elapsed = time.monotonic() - t0
    tick.cancel()
    assert [e.type for e in bad] == ["CodeTimeout"] * 3 + ["CodeMemoryLimit"]
    assert ticks >= elapsed / 0.05 * 0.25  # the loop was never blocked (generous: shared CI cores)
    assert await run_python("return 2 + 2", {}, FAST) == 4


# ------------------------------------------------------------------------------------------------ JavaScript


def js_error(code: str, **kw) -> CodeError:
    with pytest.raises(CodeError) as info:
        evaluate_js(code, kw.pop("bindings", {}), **{"timeout_s": 1.0, **kw})
    assert info.value.retryable is False
    return info.value


def test_evaluate_js_expressions_with_bindings():
    assert evaluate_js("$json.total * 2", {"$json": {"total": 21}}) == 42
    assert evaluate_js("({a: [1, 'x', null, true]})", {}) == {"a": [1, "x", None, True]}
    assert evaluate_js("undefined", {}) is None
    assert evaluate_js("let s = 0; for (const i of $input) s += i; s", {"$input": [1, 2, 3]}) == 6
    with pytest.raises(ValueError):
        evaluate_js("1", {"not an identifier": 1})


def test_js_has_no_io_and_its_host_is_locked_down():
    assert evaluate_js("[typeof require, typeof fetch, typeof XMLHttpRequest, typeof process, typeof Deno,"
                       " typeof WebSocket, typeof importScripts]", {}) == ["undefined"] * 7
    pool = js_pool()
    hosts = list(pool._idle)
    assert hosts, "the host that answered is kept warm"
    for host in hosts:
        assert host.info["seccomp"] is True and host.info["landlock_abi"] >= 1
        with open(f"/proc/{host.proc.pid}/status") as f:
            assert "Seccomp:\t2" in f.read()  # filter mode


def test_js_endless_loops_stop_at_the_time_limit():
    t0 = time.monotonic()
    assert js_error("while (true) {}").type == "CodeTimeout"
    assert js_error("Promise.resolve().then(() => { while (true) {} }); 1").type == "CodeTimeout"
    assert time.monotonic() - t0 < 2 * (1.0 + 2.5)
    assert evaluate_js("1 + 1", {}) == 2  # a fresh host answers the next one


def test_js_2gb_allocation_stops_at_the_memory_limit():
    assert js_error("new ArrayBuffer(2 * 1024 * 1024 * 1024).byteLength").type == "CodeMemoryLimit"
    err = js_error("const a = []; for (;;) a.push(new Array(1e6).fill(1.5))", memory_mb=64, timeout_s=5)
    assert err.type == "CodeMemoryLimit" and "64 MB" in err.message
    assert evaluate_js("[1, 2].length", {}) == 2


def test_js_oversize_output_refused():
    assert js_error("'x'.repeat(2000000)", max_output_bytes=1_000_000).type == "CodeOutputTooLarge"


def test_js_error_names_the_users_line():
    err = js_error("const a = 1;\nfunction f() { throw new TypeError('boom') }\nf()")
    assert err.type == "CodeError" and err.message == "line 2: TypeError: boom"
    assert "throw new TypeError" in err.details["source"]
    assert js_error("1 +").message.startswith("line 1: SyntaxError")
    assert "async code" in js_error("(async () => 1)()").message


async def test_js_node_wraps_the_body_and_keeps_line_numbers():
    from connectors.base import NodeContext

    ctx = NodeContext(execution_id="e", node_id="js", attempt=1, idempotency_key="k",
                      extra={"context": {"input": {"n": 2}, "nodes": {"a": [1, 2, 3]}, "vars": {}, "execution": {}}})
    out = await CodeJavascript().run({"code": "return nodes.a.map(x => x * input.n).concat([params.k])",
                                      "params": {"k": "p"}}, ctx)
    assert out == [2, 4, 6, "p"]
    with pytest.raises(CodeError) as info:
        await CodeJavascript().run({"code": "const x = 1;\nreturn x.nope.deeper"}, ctx)
    assert info.value.message.startswith("line 2: TypeError")


async def test_js_concurrent_evaluations_are_isolated():
    outs = await asyncio.gather(*[evaluate_js_async("globalThis.leak = (globalThis.leak || 0) + n; leak", {"n": i})
                                  for i in range(6)])
    assert outs == list(range(6))  # a fresh context each time: nothing carried over
