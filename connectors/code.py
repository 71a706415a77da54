"""`code.python` and `code.javascript`: the user's code, sandboxed (see connectors/code_sandbox.py).

The code is a function body: `return` gives the node's output (JSON data). It sees `input` (the execution
input), `nodes` (outputs of earlier nodes, by id), `vars`, `execution` (id, workflow id, trigger...) and
`params` (the node's `params` config, with its `{{ }}` templates rendered). The interpreter sends these
(workflows/components.py CONTEXT_COMPONENTS); `code` itself is never rendered as a template.
Every failure is non-retryable: running the same code on the same data fails the same way.
"""

from __future__ import annotations

from typing import Any, ClassVar

from connectors.base import NodeContext
from connectors.code_sandbox import MIB, CodeError, CodeLimits, evaluate_js_async, run_python
from workflows.components import ComponentSpec

MAX_TIMEOUT_S = 60.0
MAX_MEMORY_MB = 1024
MAX_OUTPUT_BYTES = 4 * MIB


def _schema(language: str, default_memory: int) -> dict[str, Any]:
    return {
        "type": "object", "required": ["code"], "additionalProperties": False,
        "properties": {
            "code": {"type": "string", "minLength": 1, "title": f"{language} code",
                     "description": "A function body; `return` gives the output. Sees input, nodes, vars, "
                                    "execution and params.", "format": language.lower()},
            "params": {"title": "Parameters", "description": "Values (templates) passed to the code as `params`."},
            "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_TIMEOUT_S, "default": 10,
                                "title": "Time limit (s)"},
            "memory_mb": {"type": "integer", "minimum": 16 if language == "JavaScript" else 64,
                          "maximum": MAX_MEMORY_MB, "default": default_memory, "title": "Memory limit (MB)"},
            "max_output_bytes": {"type": "integer", "minimum": 1, "maximum": MAX_OUTPUT_BYTES, "default": MIB,
                                 "title": "Output size limit (bytes)"},
        },
    }


def _limits(config: dict[str, Any], default_memory: int) -> CodeLimits:
    return CodeLimits(
        timeout_s=min(float(config.get("timeout_seconds") or 10), MAX_TIMEOUT_S),
        memory_mb=min(int(config.get("memory_mb") or default_memory), MAX_MEMORY_MB),
        max_output_bytes=min(int(config.get("max_output_bytes") or MIB), MAX_OUTPUT_BYTES),
    )


def _bindings(config: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
    context = ctx.extra.get("context") or {}
    return {"input": context.get("input"), "nodes": context.get("nodes") or {}, "vars": context.get("vars") or {},
            "execution": context.get("execution") or {}, "params": config.get("params")}


_DOCS = """Runs {lang} in a sandbox. The code is a function body: `return` gives the output. Bound names:
`input` (execution input), `nodes` (outputs of earlier nodes by id: `nodes["fetch"]`), `vars`, `execution`,
`params` (this node's `params`, templates rendered). Limits: `timeout_seconds` (default 10, max 60),
`memory_mb`, `max_output_bytes` (default 1 MiB). No network, no files outside a scratch directory{extra}.
Errors (never retried): CodeError (`line N: Type: message`), CodeTimeout, CodeMemoryLimit,
CodeOutputTooLarge. See docs/code-sandbox.md."""


class CodePython:
    spec: ClassVar[ComponentSpec] = ComponentSpec(
        "code.python", "activity", "Runs a Python function body in a locked-down process; returns JSON.",
        _schema("Python", 256), template_skip=("code",), category="advanced", title="Python code", icon="code",
        idempotent=True,
        docs=_DOCS.format(lang="Python 3 (standard library only)",
                          extra=", no subprocesses; `print` output is kept for error messages"),
        example={"code": "total = sum(i['price'] * i['qty'] for i in input['items'])\nreturn {'total': total}"},
    )

    async def run(self, config: dict[str, Any], ctx: NodeContext) -> Any:
        return await run_python(str(config["code"]), _bindings(config, ctx), _limits(config, 256))


class CodeJavascript:
    spec: ClassVar[ComponentSpec] = ComponentSpec(
        "code.javascript", "activity", "Runs a JavaScript function body in an embedded V8 (no I/O); returns JSON.",
        _schema("JavaScript", 64), template_skip=("code",), category="advanced", title="JavaScript code",
        icon="code-xml", idempotent=True,
        docs=_DOCS.format(lang="JavaScript (V8 through mini-racer, ES2023, synchronous)",
                          extra=" (the engine has no I/O at all); `console.log` is accepted and discarded"),
        example={"code": "const total = input.items.reduce((s, i) => s + i.price * i.qty, 0);\nreturn { total };"},
    )

    async def run(self, config: dict[str, Any], ctx: NodeContext) -> Any:
        limits = _limits(config, 64)
        bindings = _bindings(config, ctx)
        wrapped = ("(function (input, nodes, vars, execution, params) {" + str(config["code"])
                   + "\n})(input, nodes, vars, execution, params)")
        try:
            return await evaluate_js_async(wrapped, bindings, timeout_s=limits.timeout_s,
                                           memory_mb=limits.memory_mb, max_output_bytes=limits.max_output_bytes)
        except CodeError:
            raise
        except (TypeError, ValueError) as err:  # bindings that are not JSON
            raise CodeError(f"the node's context cannot be passed to the code: {err}") from None

