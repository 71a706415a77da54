"""Issue 10 item 1: secrets stay out of outputs, Temporal history and logs; input cannot pick a secret.

A tenant credential and an environment `secret://` are used by real nodes against a local HTTP peer that
echoes what it received (so the values would come back in the output if nothing scrubbed them)."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest

from tests.connectors.conftest import history_bytes
from tests.connectors.httppeer import HttpPeer, Req
from tests.helpers import defn, node
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


async def test_secrets_never_leave_the_activity(temporal_env, settings, vault, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    env_secret = f"env-{uuid.uuid4().hex}"
    cred_secret = f"cred-{uuid.uuid4().hex}"
    monkeypatch.setenv("WFO_SECRET_QA_TOKEN", env_secret)
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
