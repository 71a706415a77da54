"""`wfo import-n8n FILE [--strict] [--name NAME] [--api URL --token TOKEN] [--json]` (layer 5: the CLI).

Without `--api`: translates locally and prints the definition (pipe it into `wfo run -`/a file), with the
untranslatable nodes and warnings on stderr. With `--api` (or `WFO_API_URL`): posts the export to
`POST /api/v1/workflows/import/n8n`, which creates the workflow and its triggers, and prints the answer.
Exit codes: 0 imported, 1 untranslatable nodes under `--strict` (or refused by the API), 2 unusable input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import httpx

from workflows.n8n_import import N8nFormatError, import_n8n


def add_parser(sub: Any, load_json: Any) -> None:
    p = sub.add_parser("import-n8n", help="translate an n8n workflow export (and, with --api, create it)")
    p.add_argument("file", help="n8n workflow export (JSON), or - for stdin")
    p.add_argument("--strict", action="store_true", help="refuse if any node or parameter cannot be translated")
    p.add_argument("--name", help="name of the created workflow (default: the n8n workflow's name)")
    p.add_argument("--json", action="store_true", help="print the whole result (definition, triggers, "
                                                       "untranslatable, warnings) as JSON")
    p.add_argument("--api", default=os.environ.get("WFO_API_URL"), help="create it through this API "
                                                                         "(e.g. http://127.0.0.1:5000)")
    p.add_argument("--token", default=os.environ.get("WFO_API_TOKEN"), help="bearer token for --api")
    p.add_argument("--no-js-fallback", dest="js_fallback", action="store_false",
                   help="report expressions without an exact JSONata form as untranslatable instead of "
                        "evaluating them with JavaScript (code.javascript)")
    p.add_argument("--workflow-id", action="append", default=[], metavar="N8N_ID=ID",
                   help="an Execute Workflow node calling n8n workflow N8N_ID runs our workflow ID (repeatable)")
    p.set_defaults(func=lambda args: cmd_import_n8n(args, load_json(args.file)))


def _report(untranslatable: list[dict[str, Any]], warnings: list[dict[str, Any]]) -> None:
    for u in untranslatable:
        print(f"  untranslatable: node '{u['node']}' ({u['type']}): {u['reason']}", file=sys.stderr)
    for w in warnings:
        where = f"node '{w['node']}': " if w.get("node") else ""
        print(f"  warning: {where}{w['message']}", file=sys.stderr)


def _workflow_ids(args: argparse.Namespace) -> dict[str, str]:
    ids: dict[str, str] = {}
    for item in args.workflow_id:
        n8n_id, sep, ours = item.partition("=")
        if not sep or not n8n_id or not ours:
            raise SystemExit(f"wfo: --workflow-id {item!r}: expected N8N_ID=ID")
        ids[n8n_id] = ours
    return ids


def cmd_import_n8n(args: argparse.Namespace, data: Any) -> int:
    if args.api:
        return _via_api(args, data)
    try:
        result = import_n8n(data, _workflow_ids(args), args.js_fallback)
    except N8nFormatError as err:
        print(f"wfo: {args.file} is not an n8n workflow export:", file=sys.stderr)
        for p in err.problems:
            print(f"  - {p}", file=sys.stderr)
        return 2
    _report(result.untranslatable, result.warnings)
    if args.strict and result.untranslatable:
        print(f"wfo: {len(result.untranslatable)} node(s) cannot be translated (--strict)", file=sys.stderr)
        return 1
    if args.name:
        result.name = args.name
    print(json.dumps(result.to_dict() if args.json else result.definition, indent=2))
    return 0


def _via_api(args: argparse.Namespace, data: Any) -> int:
    body: dict[str, Any] = {"workflow": data, "strict": bool(args.strict), "workflow_ids": _workflow_ids(args),
                            "js_fallback": bool(args.js_fallback)}
    if args.name:
        body["name"] = args.name
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    try:
        r = httpx.post(args.api.rstrip("/") + "/api/v1/workflows/import/n8n", json=body, headers=headers,
                       timeout=60)
    except httpx.HTTPError as err:
        print(f"wfo: cannot reach {args.api}: {type(err).__name__}: {err}", file=sys.stderr)
        return 2
    try:
        answer = r.json()
    except ValueError:
        answer = {"detail": r.text}
    if r.status_code != 201:
        detail = answer.get("detail")
        print(f"wfo: the API refused the import ({r.status_code}): "
              f"{detail.get('message') if isinstance(detail, dict) else detail}", file=sys.stderr)
        if isinstance(detail, dict):
            _report(detail.get("untranslatable") or [], [])
            for p in detail.get("problems") or []:
                print(f"  - {p}", file=sys.stderr)
        return 1 if r.status_code == 422 else 2
    _report(answer.get("untranslatable") or [], answer.get("warnings") or [])
    if args.json:
        print(json.dumps(answer, indent=2))
    else:
        wf = answer["workflow"]
        print(f"created workflow {wf['id']} ({wf['name']})")
        for t in answer.get("triggers") or []:
            print(f"  trigger {t['kind']} {t['id']}" + (f" {t['url']}" if t.get("url") else ""))
    return 0
