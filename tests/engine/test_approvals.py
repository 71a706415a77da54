"""Approval nodes: N-of-M decisions through a validated Temporal Update, escalation and timeouts."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from tests.helpers import defn, node
from wfo.executions import start_execution
from worker.main import build_worker
from workflows.types import APPROVALS_QUERY, DECIDE_UPDATE, Decision


def approval_flow(**cfg) -> dict:
    base = {"title": "Pay invoice {{ input.invoice }}", "description": "Amount {{ input.amount }}",
            "assignees": {"users": ["alice@x.io", "bob@x.io", "carol@x.io"]}}
    base.update(cfg)
    return defn(
        [node("start", "start"), node("ok", "approval", **base),
         node("yes", "end", output={"result": "approved", "task": "{{ nodes.ok }}"}),
         node("no", "end", output={"result": "rejected", "task": "{{ nodes.ok }}"}),
         node("late", "end", output={"result": "timeout", "task": "{{ nodes.ok }}"})],
        ["start->ok", "ok:approved->yes", "ok:rejected->no", "ok:timeout->late"],
    )


async def open_task(handle, timeout: float = 30) -> dict:
    for _ in range(int(timeout * 10)):
        tasks = await handle.query(APPROVALS_QUERY)
        if tasks:
            return tasks[0]
        await asyncio.sleep(0.1)
    raise AssertionError("no approval task opened")


async def decide(handle, task_id: str, who: str, decision: str = "approved", **kw) -> dict:
    return await handle.execute_update(DECIDE_UPDATE, Decision(task_id=task_id, decision=decision, user_email=who,
                                                               **kw), result_type=dict)


async def refused(handle, task_id, who, decision="approved", **kw) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await decide(handle, task_id, who, decision, **kw)
    return info.value.cause.type


async def task_row(settings, task_id: str) -> asyncpg.Record:
    """The inbox row (written by an activity right after the task opens in the workflow)."""
    conn = await asyncpg.connect(settings.database_url)
    try:
        for _ in range(100):
            row = await conn.fetchrow("SELECT * FROM tasks WHERE id = $1", task_id)
            if row is not None:
                return row
            await asyncio.sleep(0.1)
        raise AssertionError(f"task {task_id} never reached the inbox")
    finally:
        await conn.close()


@pytest.fixture
async def env(temporal_env, settings):
    client = temporal_env.client
    async with build_worker(client, settings):
        async def start(d, inp=None, **kw):
            return await start_execution(client, definition=d, input=inp, task_queue=settings.temporal_task_queue,
                                         **kw)
        yield start


async def test_two_of_three_with_every_refusal(env, settings):
    form = {"type": "object", "required": ["cost_center"], "properties": {"cost_center": {"type": "string"}}}
    h = await env(approval_flow(required_approvals=2, form=form), {"invoice": "INV-7", "amount": 120},
                  started_by="carol@x.io")
    task = await open_task(h)
    assert task["title"] == "Pay invoice INV-7" and task["required_approvals"] == 2
    row = await task_row(settings, task["task_id"])
    assert row["status"] == "pending" and row["description"] == "Amount 120"

    assert await refused(h, task["task_id"], "mallory@x.io") == "NotAssignee"
    assert await refused(h, task["task_id"], "carol@x.io", data={"cost_center": "A"}) == "SelfApproval"
    assert await refused(h, task["task_id"], "alice@x.io", data={"cost_center": 5}) == "InvalidForm"
    assert await refused(h, task["task_id"], "alice@x.io", "maybe") == "InvalidDecision"

    first = await decide(h, task["task_id"], "alice@x.io", data={"cost_center": "A"}, comment="fine",
                         idempotency_key="k1")
    assert first["status"] == "pending" and first["approvals"] == 1
    again = await decide(h, task["task_id"], "alice@x.io", data={"cost_center": "A"}, idempotency_key="k1")
    assert again == first  # a repeat returns the first result instead of voting twice
    assert await refused(h, task["task_id"], "alice@x.io", data={"cost_center": "A"}) == "AlreadyVoted"

    done = await decide(h, task["task_id"], "bob@x.io", data={"cost_center": "B"}, comment="ok")
    assert done["status"] == "approved"
    out = await asyncio.wait_for(h.result(), 30)
    assert out["result"] == "approved"
    assert [v["user"] for v in out["task"]["votes"]] == ["alice@x.io", "bob@x.io"]
    assert out["task"]["decided_by"] == "bob@x.io" and out["task"]["data"] == {"cost_center": "B"}

    # refused decisions never reached history: exactly the two accepted votes (the repeat is not new)
    accepted = [ev async for ev in h.fetch_history_events()
                if ev.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED]
    assert len(accepted) == 3  # alice, alice's repeat (answered from the first result), bob
    row = await task_row(settings, task["task_id"])
    assert row["status"] == "approved" and len(row["votes"]) > 2 and row["completed_at"] is not None


async def test_role_assignee_rejects(env, settings):
    h = await env(approval_flow(assignees={"roles": ["operator"]}), {"invoice": "I", "amount": 1})
    task = await open_task(h)
    assert await refused(h, task["task_id"], "dev@x.io", roles=["developer"]) == "NotAssignee"
    res = await decide(h, task["task_id"], "op@x.io", "rejected", roles=["operator"], comment="no budget")
    assert res["status"] == "rejected"
    out = await asyncio.wait_for(h.result(), 30)
    assert out["result"] == "rejected" and out["task"]["comment"] == "no budget"
    with pytest.raises(RPCError, match="already completed"):  # the API answers 409 for this
        await decide(h, task["task_id"], "op2@x.io", roles=["operator"])


async def test_closed_task_in_running_execution_refuses(env):
    # two approvals in a row: deciding the first again while the second waits is refused as closed
    d = defn([node("start", "start"),
              node("a", "approval", title="first", assignees={"users": ["alice@x.io", "bob@x.io"]}),
              node("b", "approval", title="second", assignees={"users": ["bob@x.io"]}),
              node("end", "end", output="{{ nodes.b.decision }}")],
             ["start->a", "a:approved->b", "b:approved->end"])
    h = await env(d)
    first = await open_task(h)
    await decide(h, first["task_id"], "alice@x.io")
    for _ in range(100):
        tasks = await h.query(APPROVALS_QUERY)
        if len(tasks) == 2:
            break
        await asyncio.sleep(0.1)
    assert await refused(h, first["task_id"], "bob@x.io") == "TaskClosed"
    await decide(h, tasks[1]["task_id"], "bob@x.io")
    assert await asyncio.wait_for(h.result(), 30) == "approved"


async def test_three_day_due_escalation_then_final_timeout(time_env, settings):
    """Nobody decides: after 3 days the task escalates to admins, after 3 more it follows `timeout`."""
    client = time_env.client
    local = settings.model_copy(update={"temporal_task_queue": f"ts-{uuid.uuid4().hex[:8]}"})
    d = approval_flow(assignees={"users": ["alice@x.io"]}, due="P3D", escalate_to={"roles": ["admin"]},
                      on_timeout="escalate")
    async with build_worker(client, local):
        h = await start_execution(client, definition=d, input={"invoice": "I", "amount": 9},
                                  task_queue=local.temporal_task_queue)
        out = await asyncio.wait_for(h.result(), 60)
    assert out["result"] == "timeout"
    assert out["task"]["escalated"] is True and out["task"]["decision"] == "timed_out"
    desc = await h.describe()
    elapsed = desc.close_time - desc.start_time
    assert 6 * 86400 <= elapsed.total_seconds() < 6 * 86400 + 600
    row = await task_row(settings, out["task"]["task_id"])
    assert row["status"] == "timed_out" and row["escalated"] is True and "admin" in row["assignee_roles"]


async def test_escalated_admin_can_decide(time_env, settings):
    client = time_env.client
    local = settings.model_copy(update={"temporal_task_queue": f"ts-{uuid.uuid4().hex[:8]}"})
    d = approval_flow(assignees={"users": ["alice@x.io"]}, due="P1D", escalate_to={"roles": ["admin"]})
    async with build_worker(client, local):
        h = await start_execution(client, definition=d, input={"invoice": "I", "amount": 9},
                                  task_queue=local.temporal_task_queue)
        task = await open_task(h)
        assert await refused(h, task["task_id"], "boss@x.io", roles=["admin"]) == "NotAssignee"
        await time_env.sleep(86400 + 60)
        for _ in range(100):
            task = (await h.query(APPROVALS_QUERY))[0]
            if task["escalated"]:
                break
            await asyncio.sleep(0.1)
        assert task["escalated"] and "admin" in task["assignees"]["roles"]
        await decide(h, task["task_id"], "boss@x.io", roles=["admin"])
        out = await asyncio.wait_for(h.result(), 60)
    assert out["result"] == "approved" and out["task"]["escalated"] is True


async def test_timeout_reject_policy(time_env, settings):
    client = time_env.client
    local = settings.model_copy(update={"temporal_task_queue": f"ts-{uuid.uuid4().hex[:8]}"})
    d = approval_flow(due="PT2H", on_timeout="reject")
    async with build_worker(client, local):
        h = await start_execution(client, definition=d, input={"invoice": "I", "amount": 9},
                                  task_queue=local.temporal_task_queue)
        out = await asyncio.wait_for(h.result(), 60)
    assert out["result"] == "rejected" and out["task"]["timed_out"] is True


async def test_escalation_emails_the_new_assignees(time_env, settings):
    from tests.localpeers import SmtpSink

    client = time_env.client
    with SmtpSink() as smtp:
        local = settings.model_copy(update={"temporal_task_queue": f"ts-{uuid.uuid4().hex[:8]}",
                                            "smtp_host": "127.0.0.1", "smtp_port": smtp.port})
        d = approval_flow(assignees={"users": ["alice@x.io"]}, due="P1D", escalate_to={"users": ["boss@x.io"]},
                          notify={"email": True})
        async with build_worker(client, local):
            h = await start_execution(client, definition=d, input={"invoice": "I-9", "amount": 9},
                                      task_queue=local.temporal_task_queue)
            task = await open_task(h)
            for _ in range(100):
                if smtp.mails:
                    break
                await asyncio.sleep(0.1)
            assert [m.rcpt_tos for m in smtp.mails] == [["alice@x.io"]]
            await time_env.sleep(86400 + 60)
            for _ in range(100):
                if len(smtp.mails) == 2:
                    break
                await asyncio.sleep(0.1)
            assert [m.rcpt_tos for m in smtp.mails] == [["alice@x.io"], ["boss@x.io"]]
            assert "Pay invoice I-9" in smtp.mails[1].message["Subject"]
            await decide(h, task["task_id"], "boss@x.io")
            out = await asyncio.wait_for(h.result(), 60)
    assert out["result"] == "approved" and out["task"]["escalated"] is True
