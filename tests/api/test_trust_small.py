"""Issue 10 item 8: the small ones, each with a test that failed before."""

from __future__ import annotations

import json
import logging
import time
import uuid
from pathlib import Path

import httpx
import pytest

from api.logredact import RedactQuerySecrets, redact_url
from api.services.hooks import safe_headers
from wfo.dev_secret import FILE_NAME, with_dev_secret
from wfo.password_policy import password_problem
from wfo.security.signing import HEADER_SIGNATURE, HEADER_TIMESTAMP, verify_event
from wfo.settings import DEFAULT_SECRET_KEY, Settings

# ---------------------------------------------------------------- approval links and event signatures


@pytest.mark.parametrize("token", ["é.ü", "abc.défg", "日本.語", "a" * 10 + "." + "\u00ff" * 43])
async def test_non_ascii_approval_link_token_is_4xx(http, token):
    r = await http.get("/api/v1/tasks/some-task/act", params={"token": token})
    assert r.status_code == 401, r.text
    r = await http.post("/api/v1/tasks/some-task/act", data={"token": token})
    assert r.status_code == 401, r.text
    assert "approval link" in r.json()["detail"]


def test_verify_event_with_a_non_ascii_signature_is_false():
    now = int(time.time())
    headers = {HEADER_TIMESTAMP: str(now), HEADER_SIGNATURE: "v1=é" + "0" * 63}
    assert verify_event("secret", headers, b"{}", now=now) is False


# ---------------------------------------------------------------- GraphQL inputs


async def _gql(http, tenant, body) -> httpx.Response:
    return await http.post("/api/beta/graphql", headers=tenant.h("admin"), json=body)


async def test_graphql_deeply_nested_variables_are_a_400(http, tenant_a):
    nested: object = "x"
    for _ in range(5000):
        nested = {"a": nested}
    raw = json.dumps({"query": "query($v: String) { __typename }", "variables": {"v": nested}})
    r = await http.post("/api/beta/graphql", headers={**tenant_a.h("admin"), "Content-Type": "application/json"},
                        content=raw)
    assert r.status_code == 400, r.text[:300]
    assert "nested" in r.json()["errors"][0]["message"]
    deep = "[" * 100_000 + "]" * 100_000  # deeper than the JSON parser's recursion
    r = await http.post("/api/beta/graphql", headers={**tenant_a.h("admin"), "Content-Type": "application/json"},
                        content=json.dumps({"query": "{ __typename }"})[:-1] + ', "variables": {"v": ' + deep + "}}")
    assert r.status_code in (400, 413), r.text[:300]
    shallow: object = "x"
    for _ in range(100):  # parses fine, but deeper than the variables limit
        shallow = [shallow]
    r = await http.get("/api/beta/graphql", headers=tenant_a.h("admin"),
                       params={"query": "{ __typename }", "variables": json.dumps({"v": shallow})})
    assert r.status_code == 400 and "nested" in r.text


async def test_graphql_nul_bytes_are_a_clear_400(http, tenant_a):
    r = await _gql(http, tenant_a, {"query": "query($n: String) { workflows(category: $n) { id } }",
                                    "variables": {"n": "a\x00b"}})
    assert r.status_code == 400, r.text
    msg = r.json()["errors"][0]["message"]
    assert "NUL" in msg and "variables.n" in msg and "internal error" not in r.text
    r = await _gql(http, tenant_a, {"query": '{ workflows(category: "a\\u0000b") { id } }'})
    assert r.status_code == 400, r.text
    assert "NUL" in r.json()["errors"][0]["message"] and "internal error" not in r.text


# ---------------------------------------------------------------- users: no cross-tenant probing, password policy


async def test_user_create_does_not_reveal_other_tenants_emails(http, tenant_a, tenant_b):
    taken = tenant_a.users["viewer"].email
    r = await http.post("/api/v1/users", headers=tenant_b.h("admin"),
                        json={"email": taken, "password": "a-long-unusual-passphrase-3", "role": "viewer"})
    assert r.status_code == 201, r.text  # same answer as for a fresh email: nothing to learn about tenant A
    # both accounts log in, each with its own password, into its own tenant (named at login: the email
    # now has accounts in two tenants, see test_auth.test_login_with_an_email_in_two_tenants)
    r = await http.post("/api/v1/auth/token", data={"username": taken, "password": "a-long-unusual-passphrase-3"})
    assert r.status_code == 409 and r.json()["detail"]["tenants"] == [tenant_b.name]
    r = await http.post("/api/v1/auth/token", data={"username": taken, "password": "a-long-unusual-passphrase-3",
                                                    "tenant": tenant_b.name})
    assert r.status_code == 200
    me = (await http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"})).json()
    assert me["tenant_id"] == str(tenant_b.id)
    r = await http.post("/api/v1/auth/token", data={"username": taken, "password": tenant_a.passwords["viewer"],
                                                    "tenant": tenant_a.name})
    me = (await http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"})).json()
    assert me["tenant_id"] == str(tenant_a.id)
    # within one tenant an email is still unique
    r = await http.post("/api/v1/users", headers=tenant_b.h("admin"),
                        json={"email": taken, "password": "another-unusual-passphrase-4"})
    assert r.status_code == 409


@pytest.mark.parametrize("password, email, words", [
    ("12345678", None, "too common"),
    ("password", None, "too common"),
    ("Password123!", None, "too common"),
    ("qwertyuiop", None, "too common"),
    ("iloveyou2", None, "too common"),
    ("ada.lovelace-x", "ada.lovelace@example.com", "email"),
    ("short", None, "at least 8"),
])
def test_password_policy_refuses(password, email, words):
    problem = password_problem(password, email)
    assert problem and words in problem


def test_password_policy_accepts_unusual_passwords():
    assert password_problem("correct horse battery staple", "ada@example.com") is None
    assert password_problem("pw-3f9a0c1d2e7b", None) is None


async def test_weak_password_is_a_422_on_create_and_update(http, tenant_a):
    email = f"weak-{uuid.uuid4().hex[:6]}@example.com"
    r = await http.post("/api/v1/users", headers=tenant_a.h("admin"), json={"email": email, "password": "password1"})
    assert r.status_code == 422 and "common" in r.text
    r = await http.post("/api/v1/users", headers=tenant_a.h("admin"), json={"email": email, "password": email + "!"})
    assert r.status_code == 422 and "email" in r.text
    r = await http.post("/api/v1/users", headers=tenant_a.h("admin"),
                        json={"email": email, "password": "a-long-unusual-passphrase-5"})
    assert r.status_code == 201
    r = await http.patch(f"/api/v1/users/{r.json()['id']}", headers=tenant_a.h("admin"), json={"password": "12345678"})
    assert r.status_code == 422 and "common" in r.text


# ---------------------------------------------------------------- access log, webhook headers, dev secret


@pytest.mark.parametrize("url", [
    "/api/v1/x?access_token=SECRETVAL", "/x?password=SECRETVAL&a=1", "/x?a=1&client_secret=SECRETVAL",
    "/x?key=SECRETVAL", "/x?api_key=SECRETVAL", "/x?token=SECRETVAL", "/x?refresh_token=SECRETVAL&b=2",
])
def test_access_log_redacts_credential_query_names(url):
    assert "SECRETVAL" not in redact_url(url)
    record = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:1", "GET", url, "1.1", 200), None)
    RedactQuerySecrets().filter(record)
    assert "SECRETVAL" not in record.getMessage()


def test_access_log_keeps_ordinary_queries():
    assert redact_url("/x?page=2&sort=name&q=monkey") == "/x?page=2&sort=name&q=monkey"


def test_webhook_headers_drop_unknown_credential_headers():
    kept = safe_headers({"Content-Type": "application/json", "User-Agent": "GitHub-Hookshot", "X-Credential": "c1",
                         "X-Access": "a1", "X-Access-Key": "k1", "X-Private-Token": "p1", "X-Client-Cert": "cert",
                         "Idempotency-Key": "idem-1", "X-GitHub-Event": "push", "X-Pass": "p"})
    assert set(kept) == {"content-type", "user-agent", "idempotency-key", "x-github-event"}


def test_dev_secret_is_generated_once_per_data_folder(tmp_path: Path):
    base = Settings(environment="dev")
    assert base.secret_key == DEFAULT_SECRET_KEY
    first = with_dev_secret(base, tmp_path)
    assert first.secret_key != DEFAULT_SECRET_KEY and len(first.secret_key) >= 32
    assert (tmp_path / FILE_NAME).stat().st_mode & 0o777 == 0o600
    assert with_dev_secret(base, tmp_path).secret_key == first.secret_key  # stable across restarts
    other = tmp_path / "other"
    other.mkdir()
    assert with_dev_secret(base, other).secret_key != first.secret_key
    explicit = Settings(environment="dev", secret_key="set-by-the-operator")
    assert with_dev_secret(explicit, tmp_path).secret_key == "set-by-the-operator"
