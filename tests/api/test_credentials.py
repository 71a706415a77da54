"""The credentials vault over REST: typed, write-only values, RBAC, tenant scope, 409 when in use,
and key rotation (`wfo credentials rotate-key` logic) on the real Postgres."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import uuid

import pytest
from sqlmodel import select

from cli.main import main
from tests.api._util import wait_status
from tests.localpeers import HttpPeer
from wfo.db import create_engine, create_sessionmaker
from wfo.models import Tenant
from wfo.models_credentials import Credential
from wfo.settings import Settings, get_settings
from wfo.stores import credentials as store

SECRET_PW = f"pw-{uuid.uuid4().hex}"


def _body(name: str, **values) -> dict:
    return {"name": name, "type": "redis", "description": "cache",
            "values": values or {"host": "127.0.0.1", "port": 6379, "password": SECRET_PW}}


async def test_types_listed(http, tenant_a):
    r = await http.get("/api/v1/credentials/types", headers=tenant_a.h("viewer"))
    assert r.status_code == 200
    types = {t["type"]: t for t in r.json()["items"]}
    for t in ("postgres", "mysql", "redis", "amqp", "mqtt", "nats", "smtp", "imap", "sftp", "s3", "http_basic",
              "http_bearer", "http_api_key", "oauth2_client_credentials", "slack_webhook", "teams_webhook",
              "discord_webhook", "twilio", "n8n_api", "jwt_secret", "hmac_secret"):
        assert types[t]["schema"]["type"] == "object" and types[t]["title"]


async def test_crud_values_write_only_and_rbac(http, tenant_a, tenant_b, caplog, api_settings):
    caplog.set_level(logging.DEBUG)
    name = f"cache-{uuid.uuid4().hex[:6]}"
    for role in ("viewer", "operator"):
        r = await http.post("/api/v1/credentials", json=_body(name), headers=tenant_a.h(role))
        assert r.status_code == 403, (role, r.text)
    r = await http.post("/api/v1/credentials", json=_body(name), headers=tenant_a.h("developer"))
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["name"] == name and created["type"] == "redis" and created["used_by"] == []
    cid = created["id"]
    answers = [r.text]

    dup = await http.post("/api/v1/credentials", json=_body(name), headers=tenant_a.h("admin"))
    assert dup.status_code == 409 and name in dup.json()["detail"]

    for role in ("viewer", "operator", "developer", "admin"):
        r = await http.get("/api/v1/credentials", headers=tenant_a.h(role))
        assert r.status_code == 200
        assert name in [c["name"] for c in r.json()["items"]]
        answers.append(r.text)
    r = await http.get(f"/api/v1/credentials/{cid}", headers=tenant_a.h("viewer"))
    assert r.status_code == 200 and "values" not in r.json()
    answers.append(r.text)

    # another tenant sees nothing and can touch nothing
    r = await http.get("/api/v1/credentials", headers=tenant_b.h("admin"))
    assert name not in [c["name"] for c in r.json()["items"]]
    assert (await http.get(f"/api/v1/credentials/{cid}", headers=tenant_b.h("admin"))).status_code == 404
    assert (await http.put(f"/api/v1/credentials/{cid}", json={"description": "x"},
                           headers=tenant_b.h("admin"))).status_code == 404
    assert (await http.delete(f"/api/v1/credentials/{cid}", headers=tenant_b.h("admin"))).status_code == 404

    new_pw = f"pw2-{uuid.uuid4().hex}"
    r = await http.put(f"/api/v1/credentials/{cid}", headers=tenant_a.h("developer"),
                       json={"values": {"url": "redis://127.0.0.1:6379/0", "password": new_pw}})
    assert r.status_code == 200 and r.json()["description"] == "cache"
    answers.append(r.text)
    assert (await http.put(f"/api/v1/credentials/{cid}", json={"description": "x"},
                           headers=tenant_a.h("operator"))).status_code == 403

    # stored encrypted: neither password is in the row; it decrypts to the new values
    engine = create_engine(api_settings, pool_size=1, max_overflow=0)
    try:
        async with create_sessionmaker(engine)() as session:
            row = (await session.exec(select(Credential).where(Credential.id == uuid.UUID(cid)))).one()
            assert SECRET_PW.encode() not in row.ciphertext and new_pw.encode() not in row.ciphertext
            resolved = await store.resolve_credential(session, store.keyring_for(api_settings), tenant_a.id, name)
            assert resolved.values == {"url": "redis://127.0.0.1:6379/0", "password": new_pw}
            with pytest.raises(store.CredentialNotFound):
                await store.resolve_credential(session, store.keyring_for(api_settings), tenant_b.id, name)
    finally:
        await engine.dispose()

    r = await http.delete(f"/api/v1/credentials/{cid}", headers=tenant_a.h("developer"))
    assert r.status_code == 204
    assert (await http.get(f"/api/v1/credentials/{cid}", headers=tenant_a.h("admin"))).status_code == 404

    for text in answers + [rec.getMessage() for rec in caplog.records]:
        assert SECRET_PW not in text and new_pw not in text


@pytest.mark.parametrize("body, field", [
    ({"name": "x1", "type": "redis", "values": {"port": 6379}}, "values"),  # neither url nor host
    ({"name": "x2", "type": "redis", "values": {"host": "h", "port": "six"}}, "values.port"),
    ({"name": "x3", "type": "http_basic", "values": {"username": "u"}}, "values.password"),
    ({"name": "x4", "type": "http_bearer", "values": {"token": "t", "extra": 1}}, "values.extra"),
    ({"name": "x5", "type": "nosuch", "values": {}}, "type"),
    ({"name": "bad name!", "type": "hmac_secret", "values": {"secret": "s"}}, "name"),
])
async def test_bad_values_422_naming_the_field(http, tenant_a, body, field):
    r = await http.post("/api/v1/credentials", json=body, headers=tenant_a.h("developer"))
    assert r.status_code == 422, r.text
    assert field in r.json()["detail"]
    assert "six" not in r.text


async def test_delete_refused_while_a_workflow_uses_it(http, tenant_a, definition):
    name = f"db-{uuid.uuid4().hex[:6]}"
    r = await http.post("/api/v1/credentials", headers=tenant_a.h("developer"),
                        json={"name": name, "type": "hmac_secret", "values": {"secret": "k" * 16}})
    cid = r.json()["id"]
    definition["nodes"].insert(1, {"id": "q", "type": "util.noop", "config": {"credential": name}})
    definition["edges"] = [{"source": "start", "target": "q"}, {"source": "q", "target": "double"},
                           {"source": "double", "target": "end"}]
    wf = await http.post("/api/v1/workflows", json={"name": "uses cred", "definition": definition},
                         headers=tenant_a.h("developer"))
    assert wf.status_code == 201, wf.text
    wid = wf.json()["id"]
    listed = {c["name"]: c for c in (await http.get("/api/v1/credentials", headers=tenant_a.h("viewer"))).json()["items"]}
    assert listed[name]["used_by"] == [wid]

    r = await http.delete(f"/api/v1/credentials/{cid}", headers=tenant_a.h("admin"))
    assert r.status_code == 409
    assert r.json()["detail"]["workflows"] == [wid] and wid in r.json()["detail"]["message"]

    # a new version without the reference frees it
    definition["nodes"][1]["config"] = {}
    etag = (await http.get(f"/api/v1/workflows/{wid}", headers=tenant_a.h("developer"))).headers.get("etag")
    headers = {**tenant_a.h("developer"), **({"If-Match": etag} if etag else {})}
    r = await http.put(f"/api/v1/workflows/{wid}", json={"definition": definition}, headers=headers)
    assert r.status_code == 200, r.text
    assert (await http.delete(f"/api/v1/credentials/{cid}", headers=tenant_a.h("admin"))).status_code == 204


async def test_rotate_key_reencrypts_with_the_current_key(api_settings):
    old = base64.b64encode(os.urandom(32)).decode()
    new = base64.b64encode(os.urandom(32)).decode()
    s_old = Settings(**{**api_settings.model_dump(), "credentials_keys": f"k1:{old}"})
    s_both = Settings(**{**api_settings.model_dump(), "credentials_keys": f"k2:{new},k1:{old}"})
    s_new = Settings(**{**api_settings.model_dump(), "credentials_keys": f"k2:{new}"})
    name = f"rot-{uuid.uuid4().hex[:6]}"
    engine = create_engine(api_settings, pool_size=1, max_overflow=0)
    try:
        async with create_sessionmaker(engine)() as session:
            tenant = Tenant(name=f"rot-{uuid.uuid4().hex[:8]}")
            session.add(tenant)
            await session.commit()
            row = await store.create_credential(session, store.Keyring.from_settings(s_old), tenant_id=tenant.id,
                                                name=name, type="hmac_secret", values={"secret": "rotate-me"})
            assert row.key_id == "k1"
            with pytest.raises(store.CredentialKeyError):
                await store.resolve_credential(session, store.Keyring.from_settings(s_new), tenant.id, name)
            done = await store.rotate_keys(session, store.Keyring.from_settings(s_both), tenant_id=tenant.id)
            assert done >= 1
            assert await store.rotate_keys(session, store.Keyring.from_settings(s_both), tenant_id=tenant.id) == 0
            got = await store.resolve_credential(session, store.Keyring.from_settings(s_new), tenant.id, name)
            assert got.values == {"secret": "rotate-me"}
            await session.refresh(row)
            assert row.key_id == "k2"
            await store.delete_credential(session, tenant_id=tenant.id, credential_id=row.id)
    finally:
        await engine.dispose()


def test_production_needs_keys():
    with pytest.raises(store.CredentialKeyError):
        store.Keyring.from_settings(Settings(environment="production", secret_key="x" * 40))
    with pytest.raises(store.CredentialKeyError):
        store.Keyring.parse("k1:notbase64!!")
    with pytest.raises(store.CredentialKeyError):
        store.Keyring.parse("k1:" + base64.b64encode(b"short").decode())


def test_cli_rotate_key(api_settings, monkeypatch, capsys):
    """`wfo credentials rotate-key` with the old key second in CREDENTIALS_KEYS re-encrypts everything."""
    old, new = _key(), _key()

    async def seed() -> uuid.UUID:
        engine = create_engine(api_settings, pool_size=1, max_overflow=0)
        try:
            async with create_sessionmaker(engine)() as session:
                tenant = Tenant(name=f"cli-{uuid.uuid4().hex[:8]}")
                session.add(tenant)
                await session.commit()
                await store.create_credential(session, store.Keyring.parse(f"old:{old}"), tenant_id=tenant.id,
                                              name="c", type="hmac_secret", values={"secret": "cli-secret"})
                return tenant.id
        finally:
            await engine.dispose()

    async def read(tenant_id: uuid.UUID) -> tuple[str, dict]:
        engine = create_engine(api_settings, pool_size=1, max_overflow=0)
        try:
            async with create_sessionmaker(engine)() as session:
                got = await store.resolve_credential(session, store.Keyring.parse(f"new:{new}"), tenant_id, "c")
                row = (await session.exec(select(Credential).where(Credential.tenant_id == tenant_id))).one()
                return row.key_id, got.values
        finally:
            await engine.dispose()

    tenant_id = asyncio.run(seed())
    monkeypatch.setenv("DATABASE_URL", api_settings.database_url)
    monkeypatch.setenv("ENVIRONMENT", "test")
    monkeypatch.setenv("CREDENTIALS_KEYS", f"new:{new},old:{old}")
    get_settings.cache_clear()
    try:
        assert main(["credentials", "rotate-key", "--tenant", str(tenant_id)]) == 0
    finally:
        get_settings.cache_clear()
    assert "re-encrypted" in capsys.readouterr().out
    assert asyncio.run(read(tenant_id)) == ("new", {"secret": "cli-secret"})


def _key() -> str:
    return store.Keyring.generate_key()


async def test_credential_used_by_an_execution_stays_out_of_answers_and_history(
        http, tenant_a, worker, temporal_env, caplog):
    """REST end to end: the credential's value reaches the peer, never the API answers, history or logs."""
    caplog.set_level(logging.DEBUG)
    token = f"tok-{uuid.uuid4().hex}"
    name = f"erp-{uuid.uuid4().hex[:6]}"
    r = await http.post("/api/v1/credentials", headers=tenant_a.h("developer"),
                        json={"name": name, "type": "http_bearer", "values": {"token": token}})
    assert r.status_code == 201
    with HttpPeer(lambda req: (200, {}, {"seen": req.headers.get("authorization")})) as peer:
        definition = {"schema_version": 1, "nodes": [
            {"id": "start", "type": "start"},
            {"id": "call", "type": "http.request", "config": {"url": peer.url + "/x", "credential": name}},
            {"id": "end", "type": "end", "config": {"output": "{{ nodes.call.body }}"}}],
            "edges": [{"source": "start", "target": "call"}, {"source": "call", "target": "end"}]}
        wf = await http.post("/api/v1/workflows", json={"name": "cred e2e", "status": "active",
                                                        "definition": definition}, headers=tenant_a.h("developer"))
        assert wf.status_code == 201, wf.text
        started = await http.post(f"/api/v1/workflows/{wf.json()['id']}/execute", json={"input": {}},
                                  headers=tenant_a.h("operator"))
        assert started.status_code == 202, started.text
        detail = await wait_status(http, tenant_a, started.json()["id"])
        assert peer.requests[0].headers["authorization"] == f"Bearer {token}"
    assert detail["status"] == "completed" and detail["output"] == {"seen": "Bearer ***"}
    logs = await http.get(f"/api/v1/executions/{started.json()['id']}/logs", headers=tenant_a.h("viewer"))
    listed = await http.get("/api/v1/credentials", headers=tenant_a.h("admin"))
    handle = temporal_env.client.get_workflow_handle(started.json()["id"])
    history = b"".join([ev.SerializeToString() async for ev in handle.fetch_history_events()])
    assert b"Bearer ***" in history
    for text in (str(detail), logs.text, listed.text, "\n".join(r.getMessage() for r in caplog.records)):
        assert token not in text
    assert token.encode() not in history
