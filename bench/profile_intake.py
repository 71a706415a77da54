"""Profile webhook intake: the stack of bench/intake.py, N webhooks at C concurrent senders while py-spy
samples the API and the worker; prints the history of one execution and the top of each profile.

    .venv/bin/python bench/profile_intake.py --mode async --requests 600 --out /tmp/prof
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from bench.intake import BODY, FLOW, webhooks
from bench.runner import run
from bench.stack import local_stack, pids_matching

PY_SPY = str(Path(sys.executable).parent / "py-spy")


def top(raw: Path, n: int = 25) -> list[str]:
    """Self and inclusive sample shares of the hottest functions of a py-spy raw (collapsed) profile."""
    incl: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        c = int(count)
        total += c
        frames = stack.split(";")
        for f in set(frames):
            incl[f] += c
        own[frames[-1]] += c
    out = [f"{total} samples"]
    out += [f"incl {100 * c / total:5.1f}%  {f}" for f, c in incl.most_common(n)]
    out += [f"self {100 * c / total:5.1f}%  {f}" for f, c in own.most_common(n)]
    return out


async def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="async", choices=["async", "sync"])
    ap.add_argument("--requests", type=int, default=600)
    ap.add_argument("--concurrency", type=int, default=20)
    ap.add_argument("--out", default="/tmp/prof")
    ap.add_argument("--sandboxed", action="store_true")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    async with local_stack(worker="process", sandboxed=args.sandboxed) as stack:
        async with httpx.AsyncClient(base_url=stack.base_url, timeout=60) as http:
            headers = await stack.login(http)
            wf = (await http.post("/api/v1/workflows", headers=headers,
                                  json={"name": "intake", "definition": FLOW, "status": "active"})).json()
            trig = (await http.post(f"/api/v1/workflows/{wf['id']}/triggers", headers=headers, json={
                "kind": "webhook", "rate_limit_per_minute": 0, "response_mode": args.mode})).json()
            url = f"/api/v1/hooks/{trig['id']}"
            expect = 202 if args.mode == "async" else 200
            r = await http.post(url, json={"body": BODY, **BODY})
            eid = r.json()["execution_id"]
            await stack.client.get_workflow_handle(eid).result()
            events = [e async for e in stack.client.get_workflow_handle(eid).fetch_history_events()]
            print(f"history of one execution: {len(events)} events")
            for e in events:
                kind = e.WhichOneof("attributes")
                extra = ""
                if kind == "activity_task_scheduled_event_attributes":
                    extra = e.activity_task_scheduled_event_attributes.activity_type.name
                if kind == "marker_recorded_event_attributes":
                    extra = e.marker_recorded_event_attributes.marker_name
                print(f"  {e.event_id:3} {kind} {extra}")
            tq = stack.settings.temporal_task_queue

            async def drain(timeout: float = 120.0) -> None:  # the profiles cover every execution's whole work
                query = f'TaskQueue="{tq}" AND WorkflowType="Interpreter" AND ExecutionStatus="Running"'
                deadline = time.monotonic() + timeout
                while (await stack.client.count_workflows(query)).count and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)

            await webhooks(http, url, 60, args.concurrency, {}, expect, drain)  # warm-up: both workers are up
            pids = {"api": stack.api_proc.pid,
                    "worker": next(p.pid for p in stack.procs if p is not stack.api_proc)}
            port = stack.settings.temporal_address.rsplit(":", 1)[1]
            spies = {name: subprocess.Popen([PY_SPY, "record", "--pid", str(pid), "--format", "raw", "--rate", "200", "--gil",
                                             "--nonblocking", "-o", str(out / f"{name}.txt")],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                     for name, pid in pids.items()}
            await asyncio.sleep(1.0)
            cpids = {"api": [pids["api"]], "worker": [pids["worker"]],
                     "temporal": pids_matching("start-dev", f"--port {port}")}

            t0 = time.perf_counter()
            res = await webhooks(http, url, args.requests, args.concurrency, cpids, expect, drain)
            print(json.dumps(res), f"wall {time.perf_counter() - t0:.1f}s")
            for p in spies.values():
                p.send_signal(2)
            for p in spies.values():
                p.wait(30)
    for name in ("api", "worker"):
        f = out / f"{name}.txt"
        if f.exists():
            print(f"\n== {name}")
            print("\n".join(top(f)))
    return 0


if __name__ == "__main__":
    run(main)
