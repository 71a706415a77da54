"""The app `wfo api` serves: the API, and with ``API_EMBEDDED_WORKER`` a workflow worker in the same process.

The embedded worker (``worker.main.build_embedded_worker``) runs workflow tasks and the interpreter's local
activities, never components, on the API's own Temporal client: sync webhooks then start eagerly (their first
workflow task comes back with the start's answer and runs here) and get their answer in-process
(``wfo.replies``) instead of long-polling the run's history. Components still run in `wfo worker`s.

The worker is kept running in the background: an unreachable Temporal does not stop the API from serving
(it retries every few seconds), and ``app.state.eager_start`` is True only while the worker runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI

from activities.services import Services
from api.deps import get_temporal_client
from api.main import create_app as create_api
from wfo.settings import Settings, get_settings
from worker.main import build_embedded_worker

log = logging.getLogger("wfo.api.worker")

RETRY_SECONDS = 5.0


def embedded_worker(settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[Any]]:
    """The app extension that runs the embedded workflow worker for the app's lifetime."""

    @contextlib.asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        services = Services(settings)
        current: dict[str, Any] = {}

        async def keep_running() -> None:
            while True:
                try:
                    client = await get_temporal_client(app)
                    worker = current["worker"] = build_embedded_worker(client, settings, services,
                                                                       on_closed=app.state.replies.deliver)
                    app.state.eager_start = True
                    try:
                        await worker.run()
                    finally:
                        app.state.eager_start = False
                    return  # shut down on purpose
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - Temporal unreachable, or the worker failed: retry
                    log.warning("embedded workflow worker not running (%s: %s); retrying in %.0f s",
                                type(exc).__name__, exc, RETRY_SECONDS)
                    await asyncio.sleep(RETRY_SECONDS)

        task = asyncio.create_task(keep_running(), name="wfo-embedded-worker")
        try:
            yield
        finally:
            worker = current.get("worker")
            if worker is not None and not task.done():
                with contextlib.suppress(Exception):
                    await worker.shutdown()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            await services.close()

    return run


def build_app(settings: Settings, **kwargs: Any) -> FastAPI:
    """The API for ``settings``, with the embedded workflow worker when ``settings.api_embedded_worker``."""
    extensions = [embedded_worker(settings)] if settings.api_embedded_worker else []
    return create_api(settings, extensions=extensions, **kwargs)


def create_app() -> FastAPI:
    """uvicorn's factory (``cli.serve:create_app``): each process builds its app from the environment."""
    return build_app(get_settings())
