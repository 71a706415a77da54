"""Pure parts: signatures, SSRF checks, idempotency keys (no servers)."""

from __future__ import annotations

import time

import pytest

from wfo.executions import keyed_execution_id as execution_id_for_delivery
from wfo.idempotency import idempotency_key_from_headers
from wfo.netguard import UnsafeURLError, check_outbound_url, pinned_request
from wfo.security.secretbox import new_secret, seal, unseal
from wfo.security.signing import (
    sign_body_github,
    signed_headers,
    verify_body_signature,
    verify_event,
)
from wfo.settings import Settings


def test_outbound_signature_roundtrip_and_replay_window():
    body = '{"a":1}'
    h = signed_headers("s3cret", body, delivery_id="d1", event_type="workflow.created")
    assert h["X-Wfo-Signature"].startswith("v1=")
    assert verify_event("s3cret", h, body)
    assert not verify_event("other", h, body)
    assert not verify_event("s3cret", h, body + " ")
    old = signed_headers("s3cret", body, delivery_id="d1", event_type="x", timestamp=int(time.time()) - 3600)
    assert not verify_event("s3cret", old, body)  # replayed: too old
    assert verify_event("s3cret", old, body, tolerance_seconds=7200)


def test_inbound_github_signature():
    body = b'{"zen":"hi"}'
    sig = sign_body_github("k", body)
    assert verify_body_signature("k", body, sig)
    assert not verify_body_signature("k", body, None)
    assert not verify_body_signature("k", body, "sha256=" + "0" * 64)
    assert not verify_body_signature("k", body + b"x", sig)
    assert not verify_body_signature("k", body, "sha256=\u00e9")


def test_idempotency_keys():
    assert idempotency_key_from_headers({"X-GitHub-Delivery": "abc"}) == ("x-github-delivery", "abc")
    assert idempotency_key_from_headers({"Idempotency-Key": "k", "X-GitHub-Delivery": "abc"})[1] == "k"
    assert idempotency_key_from_headers({"Content-Type": "x"}) is None
    a = execution_id_for_delivery("t1", "k")
    assert a == execution_id_for_delivery("t1", "k") != execution_id_for_delivery("t2", "k")


def test_secretbox():
    s = new_secret()
    token = seal("key-1", s)
    assert s not in token and unseal("key-1", token) == s
    with pytest.raises(ValueError):
        unseal("key-2", token)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://localhost:8080/x",
        "http://10.1.2.3/",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "http://192.168.1.1/",
        "ftp://example.com/",
        "http://user:pw@example.com/",
        "file:///etc/passwd",
    ],
)
async def test_ssrf_refuses_internal(url):
    with pytest.raises(UnsafeURLError):
        await check_outbound_url(url, Settings(environment="test"))


async def test_ssrf_allowlist_admits_only_listed():
    s = Settings(environment="test", outbound_allowlist=["127.0.0.1", "10.0.0.0/8"])
    assert (await check_outbound_url("http://127.0.0.1:9/x", s)).addresses == ("127.0.0.1",)
    await check_outbound_url("http://10.9.8.7/", s)
    with pytest.raises(UnsafeURLError):
        await check_outbound_url("http://127.0.0.2/", s)
    with pytest.raises(UnsafeURLError):
        await check_outbound_url("http://192.168.0.1/", s)
    assert (await check_outbound_url("http://192.168.0.1/", Settings(environment="test", http_allow_private_networks=True)))


async def test_pinned_request_keeps_host_and_sni():
    s = Settings(environment="test", outbound_allowlist=["127.0.0.1"])
    checked = await check_outbound_url("https://localhost:8443/p?q=1", s)
    url, host, ext = pinned_request(checked)
    assert url.startswith("https://127.0.0.1:8443/p?q=1") or url.startswith("https://[::1]")
    assert host == {"Host": "localhost:8443"}
    assert ext == {"sni_hostname": "localhost"}
