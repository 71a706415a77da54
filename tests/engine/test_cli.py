"""`wfo validate` and `wfo run`, as a person runs them."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


async def wfo(*args: str, env: dict | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli.main", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})})
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    return proc.returncode, out.decode(), err.decode()


async def test_validate_valid_file():
    code, out, _ = await wfo("validate", str(EXAMPLES / "order-total.json"))
    assert code == 0 and "valid" in out


async def test_validate_reports_every_problem_and_exits_nonzero():
    code, _, err = await wfo("validate", str(EXAMPLES / "broken.json"))
    assert code == 1
    assert "5 problem(s)" in err
    for expected in ("node 'total', config.expression", "has no port 'yes'", "'url' is a required property",
                     "node 'orphan': node is not reachable", "'nowhere' is not a node"):
        assert expected in err
    code, out, _ = await wfo("validate", "--json", str(EXAMPLES / "broken.json"))
    data = json.loads(out)
    assert code == 1 and data["valid"] is False
    assert {p["node_id"] for p in data["problems"]} >= {"total", "check", "notify", "orphan"}


async def test_validate_unreadable_and_non_json(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text("{not json")
    code, _, err = await wfo("validate", str(bad))
    assert code != 0 and "not valid JSON" in err
    code, _, err = await wfo("validate", str(tmp_path / "missing.json"))
    assert code != 0 and "cannot read" in err


async def test_run_prints_output_as_json(temporal_env):
    env = {"TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host}
    code, out, err = await wfo("run", str(EXAMPLES / "order-total.json"), "--input",
                               '{"items": [{"price": 700, "qty": 2}]}', env=env)
    assert code == 0, err
    assert json.loads(out) == {"amount": 1400, "review": True, "reason": "Order of 1400 needs a second look"}
    assert "/workflows/exec-" in err  # where to look in the Temporal UI


async def test_run_refuses_invalid_definition_and_bad_input(temporal_env):
    env = {"TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host}
    code, _, err = await wfo("run", str(EXAMPLES / "broken.json"), env=env)
    assert code == 1 and "is not reachable" in err
    code, _, err = await wfo("run", str(EXAMPLES / "order-total.json"), "--input", "{oops", env=env)
    assert code == 2 and "--input is not valid JSON" in err


async def test_run_without_server_says_so():
    code, _, err = await wfo("run", str(EXAMPLES / "order-total.json"), env={"TEMPORAL_ADDRESS": "127.0.0.1:1"})
    assert code == 3 and "cannot reach Temporal" in err


HISTORIES = Path(__file__).resolve().parent / "histories"


async def test_replay_recorded_histories_and_a_tampered_one(tmp_path):
    files = sorted(str(p) for p in HISTORIES.glob("*.json"))
    code, out, _ = await wfo("replay", *files)
    assert len(files) >= 13  # Interpreter, WebhookDelivery and ScheduledTrigger histories
    assert code == 0 and f"{len(files)} replayed, 0 failed" in out
    tampered = tmp_path / "replay-issue_example.json"
    tampered.write_text((HISTORIES / "replay-issue_example.json").read_text()
                        .replace('"http.request"', '"email.send"'))
    code, out, _ = await wfo("replay", str(tampered))
    assert code == 1 and "FAILED" in out and "0 replayed, 1 failed" in out


async def test_replay_a_live_execution(temporal_env):
    env = {"TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host}
    code, out, err = await wfo("run", str(EXAMPLES / "order-total.json"), "--input", '{"items": []}', env=env)
    assert code == 0, err
    execution_id = err.split("execution ", 1)[1].split(":", 1)[0]
    code, out, _ = await wfo("replay", "--execution-id", execution_id, env=env)
    assert code == 0 and f"ok      {execution_id}" in out
