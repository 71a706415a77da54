"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from temporalio.client import Client

from api import errors, logredact
from api.audit import AuditMiddleware
from api.deps import enforce_route_permission
from api.metrics import MetricsMiddleware
from api.metrics import router as metrics_router
from api.middleware import BodySizeLimitMiddleware
from api.routes import mount_routers
from api.security_headers import SecurityHeadersMiddleware
from connectors.registry import default_registry
from wfo.audit import Appender, prune_loop
from wfo.db import PgPool, create_engine, create_sessionmaker
from wfo.observability import instrument_api
from wfo.replies import Replies
from wfo.settings import Settings, get_settings

log = logging.getLogger("wfo.api")

RECONCILE_INTERVAL_S = 15.0


def create_app(
    settings: Settings | None = None,
    *,
    temporal_client: Client | None = None,
    reconcile_interval: float | None = RECONCILE_INTERVAL_S,
    extensions: Sequence[Callable[[FastAPI], AbstractAsyncContextManager[Any]]] = (),
) -> FastAPI:
    """Build the API. ``settings`` default to the environment; ``temporal_client`` is created
    lazily with ``wfo.temporal.connect(settings)`` unless given. ``reconcile_interval`` (seconds,
    None to disable) refreshes non-terminal executions from Temporal while the app runs.
    ``extensions`` are entered (in order) for the app's lifetime, after its background tasks start: what
    the composing layer adds, e.g. ``cli.serve``'s embedded workflow worker."""
    settings = settings or get_settings()
    logredact.install()
    default_registry()  # loads the component plugins: a broken one stops the API here, with its name

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        tasks = []
        if reconcile_interval:
            from api.services.executions import reconcile_loop

            tasks.append(asyncio.create_task(reconcile_loop(app, reconcile_interval), name="wfo-reconcile"))
        if settings.audit_retention_days > 0 and settings.audit_prune_interval_seconds > 0:
            tasks.append(asyncio.create_task(
                prune_loop(app.state.engine, timedelta(days=settings.audit_retention_days),
                           settings.audit_prune_interval_seconds), name="wfo-audit-retention"))
        try:
            async with contextlib.AsyncExitStack() as stack:
                for extension in extensions:
                    await stack.enter_async_context(extension(app))
                yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await close_app(app)

    app = FastAPI(
        title="wfo",
        summary="Durable workflow orchestration: metadata API",
        version="1.0.0",
        docs_url=None,  # served by api.routes.docs from packaged assets (no CDN)
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        swagger_ui_oauth2_redirect_url=None,
        lifespan=lifespan,
        dependencies=[Depends(enforce_route_permission)],
    )
    app.state.settings = settings
    app.state.engine = create_engine(settings)
    app.state.sessionmaker = create_sessionmaker(app.state.engine)
    app.state.pg = PgPool(settings.database_url, max_size=settings.api_db_pool_size)
    """The hot paths' asyncpg pool (webhook intake, execution index rows): ``await app.state.pg()``."""
    app.state.temporal_client = temporal_client
    app.state.owns_temporal_client = temporal_client is None
    app.state.temporal_lock = asyncio.Lock()
    app.state.replies = Replies()
    """Sync webhooks waiting for an execution this process's embedded worker runs (``wfo.replies``)."""
    app.state.eager_start = False
    """True while an embedded workflow worker shares ``temporal_client``: sync webhooks start eagerly."""
    app.state.redis = None

    def get_redis():
        if app.state.redis is None:
            import redis.asyncio as aioredis

            app.state.redis = aioredis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=2)
        return app.state.redis

    app.state.get_redis = get_redis

    instrument_api(app, settings.otel_traces_exporter)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_request_bytes)
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.state.audit_appender = None

    def audit_appender() -> Appender:
        if app.state.audit_appender is None:
            app.state.audit_appender = Appender(app.state.pg)
        return app.state.audit_appender

    app.state.get_audit_appender = audit_appender  # routes that audit by hand (SSO) use the same writer
    app.add_middleware(AuditMiddleware, appender_of=audit_appender)
    app.include_router(metrics_router)

    errors.install(app)  # wfo.errors -> HTTP status, one place

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # like FastAPI's default, but never echo back huge inputs
        errors = []
        for err in exc.errors():
            err = dict(err)
            err.pop("input", None)
            err.pop("ctx", None) if not isinstance(err.get("ctx"), dict) else None
            if isinstance(err.get("ctx"), dict):
                err["ctx"] = {k: str(v) for k, v in err["ctx"].items()}
            errors.append(err)
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(DBAPIError)
    async def _database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated or isinstance(exc, (OperationalError, InterfaceError)):
            return JSONResponse({"detail": "database unavailable"}, status_code=503, headers={"Retry-After": "5"})
        # parameters are hidden by the engine (hide_parameters=True): no user data in the log line
        log.error("database error on %s %s: %s", request.method, request.url.path, type(exc.orig).__name__)
        return JSONResponse({"detail": "internal error"}, status_code=500)

    @app.exception_handler(ConnectionError)
    @app.exception_handler(TimeoutError)
    async def _dependency_down(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": "a backing service is unavailable"}, status_code=503, headers={"Retry-After": "5"})

    mount_routers(app)
    return app


async def close_app(app: FastAPI) -> None:
    """Release what the app opened (engine pool, Redis, the Temporal client it created); the audit rows
    still queued are committed first."""
    appender = getattr(app.state, "audit_appender", None)
    if appender is not None:
        await appender.close()
        app.state.audit_appender = None
    with contextlib.suppress(Exception):
        await app.state.engine.dispose()
    with contextlib.suppress(Exception):
        await app.state.pg.close()
    if app.state.redis is not None:
        with contextlib.suppress(Exception):
            await app.state.redis.aclose()
        app.state.redis = None
