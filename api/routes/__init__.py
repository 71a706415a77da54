"""Every router of the app, in one place, mounted explicitly by ``api.main.create_app`` in this order.

An entry is an ``APIRouter`` or a ``mount(app)`` function (a router that also runs something for the
app's lifetime, e.g. the event bridge). Nothing is optional: a missing module is an import error at
start. Each route must have a line in ``api.permissions.ROUTE_PERMISSIONS``.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, FastAPI

from api import graphql
from api.routes import (
    api_keys,
    audit,
    auth,
    bulk,
    codec,
    events,
    executions,
    health,
    hooks,
    tasks,
    templates,
    triggers,
    users,
    webhooks,
    workflows,
)

ROUTERS: list[APIRouter | Callable[[FastAPI], None]] = [
    health.router,
    auth.router,
    users.router,
    api_keys.router,
    audit.router,
    workflows.router,
    executions.router,
    bulk.router,
    codec.router,
    templates.router,
    graphql.router,
    triggers.router,
    hooks.router,
    webhooks.mount,
    tasks.router,
    events.router,
]


def mount_routers(app: FastAPI) -> None:
    for entry in ROUTERS:
        if isinstance(entry, APIRouter):
            app.include_router(entry)
        else:
            entry(app)
