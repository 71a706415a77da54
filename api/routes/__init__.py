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
    alerts,
    analytics,
    api_keys,
    audit,
    auth,
    bulk,
    codec,
    component_tests,
    components,
    credentials,
    designer,
    docs,
    events,
    execution_nodes,
    executions,
    health,
    hooks,
    n8n_import,
    oidc,
    presence,
    redrive,
    tasks,
    templates,
    triggers,
    users,
    webhooks,
    workflows,
)

ROUTERS: list[APIRouter | Callable[[FastAPI], None]] = [
    health.router,
    docs.mount,
    auth.router,
    oidc.router,
    users.router,
    api_keys.router,
    audit.router,
    workflows.router,
    executions.router,
    bulk.router,
    alerts.router,
    credentials.router,
    codec.router,
    templates.router,
    graphql.router,
    triggers.router,
    hooks.router,
    webhooks.mount,
    tasks.router,
    events.router,
    n8n_import.router,
    components.router,
    execution_nodes.router,
    component_tests.router,
    analytics.router,
    presence.router,
    redrive.router,
    designer.router,  # last: the web app at /workflow_orchestration/ (and `/`)
]


def mount_routers(app: FastAPI) -> None:
    for entry in ROUTERS:
        if isinstance(entry, APIRouter):
            app.include_router(entry)
        else:
            entry(app)
