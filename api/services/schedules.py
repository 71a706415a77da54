"""Trigger kind ``schedule`` as a Temporal Schedule whose action is ``ScheduledTrigger``.

Temporal holds the schedule (when it fires, paused or not); Postgres holds the trigger row.
Every change is made in Temporal first and then committed to Postgres, and reads reconcile the
row from Temporal's describe, so the two agree after a crash between the two steps.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleHandle,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
)
from temporalio.service import RPCError, RPCStatusCode

from workflows.search_attributes import execution_search_attributes
from workflows.trigger_schedule import ScheduledRunInput, ScheduledTriggerWorkflow, schedule_id_for

OVERLAP = {
    "skip": ScheduleOverlapPolicy.SKIP,
    "buffer_one": ScheduleOverlapPolicy.BUFFER_ONE,
    "buffer_all": ScheduleOverlapPolicy.BUFFER_ALL,
    "cancel_other": ScheduleOverlapPolicy.CANCEL_OTHER,
    "terminate_other": ScheduleOverlapPolicy.TERMINATE_OTHER,
    "allow_all": ScheduleOverlapPolicy.ALLOW_ALL,
}


def build_schedule(
    *, trigger_id: str, tenant_id: str, workflow_id: str, config: dict[str, Any], paused: bool, task_queue: str
) -> Schedule:
    if config.get("cron"):
        spec = ScheduleSpec(
            cron_expressions=[config["cron"]],
            time_zone_name=config.get("timezone") or "UTC",
            jitter=timedelta(seconds=config.get("jitter_seconds") or 0) or None,
        )
    else:
        spec = ScheduleSpec(
            intervals=[ScheduleIntervalSpec(every=timedelta(seconds=int(config["interval_seconds"])))],
            jitter=timedelta(seconds=config.get("jitter_seconds") or 0) or None,
        )
    return Schedule(
        action=ScheduleActionStartWorkflow(
            ScheduledTriggerWorkflow.run,
            ScheduledRunInput(trigger_id=trigger_id),
            id=schedule_id_for(trigger_id),
            task_queue=task_queue,
            typed_search_attributes=execution_search_attributes("schedule", workflow_id, None, tenant_id),
        ),
        spec=spec,
        policy=SchedulePolicy(
            overlap=OVERLAP[config.get("overlap") or "skip"],
            catchup_window=timedelta(seconds=int(config.get("catchup_window_seconds") or 60)),
        ),
        state=ScheduleState(paused=paused, note=f"wfo trigger {trigger_id}"),
    )


async def create(client: Client, schedule: Schedule, trigger_id: str) -> ScheduleHandle:
    return await client.create_schedule(schedule_id_for(trigger_id), schedule)


async def delete(client: Client, trigger_id: str) -> None:
    try:
        await client.get_schedule_handle(schedule_id_for(trigger_id)).delete()
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise


async def set_paused(client: Client, trigger_id: str, paused: bool, note: str) -> None:
    handle = client.get_schedule_handle(schedule_id_for(trigger_id))
    if paused:
        await handle.pause(note=note)
    else:
        await handle.unpause(note=note)


async def trigger_now(client: Client, trigger_id: str, overlap: str | None = None) -> None:
    await client.get_schedule_handle(schedule_id_for(trigger_id)).trigger(
        overlap=OVERLAP[overlap] if overlap else None
    )


async def describe(client: Client, trigger_id: str) -> dict[str, Any] | None:
    """Temporal's view of the schedule (None when it does not exist)."""
    try:
        desc = await client.get_schedule_handle(schedule_id_for(trigger_id)).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    info = desc.info
    return {
        "paused": desc.schedule.state.paused,
        "note": desc.schedule.state.note,
        "next_action_times": [t.isoformat() for t in info.next_action_times[:5]],
        "num_actions": info.num_actions,
        "num_actions_skipped_overlap": info.num_actions_skipped_overlap,
        "running": [a.workflow_id for a in info.running_actions],
        "recent_actions": [
            {
                "scheduled_at": a.scheduled_at.isoformat(),
                "started_at": a.started_at.isoformat(),
                "workflow_id": getattr(a.action, "workflow_id", None),
            }
            for a in info.recent_actions[-10:]
        ],
    }
