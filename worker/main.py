"""The worker: the interpreter workflow plus every component activity, on one task queue."""

from __future__ import annotations

import asyncio
import compileall
import functools
import logging
import os
import signal
import socket
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

import workflows
from activities.alerts import AlertActivities
from activities.analytics import AnalyticsActivities
from activities.components import ComponentActivities, checkpoint
from activities.delivery import DeliveryActivities, EventActivities
from activities.services import Services
from activities.tasks import TaskActivities
from activities.triggers import TriggerActivities
from connectors.registry import connectors
from wfo.observability import worker_runtime
from wfo.replies import Outcome
from wfo.settings import Settings
from wfo.temporal import connect
from worker.activity_logging import ActivityFailureLogInterceptor
from worker.closing import ClosingInterceptor, RunClosings
from worker.system_metrics import report_system_metrics
from worker.workflow_metrics import WorkflowMetricsInterceptor
from workflows.alerts import ALERTS_WORKFLOW_ID, AlertsSchedulerInput, AlertsSchedulerWorkflow
from workflows.data_components import SANDBOX_PASSTHROUGH as DATA_PASSTHROUGH
from workflows.delivery import DeliveryWorkflow
from workflows.interpreter import InterpreterWorkflow
from workflows.trigger_schedule import ScheduledTriggerWorkflow

log = logging.getLogger(__name__)

# Modules the interpreter uses that are deterministic and safe to share with the sandbox.
PASSTHROUGH = ("jsonata", "jsonschema", "isodate", *DATA_PASSTHROUGH)


@functools.cache
def precompile_workflow_modules() -> bool:
    """Write the bytecode of the workflow modules (`workflows/`) if it is missing or stale.

    The sandbox imports a workflow's module afresh for every execution it runs; without a current `.pyc`
    (`PYTHONDONTWRITEBYTECODE=1`, common in containers and set on the machines this was measured on) that
    import compiles the source each time: about a fifth of a sandboxed execution's CPU (`bench/intake.py
    --sandboxed`: 55.7 -> 66.3 sync answers/s). Once per process; a read-only install just goes without."""
    try:
        return bool(compileall.compile_dir(str(Path(workflows.__file__).parent), quiet=2))
    except OSError:
        return False


def workflow_runner(sandboxed: bool = True) -> WorkflowRunner:
    """The sandbox with our pure modules passed through, or (`WORKER_SANDBOXED=false`) no sandbox."""
    if not sandboxed:
        return UnsandboxedWorkflowRunner()
    precompile_workflow_modules()
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
    )


WORKFLOWS: tuple[type, ...] = (InterpreterWorkflow, AlertsSchedulerWorkflow, DeliveryWorkflow, ScheduledTriggerWorkflow)
"""Every workflow a worker runs: what `wfo replay` and the replay test replay histories with."""


def event_activities(services: Services) -> list[Any]:
    """Activities of the events subsystem (outbound deliveries, schedule triggers)."""
    import httpx

    sessionmaker = services.sessionmaker()
    # deliveries never follow redirects nor proxies: the address checked is the address called
    http = services.adopt_client(httpx.AsyncClient(follow_redirects=False, trust_env=False))
    deliveries = DeliveryActivities(services.settings, sessionmaker, http)
    events = EventActivities(sessionmaker)
    triggers = TriggerActivities(services.settings, services.db_pool)
    return [deliveries.deliver, deliveries.record_outcome, events.emit, *triggers.all()]


class _Worker(Worker):
    """A worker that, once it has shut down, writes the runs that ended on it (`closings`) and releases the
    clients and pools it created."""

    owned_services: Services | None = None
    closings: RunClosings | None = None

    async def shutdown(self) -> None:
        try:
            await super().shutdown()
        finally:
            if self.closings is not None:
                await self.closings.close()
            if self.owned_services is not None:
                services, self.owned_services = self.owned_services, None
                await services.close()


def _interpreter_worker(client: Client, settings: Settings, closings: RunClosings, *,
                        extra_interceptors: Sequence[Any] = (), **kwargs: Any) -> _Worker:
    """A worker on `settings.temporal_task_queue` with what every worker of ours shares: the runner, the
    metrics and closing interceptors (`closings` written at shutdown), the workflow-task and cache limits."""
    worker = _Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflow_runner=workflow_runner(settings.worker_sandboxed),
        interceptors=[WorkflowMetricsInterceptor(), ClosingInterceptor(closings), *extra_interceptors],
        max_concurrent_workflow_tasks=settings.worker_max_concurrent_workflow_tasks,
        max_cached_workflows=settings.worker_max_cached_workflows,
        graceful_shutdown_timeout=timedelta(seconds=settings.worker_shutdown_grace_seconds),
        **kwargs,
    )
    worker.closings = closings
    return worker


def build_worker(client: Client, settings: Settings, *, services: Services | None = None,
                 activities: Sequence[Any] = (), workflows: Sequence[type] = ()) -> Worker:
    """A worker for `settings.temporal_task_queue`. Use as `async with build_worker(...):`.
    Services passed in stay the caller's to close; services it creates are closed at shutdown."""
    owned = services is None
    services = services or Services(settings)
    comp = ComponentActivities(services, services.adopt(connectors()))
    tasks = TaskActivities(services)
    extra_act = event_activities(services)
    alerts = AlertActivities(services, client)
    analytics = AnalyticsActivities(services)
    worker = _interpreter_worker(
        client, settings, RunClosings(services.worker_db), extra_interceptors=[ActivityFailureLogInterceptor()],
        workflows=[*WORKFLOWS, *workflows],
        activities=[*comp.all(), *tasks.all(), *alerts.all(), *analytics.all(), *extra_act, *activities],
        max_concurrent_activities=settings.worker_max_concurrent_activities,
    )
    if owned:
        worker.owned_services = services
    return worker


EMBEDDED_IDENTITY_PREFIX = "wfo-api:"
"""The embedded worker's identity starts with this (the history's workflow task events name the worker)."""


def build_embedded_worker(client: Client, settings: Settings, services: Services,
                          on_closed: Callable[[str, Outcome], object] | None = None) -> Worker:
    """The workflow worker an API process embeds (``API_EMBEDDED_WORKER``): every workflow and the
    interpreter's local activities, no remote activity (components run in ``wfo worker`` processes).

    It shares the API's Temporal client, so a start that asks for it is eager: the first workflow task comes
    back with the start's answer and runs here, without a round trip through the task queue (about a third
    of the Temporal server's work per short execution). ``on_closed`` hears each execution whose row is
    closed here (``worker.closing``, or the node-runs local activity of runs started before it;
    ``wfo.replies``). ``services`` stay the caller's to close."""
    analytics = AnalyticsActivities(services, on_closed=on_closed)
    return _interpreter_worker(
        client, settings, RunClosings(services.worker_db, on_closed=on_closed),
        identity=f"{EMBEDDED_IDENTITY_PREFIX}{os.getpid()}@{socket.gethostname()}",
        workflows=list(WORKFLOWS), activities=[analytics.record_node_runs, checkpoint], no_remote_activities=True,
    )


async def ensure_alerts_scheduler(client: Client, settings: Settings) -> None:
    """Start the durable alert scheduler on this task queue unless it already runs (idempotent)."""
    if settings.alerts_interval_seconds <= 0:
        return
    await client.start_workflow(
        AlertsSchedulerWorkflow.run,
        AlertsSchedulerInput(task_queue=settings.temporal_task_queue, interval_seconds=settings.alerts_interval_seconds),
        id=ALERTS_WORKFLOW_ID, task_queue=settings.temporal_task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    client = await connect(settings, worker=True)
    services = Services(settings)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    worker = build_worker(client, settings, services=services)
    await ensure_alerts_scheduler(client, settings)
    log.info("worker polling task queue %r on %s", settings.temporal_task_queue, settings.temporal_address)
    system = asyncio.create_task(report_system_metrics(worker_runtime(settings.worker_metrics_port), stop))
    try:
        async with worker:
            await stop.wait()
    finally:
        stop.set()
        await system
        await services.close()
