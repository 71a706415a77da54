"""OpenID Connect single sign-on end to end against a local IdP (tests/api/oidc_idp.py) on 127.0.0.1: the
browser's redirects are followed by hand (app -> IdP -> app), the token the callback hands to the web app is
then used on the API."""

from __future__ import annotations

import logging
import uuid
from contextlib import asynccontextmanager
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text

from api.main import create_app
from tests.api.conftest import make_tenant
from tests.api.oidc_idp import TestIdP, new_key
from tests.localpeers import free_port
from wfo.models import User

BASE = "http://test"
LOGIN = "/api/v1/auth/oidc/login"
CALLBACK = "/api/v1/auth/oidc/callback"
MAPPING = {"wfo-admins": "admin", "wfo-devs": "developer", "wfo-ops": "operator", "wfo-viewers": "viewer"}


@pytest.fixture(scope="module")
def idp():
    provider = TestIdP().start()
    yield provider
    provider.stop()


@pytest_asyncio.fixture(scope="module")
async def sso_tenant(api_settings):
    return await make_tenant(api_settings)


@pytest_asyncio.fixture(scope="module")
async def sso_app(api_settings, temporal_env, idp, sso_tenant):
    settings = api_settings.model_copy(update={
        "wfo_oidc_issuer": idp.issuer, "wfo_oidc_client_id": idp.client_id, "wfo_oidc_client_secret": idp.client_secret,
        "wfo_oidc_redirect_base": BASE, "wfo_oidc_role_mapping": MAPPING, "wfo_oidc_tenant": sso_tenant.name,
        "wfo_oidc_timeout_seconds": 5.0})
    application = create_app(settings, temporal_client=temporal_env.client, reconcile_interval=None)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def configure(sso_app):
    """Change the SSO app's settings for one test (and forget the cached IdP metadata)."""
    original = sso_app.state.settings

    def apply(**update):
        sso_app.state.settings = original.model_copy(update=update)
        sso_app.state.oidc_provider = None

    yield apply
    sso_app.state.settings = original
    sso_app.state.oidc_provider = None


@pytest.fixture(autouse=True)
def fresh_idp(idp):
    idp.overrides, idp.sign_with, idp.sign_hs256 = {}, None, False
    yield


def new_user(idp: TestIdP, groups: list[str] | str | None = ("wfo-viewers",), **claims) -> dict:
    sub = f"sub-{uuid.uuid4().hex[:10]}"
    idp.user = {"sub": sub, "email": f"{sub}@sso.example.test", "email_verified": True, "name": "S. So",
                "groups": list(groups) if isinstance(groups, tuple) else groups, **claims}
    return idp.user


@asynccontextmanager
async def browser(app):
    """A browser: its own cookie jar, talking to the app (ASGI) and to the IdP (network)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as api, \
            httpx.AsyncClient(timeout=10) as net:
        yield api, net


async def authorize(api: httpx.AsyncClient, net: httpx.AsyncClient) -> str:
    """Start a login and let the IdP approve it: the callback URL (path + query) the IdP sends back to."""
    r = await api.get(LOGIN)
    assert r.status_code == 302, r.text
    r = await net.get(r.headers["location"])
    assert r.status_code == 302, r.text
    loc = r.headers["location"]
    assert loc.startswith(BASE + CALLBACK + "?")
    return loc[len(BASE):]


async def sso_login(app, idp) -> httpx.Response:
    async with browser(app) as (api, net):
        return await api.get(await authorize(api, net))


def token_of(r: httpx.Response) -> str:
    assert r.status_code == 302, r.text
    loc = r.headers["location"]
    assert loc.startswith("/workflow_orchestration/#sso_token=")
    return unquote(loc.split("#sso_token=", 1)[1])


async def me(app, token: str) -> dict:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        r = await c.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        return r.json()


async def audit_rows(app, actor: str) -> list[tuple[str, int, str | None]]:
    async with app.state.engine.connect() as conn:
        rows = await conn.execute(text("SELECT action, status, tenant_id FROM audit_log WHERE actor = :a ORDER BY id"),
                                  {"a": actor})
        return [(a, s, str(t) if t else None) for a, s, t in rows]


async def failures(app, status: int = 401) -> int:
    async with app.state.engine.connect() as conn:
        return (await conn.execute(text(
            "SELECT count(*) FROM audit_log WHERE action = 'auth.oidc' AND status = :s AND actor IS NULL"),
            {"s": status})).scalar()


# --- the happy path


async def test_login_redirects_to_the_idp_with_state_nonce_and_pkce(sso_app, idp):
    async with browser(sso_app) as (api, _):
        r = await api.get(LOGIN)
    assert r.status_code == 302
    url = urlsplit(r.headers["location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{idp.issuer}/authorize"
    q = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert q["response_type"] == "code" and q["client_id"] == idp.client_id
    assert q["redirect_uri"] == BASE + CALLBACK
    assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43
    assert len(q["state"]) >= 40 and len(q["nonce"]) >= 40 and "openid" in q["scope"].split()
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("wfo_oidc=") and "HttpOnly" in cookie and "Path=/api/v1/auth/oidc" in cookie
    assert "samesite=lax" in cookie.lower()


async def test_full_login_gives_a_working_session_and_is_audited(sso_app, idp, sso_tenant, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")  # other tests may have raised its level: the grep must see it
    claims = new_user(idp, ["wfo-devs"])
    r = await sso_login(sso_app, idp)
    token = token_of(r)
    who = await me(sso_app, token)
    assert who["kind"] == "user" and who["role"] == "developer" and who["name"] == claims["email"]
    assert who["tenant_id"] == str(sso_tenant.id) and "workflow.create" in who["permissions"]
    # the same identity logs in again: the same user, not a second one
    again = await me(sso_app, token_of(await sso_login(sso_app, idp)))
    assert again["id"] == who["id"]
    async with sso_app.state.sessionmaker() as session:
        user = await session.get(User, uuid.UUID(who["id"]))
        assert user is not None and user.hashed_password == "!sso"  # no password can open it
    # the password form cannot log into an SSO-provisioned account
    async with browser(sso_app) as (api, _):
        r = await api.post("/api/v1/auth/token", data={"username": claims["email"], "password": "!sso"})
        assert r.status_code == 401
    assert await audit_rows(sso_app, claims["email"]) == [("auth.oidc", 302, str(sso_tenant.id))] * 2 + [
        ("auth.login", 401, None)]
    # nothing the IdP handed out, nor the client secret, reached a log line of the app (the test's own
    # "browser" requests, logged by httpx/httpcore in this process too, carry the code in their URLs: skipped)
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpcore") and not (
        r.name == "httpx" and ("http://test/" in r.getMessage() or "/authorize?" in r.getMessage())))
    assert "sso login of user" in logged and "/token" in logged
    assert idp.issued and idp.client_secret
    for secret in [*idp.issued, idp.client_secret, token]:
        assert secret not in logged


async def test_role_comes_from_the_group_claim_and_follows_the_idp(sso_app, idp):
    admin = new_user(idp, ["staff", "wfo-viewers", "wfo-admins"])  # the highest mapped role wins
    admin_token = token_of(await sso_login(sso_app, idp))
    new_user(idp, ["wfo-viewers"])
    viewer_token = token_of(await sso_login(sso_app, idp))
    assert (await me(sso_app, admin_token))["role"] == "admin"
    assert (await me(sso_app, viewer_token))["role"] == "viewer"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sso_app), base_url=BASE) as c:
        assert (await c.get("/api/v1/users", headers={"Authorization": f"Bearer {admin_token}"})).status_code == 200
        assert (await c.get("/api/v1/users", headers={"Authorization": f"Bearer {viewer_token}"})).status_code == 403
    # the IdP demotes the admin: the next login (and the session tokens, which read the role) follow
    idp.user = {**admin, "groups": ["wfo-ops"]}
    demoted = await me(sso_app, token_of(await sso_login(sso_app, idp)))
    assert demoted["role"] == "operator"
    assert (await me(sso_app, admin_token))["role"] == "operator"


async def test_nested_roles_claim_and_default_role(sso_app, idp, configure):
    configure(wfo_oidc_roles_claim="realm_access.roles")
    new_user(idp, None, realm_access={"roles": ["wfo-ops"]})
    assert (await me(sso_app, token_of(await sso_login(sso_app, idp))))["role"] == "operator"
    configure(wfo_oidc_default_role="viewer")
    new_user(idp, ["nothing-mapped"])
    assert (await me(sso_app, token_of(await sso_login(sso_app, idp))))["role"] == "viewer"


async def test_public_client_without_secret(sso_app, idp, configure):
    idp.client_secret = None
    try:
        configure(wfo_oidc_client_secret=None)
        new_user(idp, ["wfo-viewers"])
        assert (await me(sso_app, token_of(await sso_login(sso_app, idp))))["role"] == "viewer"
    finally:
        idp.client_secret = "idp-client-s3cret-0123456789abcdef"


# --- refusals


async def test_unmapped_group_is_refused_and_audited(sso_app, idp):
    claims = new_user(idp, ["contractors"])
    r = await sso_login(sso_app, idp)
    assert r.status_code == 403 and "no role is mapped" in r.json()["detail"]
    assert await audit_rows(sso_app, claims["email"]) == [("auth.oidc", 403, None)]
    # a browser gets the same status and message as a page, with a way back
    async with browser(sso_app) as (api, net):
        r = await api.get(await authorize(api, net), headers={"Accept": "text/html,*/*;q=0.8"})
    assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")
    assert "no role is mapped for this identity (claim &#x27;groups&#x27;)" in r.text
    assert 'href="/workflow_orchestration/login"' in r.text


async def test_pkce_verifier_mismatch_is_refused(sso_app, idp):
    """A code minted for another login (another PKCE challenge) injected into this login's callback: the
    verifier this login kept does not match, the IdP refuses the code."""
    new_user(idp)
    async with browser(sso_app) as (victim, net1), browser(sso_app) as (attacker, net2):
        victim_cb = parse_qs(urlsplit(await authorize(victim, net1)).query)
        attacker_cb = parse_qs(urlsplit(await authorize(attacker, net2)).query)
        r = await victim.get(CALLBACK, params={"state": victim_cb["state"][0], "code": attacker_cb["code"][0]})
    assert r.status_code == 401 and r.json()["detail"] == "the identity provider refused the code: invalid_grant"
    # and the IdP itself refuses a wrong verifier
    async with browser(sso_app) as (api, c):
        r = await c.get((await api.get(LOGIN)).headers["location"])
        code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
        r = await c.post(f"{idp.issuer}/token", auth=(idp.client_id, idp.client_secret), data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": BASE + CALLBACK,
            "code_verifier": "x" * 64})
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


async def test_tampered_replayed_and_foreign_state_are_refused(sso_app, idp):
    new_user(idp)
    async with browser(sso_app) as (api, net):
        cb = await authorize(api, net)
        q = parse_qs(urlsplit(cb).query)
        r = await api.get(CALLBACK, params={"state": q["state"][0] + "x", "code": q["code"][0]})
        assert r.status_code == 400 and "unknown, expired or already used login state" in r.json()["detail"]
        assert (await api.get(CALLBACK, params={"code": q["code"][0]})).status_code == 400  # no state at all
        assert token_of(await api.get(cb))
        r = await api.get(cb)  # the same callback again
        assert r.status_code == 400 and "already used" in r.json()["detail"]
    # a state started in another browser (no binding cookie here)
    async with browser(sso_app) as (api, net):
        cb = await authorize(api, net)
    async with browser(sso_app) as (other, _):
        r = await other.get(cb)
        assert r.status_code == 400 and "another browser" in r.json()["detail"]
    # the IdP says no
    async with browser(sso_app) as (api, _):
        r = await api.get(CALLBACK, params={"error": "access_denied", "state": "s"})
        assert r.status_code == 401 and r.json()["detail"] == "the identity provider refused the login: access_denied"


@pytest.mark.parametrize(("override", "message"), [
    ({"nonce": "not-the-nonce-of-this-login"}, "ID token nonce does not match this login"),
    ({"aud": "another-client"}, "ID token is not issued for this client (aud)"),
    ({"iss": "http://127.0.0.1:1"}, "ID token is issued by another issuer (iss)"),
    ({"exp": 1_000_000_000, "iat": 999_999_000}, "ID token has expired"),
    ({"at_hash": "AAAAAAAAAAAAAAAAAAAAAA"}, "ID token at_hash does not match the access token"),
    ("bad-signature", "ID token signature is invalid"),
    ("unknown-kid", "ID token signed with a key the identity provider does not publish"),
    ("hs256", "ID token algorithm 'HS256' is not accepted (accepted: ['RS256'])"),
])
async def test_bad_id_tokens_are_refused(sso_app, idp, override, message):
    claims = new_user(idp, ["wfo-admins"])
    kid = idp.kid
    if override == "bad-signature":
        idp.sign_with = new_key()
    elif override == "unknown-kid":
        idp.kid = "rotated-away"
    elif override == "hs256":
        idp.sign_hs256 = True
    else:
        idp.overrides = override
    before = await failures(sso_app)
    try:
        r = await sso_login(sso_app, idp)
    finally:
        idp.kid = kid
    assert r.status_code == 401, r.text
    assert r.json()["detail"] == message
    assert "location" not in r.headers
    assert await failures(sso_app) == before + 1  # audited (the token's claims were not trusted: no actor)
    async with sso_app.state.sessionmaker() as session:
        from sqlmodel import select

        assert (await session.exec(select(User).where(User.email == claims["email"]))).first() is None


async def test_disabled_user_cannot_log_in(sso_app, idp):
    claims = new_user(idp, ["wfo-admins"])
    who = await me(sso_app, token_of(await sso_login(sso_app, idp)))
    async with sso_app.state.sessionmaker() as session:
        user = await session.get(User, uuid.UUID(who["id"]))
        user.is_active = False
        session.add(user)
        await session.commit()
    r = await sso_login(sso_app, idp)
    assert r.status_code == 403 and r.json()["detail"] == "user is disabled"
    rows = await audit_rows(sso_app, claims["email"])
    assert [(a, s) for a, s, _ in rows] == [("auth.oidc", 302), ("auth.oidc", 403)]


async def test_existing_email_is_not_taken_over_and_provisioning_can_be_off(sso_app, idp, sso_tenant, configure):
    existing = sso_tenant.users["developer"]
    new_user(idp, ["wfo-admins"], email=existing.email)
    r = await sso_login(sso_app, idp)
    assert r.status_code == 409 and "already exists" in r.json()["detail"]
    configure(wfo_oidc_link_verified_email=True)
    idp.user["email_verified"] = False
    assert (await sso_login(sso_app, idp)).status_code == 409
    idp.user["email_verified"] = True
    who = await me(sso_app, token_of(await sso_login(sso_app, idp)))
    assert who["id"] == str(existing.id) and who["role"] == "admin"
    configure(wfo_oidc_create_users=False)
    new_user(idp, ["wfo-admins"])
    r = await sso_login(sso_app, idp)
    assert r.status_code == 403 and "provisioning is off" in r.json()["detail"]


async def test_unknown_tenant_and_tenant_claim(sso_app, idp, configure, tenant_b):
    configure(wfo_oidc_tenant="no-such-tenant")
    new_user(idp)
    r = await sso_login(sso_app, idp)
    assert r.status_code == 403 and "does not exist" in r.json()["detail"]
    configure(wfo_oidc_tenant_claim="org")
    new_user(idp, org=str(tenant_b.id))
    assert (await me(sso_app, token_of(await sso_login(sso_app, idp))))["tenant_id"] == str(tenant_b.id)


async def test_idp_down_is_a_502_and_audited(sso_app, idp, configure):
    configure(wfo_oidc_issuer=f"http://127.0.0.1:{free_port()}", wfo_oidc_timeout_seconds=2.0)
    before = await failures(sso_app, 502)
    async with browser(sso_app) as (api, _):
        r = await api.get(LOGIN)
    assert r.status_code == 502 and r.json()["detail"].startswith("the identity provider is unreachable")
    assert await failures(sso_app, 502) == before + 1
    # the IdP goes down between the redirect and the callback (token endpoint unreachable)
    configure()
    new_user(idp)
    async with browser(sso_app) as (api, net):
        cb = await authorize(api, net)
        sso_app.state.oidc_provider.settings = sso_app.state.settings.model_copy(update={"wfo_oidc_timeout_seconds": 2})
        meta = await sso_app.state.oidc_provider.metadata()
        meta["token_endpoint"] = f"http://127.0.0.1:{free_port()}/token"
        r = await api.get(cb)
    assert r.status_code == 502 and "token endpoint" in r.json()["detail"]
    assert await failures(sso_app, 502) == before + 2


async def test_sso_off_answers_404(http):
    """The session app has no WFO_OIDC_* settings."""
    assert (await http.get("/api/v1/auth/oidc/config")).json() == {"enabled": False}
    assert (await http.get(LOGIN)).status_code == 404
    assert (await http.get(CALLBACK, params={"state": "s", "code": "c"})).status_code == 404


async def test_config_says_enabled(sso_app):
    async with browser(sso_app) as (api, _):
        assert (await api.get("/api/v1/auth/oidc/config")).json() == {"enabled": True, "login_url": LOGIN}
