"""Pure data components run by the real interpreter on a real Temporal dev server.

Proves they import and run inside the workflow sandbox (no activity round trip), that the run replays
deterministically (workflow time and randomness), that a node reading a too-large value goes through the
`wfo.evaluate` activity with the same result, and that bad data fails the node onto its `error` port.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.worker import Replayer

from tests.helpers import defn, node
from wfo.executions import start_execution
from worker.main import build_worker, workflow_runner
from workflows.interpreter import InterpreterWorkflow
from workflows.types import ExecutionOptions

CSV = "region,product,amount,email\nnorth,apple,3,a@x.io\nsouth,pear,5,b@x.io\nnorth,apple,3,a@x.io\n" \
      "north,plum,4,c@x.io\n"

CHAIN = defn([
    node("start", "start"),
    node("rows", "csv.parse", text="{{ input.csv }}", infer_types=True),
    node("unique", "dedupe", items="nodes.rows"),
    node("sorted", "sort", items="nodes.unique", by=[{"field": "amount", "order": "desc"}]),
    node("top", "limit", items="nodes.sorted", max_items=2),
    node("totals", "summarize", items="nodes.unique", group_by=["region"],
         aggregations=[{"op": "sum", "field": "amount", "as": "total"}, {"op": "count"}]),
    node("fork", "parallel"),
    node("emails", "aggregate", items="nodes.unique", fields=[{"field": "email", "as": "emails"}]),
    node("regions", "transform", expression="[nodes.totals.{'region': region, 'n': count}]"),
    node("join", "join"),
    node("merged", "merge", inputs="{'totals': nodes.totals, 'regions': nodes.join.regions}", mode="by_key", key="region"),
    node("report", "template.render",
         template="{% for r in merged %}{{ r.region }}={{ r.total }}/{{ r.n }};{% endfor %}",
         data="{'merged': nodes.merged}"),
    node("digest", "crypto", value="{{ nodes.report.text }}", algorithm="sha256"),
    node("id", "crypto", operation="uuid"),
    node("when", "datetime", operation="add", duration="P1D", timezone="Europe/Paris", format="%Y-%m-%d"),
    node("parsed_day", "datetime", operation="parse", value="{{ input.day }}", input_format="%d/%m/%Y %H:%M",
         input_timezone="America/New_York", timezone="Asia/Tokyo"),
    node("packed", "compression", operation="gzip", data="{{ nodes.report.text }}"),
    node("unpacked", "compression", operation="gunzip", data="{{ nodes.packed.data }}"),
    node("xml", "xml.format", value="{{ {'report': {'@digest': nodes.digest.value, 'line': nodes.merged.region} } }}"),
    node("parsed", "xml.parse", text="{{ nodes.xml.text }}", force_list=["line"]),
    node("md", "markdown", text="# Report\n\n{{ nodes.unpacked.data }}"),
    node("title", "html.extract", html="{{ nodes.md.text }}", extract=[{"key": "h1", "selector": "h1"}]),
    node("md2", "markdown", operation="to_markdown", text="{{ nodes.md.text }}"),
    node("check", "json_schema.validate", value="{{ nodes.top }}",
         schema={"type": "array", "items": {"type": "object", "required": ["amount"]}, "maxItems": 2}),
    node("bad", "terminate", message="schema says invalid"),
    node("end", "end", output="{{ {'top': nodes.top, 'emails': nodes.emails.emails, 'merged': nodes.merged, "
                               "'report': nodes.report.text, 'digest': nodes.digest.value, 'id': nodes.id.value, "
                               "'when': nodes.when, 'day': nodes.parsed_day.iso, 'roundtrip': nodes.unpacked.data, 'lines': nodes.parsed.report.line, "
                               "'title': nodes.title.h1, 'md': nodes.md2.text, 'valid': nodes.check.valid, 'now': $now()} }}"),
], ["start->rows", "rows->unique", "unique->sorted", "sorted->top", "top->totals", "totals->fork",
    "fork->emails", "fork->regions", "emails->join", "regions->join", "join->merged", "merged->report",
    "report->digest", "digest->id", "id->when", "when->parsed_day", "parsed_day->packed", "packed->unpacked", "unpacked->xml",
    "xml->parsed", "parsed->md", "md->title", "title->md2", "md2->check", "check:valid->end", "check:invalid->bad"])


@pytest_asyncio.fixture
async def started(temporal_env, settings):
    client = temporal_env.client

    async def _start(definition, input=None, **kw):
        return await start_execution(client, definition=definition, input=input,
                                     task_queue=settings.temporal_task_queue, **kw)

    async with build_worker(client, settings):
        yield _start


async def _activities(handle) -> list[str]:
    out = []
    async for ev in handle.fetch_history_events():
        if ev.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            out.append(ev.activity_task_scheduled_event_attributes.activity_type.name)
    return out


async def test_chain_of_data_components_runs_inline_and_replays(started):
    h = await started(CHAIN, {"csv": CSV, "day": "31/12/2024 23:30"})
    out = await asyncio.wait_for(h.result(), timeout=60)
    assert out["top"] == [{"region": "south", "product": "pear", "amount": 5, "email": "b@x.io"},
                          {"region": "north", "product": "plum", "amount": 4, "email": "c@x.io"}]
    assert out["emails"] == ["a@x.io", "b@x.io", "c@x.io"]
    assert out["merged"] == [{"region": "north", "total": 7, "count": 2, "n": 2},
                             {"region": "south", "total": 5, "count": 1, "n": 1}]
    assert out["report"] == "north=7/2;south=5/1;"
    assert out["digest"] == hashlib.sha256(b"north=7/2;south=5/1;").hexdigest()
    assert out["roundtrip"] == "north=7/2;south=5/1;"
    assert out["lines"] == ["north", "south"]
    assert out["title"] == "Report"
    assert out["md"] == "# Report\n\nnorth=7/2;south=5/1;\n"
    assert out["valid"] is True
    # datetime "now" is workflow time: one day after the time the end node saw, in Paris
    now = datetime.fromisoformat(out["now"].replace("Z", "+00:00"))
    assert out["when"]["timezone"] == "Europe/Paris"
    assert out["when"]["value"] == (now.astimezone(ZoneInfo("Europe/Paris")) + timedelta(days=1)).strftime("%Y-%m-%d")
    assert out["when"]["epoch_ms"] == int(now.timestamp() * 1000) + 86_400_000
    assert out["day"] == "2025-01-01T13:30:00+09:00"
    assert len(out["id"]) == 36 and out["id"][14] == "4"
    # every node ran inside the workflow: no activity at all
    assert await _activities(h) == []
    # and the history replays identically (uuid from workflow randomness, time from workflow time)
    history = await h.fetch_history()
    replayer = Replayer(workflows=[InterpreterWorkflow], workflow_runner=workflow_runner())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


async def test_large_output_goes_through_evaluate_with_the_same_result(started):
    rows = [{"k": i % 7, "pad": "x" * 40} for i in range(400)]
    d = defn([node("start", "start"),
              node("sorted", "sort", items="input.rows", by=[{"field": "k"}]),
              node("n", "summarize", items="nodes.sorted", group_by=["k"]),
              node("end", "end", output="{{ {'first': nodes.sorted[0], 'groups': nodes.n} }}")],
             ["start->sorted", "sorted->n", "n->end"])
    h = await started(d, {"rows": rows}, options=ExecutionOptions(payload_threshold_bytes=4096))
    out = await asyncio.wait_for(h.result(), timeout=60)
    assert out["first"] == {"k": 0, "pad": "x" * 40}
    assert out["groups"] == [{"k": k, "count": len([r for r in rows if r["k"] == k])} for k in range(7)]
    # the sorted list is larger than the threshold: computed by the evaluate activity and stored by reference;
    # the nodes reading it (summarize, end) are evaluated there too, where the reference is resolved
    assert await _activities(h) == ["wfo.evaluate", "wfo.evaluate", "wfo.evaluate"]


async def test_heavy_parse_runs_in_the_evaluate_activity(started):
    page = "<ul>" + "".join(f"<li>item {i}</li>" for i in range(6000)) + "</ul>"  # > 16 KiB of HTML
    d = defn([node("start", "start"),
              node("x", "html.extract", html="{{ input.page }}", extract=[{"key": "items", "selector": "li",
                                                                          "all": True}]),
              node("n", "transform", expression="$count(nodes.x.items)"),
              node("end", "end", output="{{ {'n': nodes.n, 'last': nodes.x.items[-1]} }}")],
             ["start->x", "x->n", "n->end"])
    h = await started(d, {"page": page})
    assert await asyncio.wait_for(h.result(), timeout=60) == {"n": 6000, "last": "item 5999"}
    assert await _activities(h) == ["wfo.evaluate"]


async def test_bad_data_fails_the_node_onto_its_error_port(started):
    bomb = base64.b64encode(gzip.compress(b"0" * 5_000_000)).decode()
    d = defn([node("start", "start"),
              node("xml", "xml.parse", text='<!DOCTYPE a [<!ENTITY e "boom">]><a>&e;</a>'),
              node("zip", "compression", operation="gunzip", data="{{ input.bomb }}", max_output_bytes=1000),
              node("bigxml", "xml.parse", text="{{ input.bigxml }}"),
              node("end", "end", output="{{ {'xml': nodes.xml.error, 'zip': nodes.zip.error, "
                                        "'big': nodes.bigxml.error} }}")],
             ["start->xml", "xml:error->zip", "zip:error->bigxml", "bigxml:error->end"])
    bigxml = '<!DOCTYPE a [<!ENTITY e "x">]><a>' + "<b>&e;</b>" * 8000 + "</a>"  # > 64 KiB: parsed in the activity
    h = await started(d, {"bomb": bomb, "bigxml": bigxml})
    out = await asyncio.wait_for(h.result(), timeout=60)
    # the same typed failure through wfo.evaluate, not retried
    assert out["big"]["type"] == "UnsafeXml" and out["big"]["attempts"] == 1
    assert await _activities(h) == ["wfo.evaluate"]
    assert out["xml"]["type"] == "UnsafeXml"
    assert out["zip"]["type"] == "DecompressedTooLarge"
    assert "max_output_bytes=1000" in out["zip"]["message"]


async def test_inline_limits_are_part_of_the_history(monkeypatch):
    """Which data nodes run in `wfo.evaluate` is recorded in history: raising a limit makes a recorded
    execution non-deterministic (so such a change needs `workflow.patched`). The recorded history replays
    as is, and fails once html.extract's limit no longer sends its 18 KiB page to the activity."""
    from pathlib import Path

    from temporalio.client import WorkflowHistory

    from workflows import data_components

    path = Path(__file__).parent / "histories" / "replay-data_components.json"
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(workflows=[InterpreterWorkflow], workflow_runner=workflow_runner())
    assert (await replayer.replay_workflow(history, raise_on_replay_failure=False)).replay_failure is None
    monkeypatch.setitem(data_components.INLINE_MAX_TEXT, "html.extract", 10**9)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is not None
