"""Issue 10 item 1: secrets stay out of outputs, Temporal history and logs; input cannot pick a secret.

A tenant credential and an environment `secret://` are used by real nodes against a local HTTP peer that
echoes what it received (so the values would come back in the output if nothing scrubbed them)."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid

import pytest

from activities.services import EnvSecrets, SecretNotFound, SecretTenant, tenant_slug
from tests.connectors.conftest import history_bytes
from tests.helpers import defn, node
from tests.localpeers import HttpPeer, Req
from wfo.credential_types import secret_strings
from wfo.db import create_engine, create_sessionmaker
from wfo.executions import start_execution
from wfo.models import Tenant
from wfo.stores import credentials as store
from worker.main import build_worker
from workflows.secret_refs import literal_secret_paths


def echo(req: Req):
    body = {"auth": req.headers.get("authorization"), "env": req.headers.get("x-env")}
    return (400 if req.path == "/fail" else 200), {}, body


async def _tenant(settings, name: str) -> uuid.UUID:
    engine = create_engine(settings, pool_size=1, max_overflow=0)
    try:
        async with create_sessionmaker(engine)() as session:
            tenant = Tenant(name=name)
            session.add(tenant)
            await session.commit()
            return tenant.id
    finally:
        await engine.dispose()


async def _tenant_name(settings, tenant_id) -> str:
    engine = create_engine(settings, pool_size=1, max_overflow=0)
    try:
        async with create_sessionmaker(engine)() as session:
            tenant = await session.get(Tenant, tenant_id)
            assert tenant is not None
            return tenant.name
    finally:
        await engine.dispose()


async def test_secrets_never_leave_the_activity(temporal_env, settings, vault, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    env_secret = f"env-{uuid.uuid4().hex}"
    cred_secret = f"cred-{uuid.uuid4().hex}"
    slug = tenant_slug(await _tenant_name(settings, vault.tenant_id))
    monkeypatch.setenv(f"WFO_SECRET_{slug}__QA_TOKEN", env_secret)  # the vault tenant's own env secret
    await vault.add("api-token", "http_bearer", {"token": cred_secret})
    with HttpPeer(echo) as peer:
        d = defn([
            node("start", "start"),
            node("lit", "util.noop", value="secret://QA_TOKEN"),
            node("inj", "util.noop", value="{{ input.inject }}"),
            node("mixed", "util.noop", value="x {{ input.inject }} secret://QA_TOKEN"),
            node("call", "http.request", url=peer.url + "/ok", credential="api-token",
                 headers={"X-Env": "Key secret://QA_TOKEN"}),
            node("fail", "http.request", url=peer.url + "/fail", credential="api-token",
                 headers={"X-Env": "secret://QA_TOKEN"}),
            node("end", "end", output="{{ {'lit': nodes.lit, 'inj': nodes.inj, 'mixed': nodes.mixed, "
                                      "'call': nodes.call.body, 'fail': nodes.fail.error} }}"),
        ], ["start->lit", "lit->inj", "inj->mixed", "mixed->call", "call->fail", "fail:error->end", "fail->end"])
        async with build_worker(temporal_env.client, settings):
            handle = await start_execution(temporal_env.client, definition=d, input={"inject": "secret://QA_TOKEN"},
                                           task_queue=settings.temporal_task_queue, tenant_id=str(vault.tenant_id))
            out = await asyncio.wait_for(handle.result(), 60)

        # the peer got the real values: both were resolved inside the activities
        ok = peer.on("/ok")[0]
        assert ok.headers["authorization"] == f"Bearer {cred_secret}"
        assert ok.headers["x-env"] == f"Key {env_secret}"

    assert out["lit"] == "***"
    assert out["inj"] == "secret://QA_TOKEN"  # produced by an expression from the input: never resolved
    assert out["mixed"] == "x secret://QA_TOKEN secret://QA_TOKEN"  # a templated string is not a literal
    assert out["call"] == {"auth": "Bearer ***", "env": "Key ***"}
    assert out["fail"]["type"] == "HttpStatusError" and "***" in str(out["fail"]["details"])

    history = await history_bytes(handle)
    assert b"secret://QA_TOKEN" in history and b"Bearer ***" in history  # the grep does see payloads
    logs = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (env_secret, cred_secret):
        assert secret.encode() not in history
        assert secret not in str(out)
        assert secret not in logs


async def test_missing_env_secret_fails_without_resolving_input(temporal_env, settings, vault, monkeypatch):
    monkeypatch.delenv("WFO_SECRET_NOPE", raising=False)
    d = defn([node("start", "start"), node("lit", "util.noop", value="secret://NOPE"),
              node("bad", "end", output="{{ nodes.lit.error }}"), node("end", "end", output="{{ nodes.lit }}")],
             ["start->lit", "lit:error->bad", "lit->end"])
    async with build_worker(temporal_env.client, settings):
        handle = await start_execution(temporal_env.client, definition=d, input=None,
                                       task_queue=settings.temporal_task_queue, tenant_id=str(vault.tenant_id))
        err = await asyncio.wait_for(handle.result(), 60)
    assert err["type"] == "SecretNotFound" and "NOPE" in err["message"]


async def test_env_secrets_are_tenant_scoped(temporal_env, settings, monkeypatch, caplog):
    """Issue 10 item 1: `secret://` env secrets belong to a tenant (the execution's, never the config's).
    Tenant A resolves its prefixed secret and a shared one scoped to it; tenant B referencing either (or
    spelling A's prefixed name) fails non-retryably with a message naming the reference, not the value."""
    caplog.set_level(logging.DEBUG)
    a_name, b_name = f"ta-{uuid.uuid4().hex[:8]}", f"tb-{uuid.uuid4().hex[:8]}"
    a, b = str(await _tenant(settings, a_name)), str(await _tenant(settings, b_name))
    own, shared, plain = (f"{k}-{uuid.uuid4().hex}" for k in ("own", "shared", "plain"))
    a_slug = tenant_slug(a_name)
    monkeypatch.setenv(f"WFO_SECRET_{a_slug}__API_TOKEN", own)
    monkeypatch.setenv("WFO_SECRET_PARTNER_KEY", shared)
    monkeypatch.setenv("WFO_SECRET_INSTALL_WIDE", plain)  # unscoped: the default tenant's only
    monkeypatch.setenv("WFO_SECRET_SCOPES", json.dumps({"partner-key": [a_name]}))
    refs = {"own": "secret://API_TOKEN", "shared": "secret://partner-key", "plain": "secret://INSTALL_WIDE",
            "spelled": f"secret://{a_slug}__API_TOKEN"}
    outs: dict[str, dict] = {a: {}, b: {}}
    histories: list[bytes] = []

    async def run(tenant: str, key: str) -> None:
        d = defn([node("start", "start"), node("n", "util.noop", value=f"got {refs[key]}"),
                  node("ok", "end", output="{{ nodes.n }}"), node("failed", "end", output="{{ nodes.n.error }}")],
                 ["start->n", "n->ok", "n:error->failed"])
        handle = await start_execution(temporal_env.client, definition=d, input=None,
                                       task_queue=settings.temporal_task_queue, tenant_id=tenant)
        outs[tenant][key] = await asyncio.wait_for(handle.result(), 60)
        histories.append(await history_bytes(handle))

    async with build_worker(temporal_env.client, settings):
        await asyncio.gather(*(run(t, k) for t in (a, b) for k in refs))

    got_a, got_b = outs[a], outs[b]
    assert got_a["own"] == "got ***" and got_a["shared"] == "got ***"  # resolved (and scrubbed from the output)
    for tenant_out, key in [(got_a, "plain"), (got_a, "spelled"), (got_b, "own"), (got_b, "shared"),
                            (got_b, "plain"), (got_b, "spelled")]:
        err = tenant_out[key]
        assert isinstance(err, dict) and err["type"] == "SecretNotFound", (key, err)
        assert err["attempts"] == 1  # non-retryable
        assert err["message"].startswith(refs[key])  # names the reference (unquoted), never a value
    assert "not available to this tenant" in got_b["shared"]["message"]
    assert got_b["own"]["message"].replace("API_TOKEN", "X") == got_b["plain"]["message"].replace("INSTALL_WIDE", "X")
    logs = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (own, shared, plain):
        assert secret not in str(outs) and secret not in logs
        assert all(secret.encode() not in h for h in histories)


def test_env_secret_scopes_rules():
    env = {"WFO_SECRET_X": "x", "WFO_SECRET_ACME_EU__X": "acme-x", "WFO_SECRET_Y": "y",
           "WFO_SECRET_SCOPES": json.dumps({"y": ["*"]})}
    secrets = EnvSecrets(env)
    default, acme, odd = SecretTenant("1", "default"), SecretTenant("2", "acme-eu"), SecretTenant("3", "Acme EU")
    assert secrets.get("X", default) == "x" and secrets.get("x", None) == "x"  # single-tenant install
    assert secrets.get("X", acme) == "acme-x" and secrets.get("y", acme) == "y" and secrets.get("Y", odd) == "y"
    for name, tenant in [("X", odd), ("ACME_EU__X", default), ("ACME-EU__X", odd), ("SCOPES", default)]:
        with pytest.raises(SecretNotFound) as info:
            secrets.get(name, tenant)
        assert "acme-x" not in str(info.value) and "x\"" not in str(info.value)
    assert tenant_slug("acme-eu") == "ACME_EU" and tenant_slug("a_b") is None and tenant_slug("A") is None
    with pytest.raises(SecretNotFound, match="WFO_SECRET_SCOPES must be"):
        EnvSecrets({"WFO_SECRET_SCOPES": '{"x": "not-a-list"}'})


@pytest.mark.parametrize("config, paths", [
    ({"a": "secret://X", "b": {"c": ["y", "Bearer secret://Y"]}}, [["a"], ["b", "c", 1]]),
    ({"a": "{{ input.x }} secret://X", "b": "plain"}, []),
])
def test_literal_secret_paths(config, paths):
    assert literal_secret_paths(config) == paths


def test_only_secret_fields_are_scrubbed():
    assert secret_strings("mysql", {"host": "db.internal", "username": "shop", "password": "pw-1234",
                                    "database": "test"}) == ["pw-1234"]
    got = secret_strings("postgres", {"url": "postgresql://u:p%40ss-word@h:5432/d"})
    assert set(got) == {"postgresql://u:p%40ss-word@h:5432/d", "p%40ss-word", "p@ss-word"}
    assert secret_strings("oauth2_client_credentials", {"token_url": "https://idp/token", "client_id": "cid-1",
                                                        "client_secret": "cs-1234"}) == ["cs-1234"]


async def test_resolver_marks_secret_fields(vault):
    await vault.add("m", "mysql", {"host": "127.0.0.1", "username": "root", "password": "pw-5678"})
    ctx = vault.ctx()
    values = await ctx.credential("m", "mysql")
    assert values["username"] == "root" and ctx.secret_values == ["pw-5678"]


async def test_an_execution_cannot_use_another_tenants_credential(vault, run_node, settings):
    """Credentials resolve by (tenant of the execution, name): another tenant's name is not found."""
    engine = create_engine(settings, pool_size=1, max_overflow=0)
    try:
        async with create_sessionmaker(engine)() as session:
            other = Tenant(name=f"other-{uuid.uuid4().hex[:8]}")
            session.add(other)
            await session.commit()
            await store.create_credential(session, store.keyring_for(settings), tenant_id=other.id,
                                          name="theirs", type="http_bearer", values={"token": "their-token-1"})
    finally:
        await engine.dispose()
    flow = await run_node("http.request", {"url": "http://127.0.0.1:1/", "credential": "theirs"})
    assert flow.result["error"]["type"] == "CredentialNotFound" and flow.result["error"]["attempts"] == 1
    assert b"their-token-1" not in await history_bytes(flow.handle)
