"""Recorded histories replay against the current interpreter: a non-deterministic change fails here.

Regenerate only for intended, `workflow.patched`-guarded changes (see histories/record.py), keeping the
old files: they stand for executions still running in production.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.engine.mutated import LocalActivityCloseInterpreter, ReorderedInterpreter
from worker.main import WORKFLOWS, workflow_runner

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())  # the file is named after the workflow id


def test_histories_are_present():
    names = {p.stem.removeprefix("replay-") for p in HISTORIES}
    assert {"issue_example", "parallel_join_switch_filter", "retry_error_port", "loop_continue_as_new",
            "map_children", "wait_and_terminate", "large_payload", "approval_two_votes",
            "approval_then_http_patched", "node_runs_recorded_patched", "redrive_resume",
            "advanced_components", "approval_features_no_markers", "approval_closed_outside_history"} <= names
    # WebhookDelivery and ScheduledTrigger (histories/record_events.py)
    assert {"delivery_retried", "delivery_subscription_gone", "schedule_completed", "schedule_skipped"} <= names
    assert "alerts_scheduler" in names  # histories/record_alerts.py


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_replay_recorded_history(path: Path):
    replayer = Replayer(workflows=list(WORKFLOWS),
                        workflow_runner=workflow_runner())
    result = await replayer.replay_workflow(load(path), raise_on_replay_failure=True)
    assert result.replay_failure is None


async def test_unguarded_change_is_caught():
    replayer = Replayer(workflows=[ReorderedInterpreter], workflow_runner=workflow_runner())
    result = await replayer.replay_workflow(load(next(p for p in HISTORIES if "approval" in p.stem)), raise_on_replay_failure=False)
    assert result.replay_failure is not None
    assert "nondetermin" in str(result.replay_failure).lower()


async def test_the_close_outside_history_is_pinned_by_its_history():
    """A run started with `close-outside-history` has no node-runs local activity in its history: an
    interpreter that ran that local activity for it again would not replay it (and the runs recorded before,
    with the marker, still replay with today's interpreter: test_replay_recorded_history)."""
    history = load(next(p for p in HISTORIES if p.stem.endswith("approval_closed_outside_history")))
    result = await Replayer(workflows=[LocalActivityCloseInterpreter], workflow_runner=workflow_runner()) \
        .replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is not None and "nondetermin" in str(result.replay_failure).lower()
