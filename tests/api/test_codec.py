"""Issue 10, encrypted Temporal payloads: AES-GCM codec on client and worker, the codec endpoint, replay.

Before: the Temporal history (and UI) held every execution's input and output in plain JSON.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid

import httpx
import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.worker import Replayer

from api.main import create_app
from tests.api._util import wait_status
from tests.api.conftest import VALID_DEFINITION
from wfo.codec import (
    CodecKeyError,
    EncryptionCodec,
    data_converter_for,
    is_encrypted,
    new_key_spec,
    parse_keys,
    payloads_to_json,
)
from worker.main import build_worker, workflow_runner
from workflows.converter import data_converter
from workflows.interpreter import InterpreterWorkflow

MARKER = "PLAINTEXT-MARKER-7f3a"


def test_codec_roundtrip_rotation_and_passthrough():
    old, new = new_key_spec("k1"), new_key_spec("k2")
    plain = Payload(metadata={"encoding": b"json/plain"}, data=json.dumps({"m": MARKER}).encode())
    enc = EncryptionCodec(parse_keys(old), workflow_id="exec-1").encrypt(plain)
    assert is_encrypted(enc) and MARKER.encode() not in enc.SerializeToString()
    assert enc.metadata["encryption-key-id"] == b"k1" and enc.metadata["wfo-workflow-id"] == b"exec-1"
    rotated = EncryptionCodec(parse_keys(f"{new},{old}"))
    assert rotated.decrypt(enc) == plain  # old key still decrypts after rotation
    assert rotated.encrypt(plain).metadata["encryption-key-id"] == b"k2"  # the new key encrypts
    assert rotated.decrypt(plain) is plain  # pre-codec payloads pass through
    with pytest.raises(CodecKeyError):
        EncryptionCodec(parse_keys(new)).decrypt(enc)  # key no longer configured
    forged = Payload(metadata={**enc.metadata, "wfo-workflow-id": b"exec-of-another-tenant"}, data=enc.data)
    with pytest.raises(CodecKeyError):
        rotated.decrypt(forged)  # the workflow id is bound into the ciphertext
    for bad in ["k1", "k1:notbase64!", "k1:" + base64.b64encode(b"short").decode()]:
        with pytest.raises(CodecKeyError):
            parse_keys(bad)


@pytest.fixture
async def encrypted(api_settings, temporal_env):
    """An app and a worker whose Temporal client encrypts, on their own task queue."""
    settings = api_settings.model_copy(update={"payload_codec_keys": new_key_spec("k1"),
                                               "temporal_task_queue": f"codec-{uuid.uuid4().hex[:8]}"})
    client = Client(**{**temporal_env.client.config(),
                       "data_converter": data_converter_for(settings.payload_codec_keys, data_converter)})
    app = create_app(settings, temporal_client=client, reconcile_interval=None)
    async with app.router.lifespan_context(app), build_worker(client, settings):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            yield http, settings, client
    await app.state.engine.dispose()


async def test_history_is_ciphertext_and_the_codec_endpoint_decodes_for_the_tenant_only(
        encrypted, temporal_env, tenant_a, tenant_b):
    http, settings, client = encrypted
    r = await http.post("/api/v1/workflows", headers=tenant_a.h("developer"),
                        json={"name": "codec", "status": "active", "definition": VALID_DEFINITION})
    assert r.status_code == 201, r.text
    r = await http.post(f"/api/v1/workflows/{r.json()['id']}/execute", headers=tenant_a.h("developer"),
                        json={"input": {"x": 21, "note": MARKER}})
    assert r.status_code == 202, r.text
    exec_id = r.json()["id"]
    done = await wait_status(http, tenant_a, exec_id, timeout=40)
    assert done["status"] == "completed" and done["output"] == {"value": 42}, done  # the API reads through the codec

    # the raw history, read without the codec: no plaintext input or output anywhere
    raw = await temporal_env.client.get_workflow_handle(exec_id).fetch_history()
    wire = b"".join(e.SerializeToString() for e in raw.events)
    assert MARKER.encode() not in wire and b'"value":42' not in wire  # (search attributes stay plain, by design)
    done_event = raw.events[-1].workflow_execution_completed_event_attributes.result.payloads[0]
    assert is_encrypted(done_event)
    started = raw.events[0].workflow_execution_started_event_attributes.input.payloads[0]
    assert is_encrypted(started) and started.metadata["wfo-workflow-id"] == exec_id.encode()
    body = {"payloads": payloads_to_json([started])}

    # the codec endpoint: the tenant's caller reads it, another tenant and anonymous callers do not
    r = await http.post("/api/v1/codec/decode", headers=tenant_a.h("viewer"), json=body)
    assert r.status_code == 200, r.text
    decoded = base64.b64decode(r.json()["payloads"][0]["data"])
    assert MARKER.encode() in decoded and r.json()["payloads"][0]["metadata"]["encoding"] == \
        base64.b64encode(b"json/plain").decode()
    r = await http.post("/api/v1/codec/decode", headers=tenant_b.h("admin"), json=body)
    assert r.status_code == 403 and MARKER not in r.text
    r = await http.post("/api/v1/codec/decode", json=body)
    assert r.status_code == 401 and MARKER not in r.text

    # the Temporal UI in a browser: login cookie + CORS for the UI's origin only
    ui = settings.temporal_ui_url.rstrip("/")
    async with httpx.AsyncClient(transport=http._transport, base_url="http://t") as browser:
        r = await browser.post("/api/v1/auth/token", data={"username": tenant_a.users["viewer"].email,
                                                            "password": tenant_a.passwords["viewer"]})
        assert r.status_code == 200 and "wfo_token" in r.cookies
        r = await browser.options("/api/v1/codec/decode", headers={"Origin": ui, "Access-Control-Request-Method": "POST"})
        assert r.status_code == 204 and r.headers["access-control-allow-origin"] == ui
        assert r.headers["access-control-allow-credentials"] == "true"
        r = await browser.post("/api/v1/codec/decode", json=body, headers={"Origin": ui, "X-Namespace": "default"})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == ui
        assert MARKER.encode() in base64.b64decode(r.json()["payloads"][0]["data"])
        r = await browser.options("/api/v1/codec/decode", headers={"Origin": "http://evil.test"})
        assert "access-control-allow-origin" not in r.headers
        r = await browser.post("/api/v1/codec/decode", json=body)  # the cookie without the UI's Origin: nothing
        assert r.status_code == 401
        r = await browser.post("/api/v1/codec/decode", json=body, headers={"Origin": "http://evil.test"})
        assert r.status_code == 401 and MARKER not in r.text
    # the cookie opens nothing but the codec endpoint
    r = await http.get("/api/v1/workflows", cookies={"wfo_token": tenant_a.tokens["admin"]}, headers={"Origin": ui})
    assert r.status_code == 401

    # `wfo replay` decodes: the encrypted history replays with the codec's converter
    replayer = Replayer(workflows=[InterpreterWorkflow], workflow_runner=workflow_runner(),
                        data_converter=client.data_converter)
    result = await replayer.replay_workflow(raw, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
    await asyncio.sleep(0)


async def test_codec_endpoint_without_keys_is_404(http, tenant_a):
    r = await http.post("/api/v1/codec/decode", headers=tenant_a.h("viewer"), json={"payloads": []})
    assert r.status_code == 404 and "PAYLOAD_CODEC_KEYS" in r.text
