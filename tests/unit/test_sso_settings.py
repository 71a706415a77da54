"""The SSO settings: read from `WFO_OIDC_*`, off by default, role names checked at start."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from wfo.models import Role
from wfo.settings import _ROLES, Settings


def test_sso_is_off_by_default(monkeypatch):
    for name in ("WFO_OIDC_ISSUER", "WFO_OIDC_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    s = Settings(_env_file=None)
    assert s.wfo_oidc_issuer is None and not s.oidc_enabled
    assert s.wfo_oidc_roles_claim == "groups" and s.wfo_oidc_create_users is True and s.wfo_oidc_default_role is None


def test_sso_settings_come_from_wfo_oidc_variables(monkeypatch):
    monkeypatch.setenv("WFO_OIDC_ISSUER", "https://sso.example.com/realms/acme")
    monkeypatch.setenv("WFO_OIDC_CLIENT_ID", "wfo")
    monkeypatch.setenv("WFO_OIDC_ROLE_MAPPING", '{"admins": "admin", "ops": "operator"}')
    monkeypatch.setenv("WFO_OIDC_CREATE_USERS", "false")
    monkeypatch.setenv("WFO_OIDC_ROLES_CLAIM", "realm_access.roles")
    s = Settings(_env_file=None)
    assert s.oidc_enabled and s.wfo_oidc_issuer == "https://sso.example.com/realms/acme"
    assert s.wfo_oidc_role_mapping == {"admins": "admin", "ops": "operator"}
    assert s.wfo_oidc_create_users is False and s.wfo_oidc_roles_claim == "realm_access.roles"


def test_unknown_roles_stop_the_start(monkeypatch):
    with pytest.raises(ValidationError, match="unknown roles \\['root'\\]"):
        Settings(_env_file=None, wfo_oidc_role_mapping={"g": "root"})
    with pytest.raises(ValidationError, match="unknown roles \\['superuser'\\]"):
        Settings(_env_file=None, wfo_oidc_default_role="superuser")


def test_role_names_match_the_model():
    assert set(_ROLES) == {r.value for r in Role}
