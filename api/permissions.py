"""THE access-control table: every route of the app (REST method+path, GraphQL operations by
field name) maps to exactly one permission, and roles map to sets of permissions.

``api.deps.enforce_route_permission`` is installed as an app-wide dependency and looks the
matched route up here; a route missing from the table is refused (fail closed), and
``tests/api/test_rbac_matrix.py`` walks every route of the app with every role and fails if a
route is missing. Adding a route == adding a line here.

Entries for routers owned by other modules (templates, GraphQL, triggers, tasks...) live here
too; entries for routes that are not mounted are harmless.
"""

from __future__ import annotations

from enum import StrEnum

from wfo.models import Role


class Permission(StrEnum):
    READ = "read"
    WORKFLOW_CREATE = "workflow.create"
    WORKFLOW_EDIT = "workflow.edit"
    WORKFLOW_DELETE = "workflow.delete"
    WORKFLOW_EXECUTE = "workflow.execute"
    WORKFLOW_SHARE = "workflow.share"
    TEMPLATE_CREATE = "template.create"
    CREDENTIAL_MANAGE = "credential.manage"
    ADMIN_SYSTEM = "admin.system"


PUBLIC = "public"
"""No authentication at all (health, login, inbound hooks authenticated by their own secret)."""

P = Permission

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.admin: frozenset(P),
    Role.developer: frozenset(
        {P.READ, P.WORKFLOW_CREATE, P.WORKFLOW_EDIT, P.WORKFLOW_EXECUTE, P.WORKFLOW_SHARE, P.TEMPLATE_CREATE,
         P.CREDENTIAL_MANAGE}
    ),
    Role.operator: frozenset({P.READ, P.WORKFLOW_EXECUTE}),
    Role.viewer: frozenset({P.READ}),
}

ROLE_RANK = {Role.viewer: 0, Role.operator: 1, Role.developer: 2, Role.admin: 3}

# (METHOD, path template exactly as declared on the router) -> permission
ROUTE_PERMISSIONS: dict[tuple[str, str], str] = {
    # health / auth
    ("GET", "/health"): PUBLIC,
    ("GET", "/health/detailed"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,  # Prometheus scrape (route templates only, no ids or tokens)
    ("GET", "/api/v1/docs"): PUBLIC,  # documentation pages (api.routes.docs): no data
    ("GET", "/api/v1/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/api/v1/redoc"): PUBLIC,
    ("GET", "/api/v1/docs/static/{path}"): PUBLIC,  # their packaged JS/CSS
    # alert rules: everyone reads; developers and admins manage
    ("GET", "/api/v1/alerts/rules"): P.READ,
    ("GET", "/api/v1/alerts/rules/{rule_id}"): P.READ,
    ("POST", "/api/v1/alerts/rules"): P.WORKFLOW_EDIT,
    ("PATCH", "/api/v1/alerts/rules/{rule_id}"): P.WORKFLOW_EDIT,
    ("DELETE", "/api/v1/alerts/rules/{rule_id}"): P.WORKFLOW_EDIT,
    ("POST", "/api/v1/auth/token"): PUBLIC,
    ("GET", "/api/v1/auth/me"): P.READ,
    # OpenID Connect single sign-on (api/routes/oidc.py): how one logs in, so public; 404 while not configured
    ("GET", "/api/v1/auth/oidc/config"): PUBLIC,
    ("GET", "/api/v1/auth/oidc/login"): PUBLIC,
    ("GET", "/api/v1/auth/oidc/callback"): PUBLIC,
    ("GET", "/api/v1/audit"): P.ADMIN_SYSTEM,
    # Temporal payload codec (api.routes.codec; tenant-checked per payload; preflights carry no credentials)
    ("POST", "/api/v1/codec/decode"): P.READ,
    ("POST", "/api/v1/codec/encode"): P.WORKFLOW_EXECUTE,
    ("OPTIONS", "/api/v1/codec/decode"): PUBLIC,
    ("OPTIONS", "/api/v1/codec/encode"): PUBLIC,
    # users & API keys (tenant administration)
    ("GET", "/api/v1/users"): P.ADMIN_SYSTEM,
    ("POST", "/api/v1/users"): P.ADMIN_SYSTEM,
    ("GET", "/api/v1/users/{user_id}"): P.ADMIN_SYSTEM,
    ("PATCH", "/api/v1/users/{user_id}"): P.ADMIN_SYSTEM,
    ("GET", "/api/v1/api-keys"): P.ADMIN_SYSTEM,
    ("POST", "/api/v1/api-keys"): P.ADMIN_SYSTEM,
    ("DELETE", "/api/v1/api-keys/{key_id}"): P.ADMIN_SYSTEM,
    # workflows
    ("GET", "/api/v1/workflows"): P.READ,
    ("POST", "/api/v1/workflows"): P.WORKFLOW_CREATE,
    ("POST", "/api/v1/workflows/validate"): P.READ,
    ("POST", "/api/v1/workflows/import/n8n"): P.WORKFLOW_CREATE,  # api/routes/n8n_import.py
    ("GET", "/api/v1/workflows/{workflow_id}"): P.READ,
    ("PUT", "/api/v1/workflows/{workflow_id}"): P.WORKFLOW_EDIT,
    ("DELETE", "/api/v1/workflows/{workflow_id}"): P.WORKFLOW_DELETE,
    ("GET", "/api/v1/workflows/{workflow_id}/versions"): P.READ,
    ("GET", "/api/v1/workflows/{workflow_id}/versions/{version}"): P.READ,
    ("POST", "/api/v1/workflows/{workflow_id}/execute"): P.WORKFLOW_EXECUTE,
    # executions
    ("GET", "/api/v1/executions"): P.READ,
    ("GET", "/api/v1/executions/{execution_id}"): P.READ,
    ("POST", "/api/v1/executions/{execution_id}/cancel"): P.WORKFLOW_EXECUTE,
    ("GET", "/api/v1/executions/{execution_id}/logs"): P.READ,
    ("POST", "/api/v1/executions/{execution_id}/retry"): P.WORKFLOW_EXECUTE,
    # REST v2 bulk (each item is additionally checked against its own operation's permission)
    ("POST", "/api/v2/workflows/bulk"): P.WORKFLOW_EDIT,
    ("POST", "/api/v2/workflows/execute-batch"): P.WORKFLOW_EXECUTE,
    # templates (api/routes/templates.py)
    ("GET", "/api/v1/templates"): P.READ,
    ("GET", "/api/v1/templates/{template_id}"): P.READ,
    ("POST", "/api/v1/templates/{template_id}/create-workflow"): P.WORKFLOW_CREATE,
    ("POST", "/api/v1/templates"): P.TEMPLATE_CREATE,
    ("DELETE", "/api/v1/templates/{template_id}"): P.TEMPLATE_CREATE,
    # outbound event webhooks, inbound triggers, live events (api/routes/{webhooks,triggers,hooks,events}.py)
    ("POST", "/api/v1/webhooks"): P.WORKFLOW_EDIT,
    ("GET", "/api/v1/webhooks"): P.READ,
    ("GET", "/api/v1/webhooks/{subscription_id}"): P.READ,
    ("DELETE", "/api/v1/webhooks/{subscription_id}"): P.WORKFLOW_EDIT,
    ("GET", "/api/v1/webhooks/{subscription_id}/deliveries"): P.READ,
    ("POST", "/api/v1/workflows/{workflow_id}/triggers"): P.WORKFLOW_EDIT,
    ("GET", "/api/v1/workflows/{workflow_id}/triggers"): P.READ,
    ("GET", "/api/v1/workflows/{workflow_id}/triggers/{trigger_id}"): P.READ,
    ("DELETE", "/api/v1/workflows/{workflow_id}/triggers/{trigger_id}"): P.WORKFLOW_EDIT,
    ("POST", "/api/v1/workflows/{workflow_id}/triggers/{trigger_id}/pause"): P.WORKFLOW_EDIT,
    ("POST", "/api/v1/workflows/{workflow_id}/triggers/{trigger_id}/resume"): P.WORKFLOW_EDIT,
    ("POST", "/api/v1/workflows/{workflow_id}/triggers/{trigger_id}/run"): P.WORKFLOW_EXECUTE,
    ("POST", "/api/v1/hooks/{trigger_id}"): PUBLIC,
    ("GET", "/api/v1/executions/{execution_id}/events"): P.READ,
    # approval tasks (api/routes/tasks.py): reading needs read, deciding needs workflow.execute;
    # the signed-link page and its POST authenticate by the link's signature
    ("GET", "/api/v1/tasks"): P.READ,
    ("GET", "/api/v1/tasks/{task_id}"): P.READ,
    ("POST", "/api/v1/tasks/{task_id}/complete"): P.WORKFLOW_EXECUTE,
    ("POST", "/api/v1/tasks/{task_id}/links"): P.WORKFLOW_EXECUTE,
    ("GET", "/api/v1/tasks/{task_id}/act"): PUBLIC,
    ("POST", "/api/v1/tasks/{task_id}/act"): PUBLIC,
    # designer back end (api/routes/{component_tests,analytics,presence,redrive}.py)
    ("POST", "/api/v1/components/{type}/test"): P.WORKFLOW_EDIT,  # runs arbitrary config: developer and up
    ("GET", "/api/v1/analytics/summary"): P.READ,
    ("GET", "/api/v1/analytics/workflows/{workflow_id}"): P.READ,
    ("GET", "/api/v1/analytics/nodes"): P.READ,
    ("GET", "/api/v1/analytics/recommendations"): P.READ,
    ("POST", "/api/v1/workflows/{workflow_id}/presence"): P.READ,
    ("DELETE", "/api/v1/workflows/{workflow_id}/presence"): P.READ,
    ("POST", "/api/v1/executions/{execution_id}/redrive"): P.WORKFLOW_EXECUTE,
    # credentials vault (api/routes/credentials.py): values are write-only; operators and viewers list
    ("GET", "/api/v1/credentials/types"): P.READ,
    ("GET", "/api/v1/credentials"): P.READ,
    ("GET", "/api/v1/credentials/{credential_id}"): P.READ,
    ("POST", "/api/v1/credentials"): P.CREDENTIAL_MANAGE,
    ("PUT", "/api/v1/credentials/{credential_id}"): P.CREDENTIAL_MANAGE,
    ("DELETE", "/api/v1/credentials/{credential_id}"): P.CREDENTIAL_MANAGE,
    # GraphQL endpoint: authentication required; each operation is checked via GRAPHQL_PERMISSIONS
    ("GET", "/api/beta/graphql"): PUBLIC,  # the handler checks READ for a query; without one: the explorer page
    ("POST", "/api/beta/graphql"): P.READ,
    # the GraphiQL page itself (static HTML; its queries go to the routes above with a token)
    ("GET", "/api/beta/graphql/explorer"): PUBLIC,
    # the designer's palette (api/routes/components.py) and the web app's static files (api/routes/designer.py)
    ("GET", "/api/v1/components"): P.READ,
    ("GET", "/api/v1/executions/{execution_id}/nodes/{node_id}"): P.READ,
    ("GET", "/"): PUBLIC,
    ("GET", "/workflow_orchestration"): PUBLIC,
    ("GET", "/workflow_orchestration/{path}"): PUBLIC,
}

# GraphQL root fields (Query/Mutation) -> permission, enforced by the GraphQL layer with
# ``api.deps.check_permission``.
GRAPHQL_PERMISSIONS: dict[str, str] = {
    "workflows": P.READ,
    "workflow": P.READ,
    "versions": P.READ,
    "workflowVersions": P.READ,
    "executions": P.READ,
    "execution": P.READ,
    "templates": P.READ,
    "template": P.READ,
    "createWorkflow": P.WORKFLOW_CREATE,
    "updateWorkflow": P.WORKFLOW_EDIT,
    "deleteWorkflow": P.WORKFLOW_DELETE,
    "executeWorkflow": P.WORKFLOW_EXECUTE,
    "cancelExecution": P.WORKFLOW_EXECUTE,
    "createWorkflowFromTemplate": P.WORKFLOW_CREATE,
    "tasks": P.READ,
    "task": P.READ,
    "completeTask": P.WORKFLOW_EXECUTE,
    "analyticsSummary": P.READ,
    "auditLog": P.ADMIN_SYSTEM,
}


def permission_for_route(method: str, path: str) -> str | None:
    return ROUTE_PERMISSIONS.get((method.upper(), path))


def permission_for_graphql(field: str) -> str | None:
    return GRAPHQL_PERMISSIONS.get(field)


def role_has(role: str, permission: str) -> bool:
    if permission == PUBLIC:
        return True
    return permission in ROLE_PERMISSIONS.get(role, frozenset())


def role_at_most(role: str, ceiling: str) -> bool:
    """True when ``role`` grants no more than ``ceiling`` (used when delegating API keys/users)."""
    return ROLE_PERMISSIONS.get(role, frozenset()) <= ROLE_PERMISSIONS.get(ceiling, frozenset())
