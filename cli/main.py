"""`wfo`: the command line (worker, validate, run, dev, migrate, api)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cli.dev import run_dev
from cli.n8n_import import add_parser as add_n8n_import_parser
from cli.process import exit_code, hard_exit
from cli.serve import build_app
from connectors.registry import default_registry
from wfo import audit
from wfo.codec import data_converter_for
from wfo.db import create_engine, run_migrations
from wfo.devstack import cli_settings
from wfo.executions import start_execution
from wfo.gc import collect_payloads
from wfo.logs import configure_logging
from wfo.settings import Settings, get_settings
from wfo.stores.credentials import CredentialKeyError, Keyring, rotate_all
from wfo.temporal import connect
from worker.main import WORKFLOWS, build_worker, run_worker, workflow_runner
from workflows.converter import data_converter
from workflows.definition import parse_duration
from workflows.validation import validate_definition


def _load_json_file(path: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except OSError as err:
        raise SystemExit(f"wfo: cannot read {path}: {err.strerror}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise SystemExit(f"wfo: {path} is not valid JSON: line {err.lineno} column {err.colno}: {err.msg}")


def cmd_validate(args: argparse.Namespace) -> int:
    problems = validate_definition(_load_json_file(args.file), default_registry(), warnings=True)
    errors = [p for p in problems if p.severity == "error"]
    if args.json:
        print(json.dumps({"valid": not errors, "problems": [p.to_dict() for p in problems]}, indent=2))
    elif errors:
        print(f"{args.file}: {len(errors)} problem(s)", file=sys.stderr)
        for p in errors:
            print(f"  - {p}", file=sys.stderr)
    else:
        print(f"{args.file}: valid")
    for p in problems if not args.json else []:
        if p.severity == "warning":
            print(f"  warning: {p}", file=sys.stderr)
    return 1 if errors else 0


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    from temporalio.client import WorkflowFailureError

    definition = _load_json_file(args.file)
    problems = validate_definition(definition, default_registry())
    if problems:
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 1
    try:
        payload = json.loads(args.input) if args.input else None
    except json.JSONDecodeError as err:
        print(f"wfo: --input is not valid JSON: {err.msg} (column {err.colno})", file=sys.stderr)
        return 2
    try:
        client = await connect(settings)
    except Exception as err:  # noqa: BLE001 - connection refused, bad address...
        print(f"wfo: cannot reach Temporal at {settings.temporal_address}: {err}", file=sys.stderr)
        return 3
    task_queue = f"wfo-run-{uuid.uuid4().hex[:8]}"
    local = settings.model_copy(update={"temporal_task_queue": task_queue})
    async with build_worker(client, local):
        handle = await start_execution(client, definition=definition, input=payload, task_queue=task_queue,
                                       trigger="cli")
        print(f"execution {handle.id}: {settings.temporal_ui_url}/namespaces/{settings.temporal_namespace}"
              f"/workflows/{handle.id}", file=sys.stderr)
        try:
            result = await handle.result()
        except WorkflowFailureError as err:
            cause = err.cause
            print(json.dumps({"error": getattr(cause, "message", str(cause)),
                              "details": list(getattr(cause, "details", []) or [])}, default=str), file=sys.stderr)
            return 1
    print(json.dumps(result, indent=2, default=str))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args, _settings(dev_outbound=True)))


def cmd_worker(args: argparse.Namespace) -> int:
    settings = _settings()
    overrides = {"temporal_task_queue": args.task_queue, "worker_max_concurrent_activities": args.max_activities,
                 "worker_max_concurrent_workflow_tasks": args.max_workflow_tasks,
                 "worker_max_cached_workflows": args.max_cached_workflows,
                 "worker_sandboxed": False if args.unsandboxed else None}
    settings = settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    print(f"wfo worker: task queue '{settings.temporal_task_queue}', {settings.worker_max_concurrent_activities} "
          f"activities and {settings.worker_max_concurrent_workflow_tasks} workflow tasks at once, "
          f"{settings.worker_max_cached_workflows} cached executions"
          + ("" if settings.worker_sandboxed else ", workflow code unsandboxed"), file=sys.stderr)
    asyncio.run(run_worker(settings))
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings()
    asyncio.run(run_migrations(settings.database_url))
    print("database migrated to head")
    return 0


async def _replay(args: argparse.Namespace, settings: Settings) -> int:
    from temporalio.client import WorkflowHistory
    from temporalio.worker import Replayer

    histories: list[WorkflowHistory] = []
    for path in args.files:
        try:
            histories.append(WorkflowHistory.from_json(Path(path).stem, Path(path).read_text()))
        except (OSError, ValueError) as err:
            print(f"wfo replay: cannot read {path}: {err}", file=sys.stderr)
            return 2
    if args.execution_id:
        client = await connect(settings)
        for execution_id in args.execution_id:
            histories.append(await client.get_workflow_handle(execution_id).fetch_history())
    if not histories:
        print("wfo replay: give history files (temporal workflow show -o json) or --execution-id", file=sys.stderr)
        return 2
    replayer = Replayer(workflows=list(WORKFLOWS), workflow_runner=workflow_runner(),
                        data_converter=data_converter_for(settings.payload_codec_keys, data_converter))
    failed = 0
    for history in histories:
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        if result.replay_failure is None:
            print(f"ok      {history.workflow_id}")
        else:
            failed += 1
            print(f"FAILED  {history.workflow_id}: {result.replay_failure}")
    print(f"{len(histories) - failed} replayed, {failed} failed")
    return 1 if failed else 0


def cmd_replay(args: argparse.Namespace) -> int:
    return asyncio.run(_replay(args, _settings()))


def cmd_gc(args: argparse.Namespace) -> int:
    try:
        retention = parse_duration(args.older_than)
    except ValueError as err:
        raise SystemExit(f"wfo gc: --older-than: {err}")
    deleted = asyncio.run(collect_payloads(_settings().database_url, retention))
    print(f"deleted {deleted} stored payload(s) older than {args.older_than} of finished executions")
    return 0


def cmd_credentials(args: argparse.Namespace) -> int:
    if args.action == "generate-key":
        print(Keyring.generate_key())
        return 0
    try:
        tenant = uuid.UUID(args.tenant) if args.tenant else None
        done = asyncio.run(rotate_all(get_settings(), tenant))
    except CredentialKeyError as err:
        print(f"wfo credentials rotate-key: {err.message}", file=sys.stderr)
        return 1
    print(f"re-encrypted {done} credential(s) with the current key")
    return 0


async def _audit(args: argparse.Namespace, settings: Settings) -> int:
    engine = create_engine(settings, pool_size=1, max_overflow=0)
    try:
        if args.audit_command == "prune":
            retention = parse_duration(args.older_than)
            deleted = await audit.prune(engine, retention, datetime.now(UTC))
            print(f"deleted {deleted} audit row(s) older than {args.older_than}")
            return 0
        result = await audit.verify(engine)
    finally:
        await engine.dispose()
    if result.ok:
        print(f"audit log intact: {result.rows} row(s), hash chain verified")
        return 0
    print(f"audit log BROKEN at row {result.broken_at}: {result.reason} ({result.rows} row(s) verified before it)")
    return 1


def cmd_audit(args: argparse.Namespace) -> int:
    """`wfo audit verify` (exit 1 if the hash chain is broken) / `wfo audit prune --older-than P365D`."""
    try:
        return asyncio.run(_audit(args, get_settings()))
    except ValueError as err:
        raise SystemExit(f"wfo audit: {err}")


def cmd_api(args: argparse.Namespace) -> int:
    import uvicorn

    settings = get_settings()
    workers = args.workers or settings.api_workers
    host, port = args.host or settings.api_host, args.port or settings.api_port
    fast = {"loop": "uvloop", "http": "httptools"}  # C event loop and HTTP parser: less CPU per request
    if workers > 1:  # each process builds its own app (and embedded worker) from the environment
        uvicorn.run("cli.serve:create_app", factory=True, host=host, port=port, workers=workers, **fast)
    else:
        uvicorn.run(build_app(settings), host=host, port=port, **fast)
    return 0


def cmd_dev(args: argparse.Namespace) -> int:
    return asyncio.run(run_dev(Path(args.data_dir), api_port=args.port))


def _settings(*, dev_outbound: bool = False) -> Settings:
    """The environment's settings, or the running dev stack's when the environment names none (said once)."""
    settings, note = cli_settings(dev_outbound=dev_outbound)
    if note:
        print(f"wfo: {note}", file=sys.stderr)
    return settings


def main(argv: list[str] | None = None) -> int:
    env = get_settings()
    configure_logging(env.log_format, env.log_level)  # LOG_FORMAT=json: JSON lines with execution/node/trace ids
    logging.getLogger("httpx").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(prog="wfo", description="Durable workflow orchestration on Temporal")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check a definition file; exits 1 listing every problem")
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="print the problems as JSON")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("run", help="run a definition on the configured Temporal server with an in-process worker")
    p.add_argument("file")
    p.add_argument("--input", help="execution input as JSON")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("worker", help="run a worker (TEMPORAL_ADDRESS, TEMPORAL_TASK_QUEUE...)")
    p.add_argument("--task-queue")
    p.add_argument("--max-activities", type=int, help="activities run at once (WORKER_MAX_CONCURRENT_ACTIVITIES)")
    p.add_argument("--max-workflow-tasks", type=int,
                   help="workflow tasks run at once (WORKER_MAX_CONCURRENT_WORKFLOW_TASKS)")
    p.add_argument("--max-cached-workflows", type=int,
                   help="sticky cache size; bounds memory (WORKER_MAX_CACHED_WORKFLOWS)")
    p.add_argument("--unsandboxed", action="store_true", default=None,
                   help="run workflow code without Temporal's sandbox: less CPU per workflow task, no guard "
                        "against non-deterministic calls (WORKER_SANDBOXED=false)")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("migrate", help="migrate the metadata database to the latest schema")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("replay", help="replay execution histories with this code (catches non-determinism "
                                      "before a deploy)")
    p.add_argument("files", nargs="*", help="history JSON files named <workflow id>.json "
                                            "(temporal workflow show -w ID -o json > ID.json)")
    p.add_argument("--execution-id", action="append", default=[], help="fetch this execution's history")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("gc", help="delete stored payloads of finished executions older than a retention")
    p.add_argument("--older-than", default="P30D", help="ISO-8601 duration (default P30D)")
    p.set_defaults(func=cmd_gc)

    p = sub.add_parser("credentials", help="credentials vault maintenance: rotate-key re-encrypts every "
                                           "credential with the first key of CREDENTIALS_KEYS")
    p.add_argument("action", choices=["rotate-key", "generate-key"])
    p.add_argument("--tenant", help="rotate-key: only this tenant's credentials (id)")
    p.set_defaults(func=cmd_credentials)
    p = sub.add_parser("audit", help="the audit log: verify its hash chain, or prune it (retention)")
    p.add_argument("audit_command", choices=["verify", "prune"],
                   help="verify: recompute the hash chain, exit 1 at the first broken row; "
                        "prune: delete rows older than --older-than (the chain then starts later)")
    p.add_argument("--older-than", default="P365D", help="prune: ISO-8601 duration (default P365D)")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("api", help="serve the API")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--workers", type=int, help="uvicorn worker processes (API_WORKERS, default 1)")
    p.set_defaults(func=cmd_api)

    p = sub.add_parser("dev", help="start everything locally: Postgres, Temporal + Web UI, worker, API")
    p.add_argument("--data-dir", default=".wfo")
    p.add_argument("--port", type=int, default=5000)
    p.set_defaults(func=cmd_dev)

    add_n8n_import_parser(sub, _load_json_file)

    args = parser.parse_args(argv)
    return args.func(args)


def run() -> None:
    """The `wfo` entry point: `main()`, then leave without interpreter finalization (`cli.process`)."""
    try:
        code = main()
    except SystemExit as exc:
        code = exit_code(exc)
    except KeyboardInterrupt:
        code = 130
    hard_exit(code)


if __name__ == "__main__":
    run()
