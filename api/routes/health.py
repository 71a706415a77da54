"""Liveness and dependency health."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import get_temporal_client
from wfo.taskqueue import describe_task_queue

router = APIRouter(tags=["health"])

CHECK_TIMEOUT_S = 3.0


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


async def _timed(name: str, probe) -> tuple[str, dict[str, Any]]:
    start = time.perf_counter()
    try:
        await asyncio.wait_for(probe(), CHECK_TIMEOUT_S)
        result: dict[str, Any] = {"status": "ok"}
    except Exception as exc:  # noqa: BLE001 - report, don't raise; no connection strings in the message
        result = {"status": "error", "error": type(exc).__name__ if not isinstance(exc, TimeoutError) else "timeout"}
    result["latency_ms"] = round((time.perf_counter() - start) * 1000, 2)
    return name, result


@router.get("/health/detailed")
async def health_detailed(request: Request) -> JSONResponse:
    app = request.app

    async def postgres() -> None:
        async with app.state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def redis() -> None:
        await app.state.get_redis().ping()

    async def temporal() -> None:
        client = await get_temporal_client(app)
        await client.service_client.check_health()

    task_queue: dict[str, Any] = {}

    async def workers() -> None:
        client = await get_temporal_client(app)
        task_queue.update((await describe_task_queue(client, app.state.settings.temporal_task_queue)).as_dict())

    results = dict(await asyncio.gather(_timed("postgres", postgres), _timed("redis", redis),
                                        _timed("temporal", temporal), _timed("task_queue", workers)))
    tq = results.pop("task_queue")
    tq.update(task_queue)
    if tq["status"] == "ok" and not tq.get("workers_live"):
        tq["status"] = "no_worker"  # the API answers; executions wait until a worker polls
    ok = all(r["status"] == "ok" for r in results.values())
    # `task_queue` reports worker liveness and the backlog; it does not make the API unhealthy
    return JSONResponse({"status": "ok" if ok else "degraded", "checks": results, "task_queue": tq},
                        status_code=200 if ok else 503)
