"""`wfo import-n8n`, as a person runs it: translate, then `wfo run` the result."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


async def wfo(*args: str, env: dict | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli.main", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})})
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    return proc.returncode, out.decode(), err.decode()


async def test_import_then_run(tmp_path, temporal_env):
    code, out, err = await wfo("import-n8n", str(FIXTURES / "items_pipeline.json"))
    assert code == 0, err
    definition = tmp_path / "pipeline.json"
    definition.write_text(out)
    assert json.loads(out)["schema_version"] == 1
    env = {"TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host}
    items = [{"id": 1, "status": "paid", "amount": 9}, {"id": 2, "status": "paid", "amount": 30}]
    code, out, err = await wfo("run", str(definition), "--input", json.dumps(items), env=env)
    assert code == 0, err
    assert json.loads(out) == [{"ids": [2, 1], "amount": [30, 9], "count": 2, "label": "Top 2, 1 of 2 paid",
                                "largest": 30}]


async def test_strict_exits_1_listing_untranslatable_nodes(tmp_path):
    wf = json.loads((FIXTURES / "loop_batches.json").read_text())
    wf["nodes"][3] = {"id": "b4", "name": "Replace Me", "type": "n8n-nodes-base.googleSheets", "typeVersion": 4,
                      "position": [660, 100], "parameters": {"operation": "append"}}
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(wf))
    code, out, err = await wfo("import-n8n", "--strict", str(path))
    assert code == 1 and out == ""
    assert "untranslatable: node 'Replace Me' (n8n-nodes-base.googleSheets)" in err
    code, out, err = await wfo("import-n8n", "--json", "--name", "batches", str(path))
    assert code == 0, err
    result = json.loads(out)
    assert result["name"] == "batches"
    assert result["untranslatable"] == [{"node": "Replace Me", "type": "n8n-nodes-base.googleSheets",
                                         "reason": "node type 'n8n-nodes-base.googleSheets' is not translated"}]


async def test_not_an_export_exits_2(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"nodes": [{"name": "A"}], "connections": {}}))
    code, _, err = await wfo("import-n8n", str(path))
    assert code == 2 and "'type' must be a string" in err
