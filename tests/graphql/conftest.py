"""GraphQL tests reuse the API core's app/tenant/worker fixtures (real Postgres + Temporal)."""

from tests.api.conftest import api_settings, app, http, make_tenant, tenant_a, tenant_b, worker  # noqa: F401
