"""Prometheus metrics of the API: requests by route template, method and status, and their latency.

Also the product docs' metric names: `api_requests_total{method, endpoint}` and
`api_request_duration_seconds{method, endpoint}` (endpoint = route template), `workflow_active_count`
(running top-level executions, from Temporal's visibility), `workflow_queue_depth{task_queue}` (the task
queue's backlog, from DescribeTaskQueue), `system_cpu_percent` and `system_memory_percent`. The gauges are
refreshed when scraped, at most every `GAUGE_TTL_S` seconds, each probe bounded by `PROBE_TIMEOUT_S`; a probe
that fails leaves its gauge at the last value and counts `wfo_metrics_probe_errors_total{probe}`.
The worker exports `workflow_executions_total{status}` and `workflow_execution_duration_seconds`.

Served at `GET /metrics` (no authentication, like `/health`: scrape it from inside the cluster and keep it
off the public ingress). Labels use the route *template* (`/api/v1/workflows/{workflow_id}`), never the
concrete path, so ids and tokens do not become label values.
"""

from __future__ import annotations

import asyncio
import logging
import time

import psutil
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

from api.deps import get_temporal_client
from wfo.taskqueue import describe_task_queue

log = logging.getLogger(__name__)

REQUESTS = Counter("wfo_api_requests_total", "API requests", ["method", "route", "status"])
LATENCY = Histogram("wfo_api_request_duration_seconds", "API request latency", ["method", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))

API_REQUESTS = Counter("api_requests_total", "API requests by method and endpoint", ["method", "endpoint"])
API_DURATION = Histogram("api_request_duration_seconds", "API request duration", ["method", "endpoint"],
                         buckets=LATENCY._upper_bounds[:-1])
ACTIVE = Gauge("workflow_active_count", "running top-level executions")
QUEUE_DEPTH = Gauge("workflow_queue_depth", "tasks waiting on the task queue", ["task_queue"])
CPU = Gauge("system_cpu_percent", "CPU use of the machine")
MEMORY = Gauge("system_memory_percent", "memory use of the machine")
PROBE_ERRORS = Counter("wfo_metrics_probe_errors_total", "gauge probes that failed", ["probe"])

GAUGE_TTL_S = 5.0
PROBE_TIMEOUT_S = 2.0
ACTIVE_QUERY = "WorkflowType = 'Interpreter' AND ExecutionStatus = 'Running' AND ParentWorkflowId IS NULL"

router = APIRouter(tags=["health"])
psutil.cpu_percent(interval=None)  # the first reading is meaningless: prime it


async def _probe(name: str, coro) -> None:
    try:
        await asyncio.wait_for(coro, PROBE_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - a scrape must answer even with Temporal down
        PROBE_ERRORS.labels(name).inc()
        log.info("metrics probe %s failed: %s", name, type(exc).__name__)


async def refresh_gauges(request: Request) -> None:
    """Refresh the gauges from Temporal and the machine (at most every GAUGE_TTL_S seconds)."""
    app = request.app
    now = time.monotonic()
    if now - getattr(app.state, "gauges_refreshed", -GAUGE_TTL_S) < GAUGE_TTL_S:
        return
    app.state.gauges_refreshed = now
    CPU.set(psutil.cpu_percent(interval=None))
    MEMORY.set(psutil.virtual_memory().percent)
    task_queue = app.state.settings.temporal_task_queue

    async def active() -> None:
        client = await get_temporal_client(app)
        ACTIVE.set((await client.count_workflows(ACTIVE_QUERY)).count)

    async def depth() -> None:
        client = await get_temporal_client(app)
        QUEUE_DEPTH.labels(task_queue).set((await describe_task_queue(client, task_queue)).backlog)

    await asyncio.gather(_probe("active", active()), _probe("queue_depth", depth()))


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    await refresh_gauges(request)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class MetricsMiddleware:
    """Pure ASGI: times each HTTP request and counts it under its matched route template."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("path") == "/metrics":
            await self.app(scope, receive, send)
            return
        status = {"code": 500}

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "(unmatched)"
            method = scope.get("method", "")
            elapsed = time.perf_counter() - start
            LATENCY.labels(method, template).observe(elapsed)
            REQUESTS.labels(method, template, str(status["code"])).inc()
            API_DURATION.labels(method, template).observe(elapsed)
            API_REQUESTS.labels(method, template).inc()
