"""Every router of the app, in one place. ``api.main.create_app`` mounts them in this order.

A module listed in ``OPTIONAL_ROUTER_MODULES`` is mounted when it exists (other engineers'
modules land independently); an import error *inside* an existing module is not swallowed.
A module exposes either ``router`` (an ``APIRouter``) or ``mount(app)``.
Each route must have a line in ``api.permissions.ROUTE_PERMISSIONS``.
"""

ROUTER_MODULES: list[str] = [
    "api.routes.health",
    "api.routes.auth",
    "api.routes.users",
    "api.routes.api_keys",
    "api.routes.workflows",
    "api.routes.executions",
    "api.routes.bulk",
]

OPTIONAL_ROUTER_MODULES: list[str] = [
    "api.routes.templates",
    "api.graphql",
    "api.routes.triggers",
    "api.routes.hooks",
    "api.routes.webhooks",
    "api.routes.tasks",
    "api.routes.events",
]
