"""Template tests reuse the API core's app/tenant fixtures (same real Postgres + Temporal), plus local
SMTP and HTTP peers shared by a module."""

import pytest

from tests.api.conftest import api_settings, app, http, make_tenant, tenant_a, tenant_b, worker  # noqa: F401
from tests.localpeers import HttpSink, SmtpSink


@pytest.fixture(scope="module")
def smtp():
    with SmtpSink() as sink:
        yield sink


@pytest.fixture(scope="module")
def web():
    with HttpSink() as sink:
        yield sink
