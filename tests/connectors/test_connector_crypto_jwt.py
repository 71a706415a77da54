"""`crypto.hmac` and `jwt`: activity components whose key comes from a credential resolved in the activity.

The credential store is the vault's job (another component); here a dict-backed resolver implements the
`CredentialResolver` protocol with the vault's contract (not found / wrong type are non-retryable), and
tokens are checked with PyJWT and signatures with the stdlib, independently of the code under test.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time

import jsonschema
import jwt as pyjwt
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from connectors.base import ComponentError, NodeContext
from connectors.crypto_hmac import CryptoHmac
from connectors.jwt_token import JwtToken
from connectors.registry import default_registry
from tests.helpers import defn, node
from wfo.executions import start_execution
from worker.main import build_worker
from workflows.validation import validate_definition


def validate(definition, **kw):
    return validate_definition(definition, default_registry(), **kw)

SECRET = "s3cr3t-value-for-tests-" * 3  # 69 bytes: above the HS512 minimum


class DictCredentials:
    def __init__(self, creds: dict[str, tuple[str, dict]]):
        self.creds = creds

    async def resolve(self, tenant_id, name, types):
        if name not in self.creds:
            raise ComponentError(f"credential {name!r} not found", retryable=False, type="CredentialNotFound")
        type_, values = self.creds[name]
        if types and type_ not in types:
            raise ComponentError(f"credential {name!r} is a {type_}, not {' or '.join(types)}", retryable=False,
                                 type="CredentialTypeMismatch")
        return dict(values)


def _ec_keys() -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


PRIVATE, PUBLIC = _ec_keys()
CREDS = DictCredentials({
    "hook": ("hmac_secret", {"secret": SECRET}),
    "raw": ("hmac_secret", {"secret": "base64:" + base64.b64encode(b"\x00\x01key").decode()}),
    "api": ("jwt_secret", {"secret": SECRET}),
    "ec": ("jwt_secret", {"private_key": PRIVATE, "public_key": PUBLIC}),
    "db": ("postgres", {"password": "pw"}),
})


def ctx() -> NodeContext:
    return NodeContext(execution_id="exec-1", node_id="n", attempt=1, idempotency_key="exec-1:n:1",
                       tenant_id="t1", credentials=CREDS)


async def call(component, config: dict, c: NodeContext | None = None):
    jsonschema.validate(config, component.spec.config_schema)
    return await component.run(config, c or ctx())


def test_registered_as_activities():
    reg = default_registry()
    assert reg.get("crypto.hmac").kind == "activity" and reg.get("jwt").kind == "activity"


async def test_hmac_signs_and_compares():
    c = ctx()
    out = await call(CryptoHmac(), {"credential": "hook", "value": "payload"}, c)
    expected = hmac.new(SECRET.encode(), b"payload", hashlib.sha256).hexdigest()
    assert out == {"value": expected, "algorithm": "sha256"}
    assert SECRET in c.secret_values  # recorded so the activity scrubs it from whatever leaves it
    b64 = await call(CryptoHmac(), {"credential": "hook", "value": {"a": 1}, "algorithm": "sha512",
                                    "encoding": "base64"})
    assert b64["value"] == base64.b64encode(hmac.new(SECRET.encode(), b'{"a":1}', hashlib.sha512).digest()).decode()
    raw = await call(CryptoHmac(), {"credential": "raw", "value": "x"})
    assert raw["value"] == hmac.new(b"\x00\x01key", b"x", hashlib.sha256).hexdigest()
    ok = await call(CryptoHmac(), {"credential": "hook", "value": "payload", "compare": f"sha256={expected.upper()}"})
    assert ok["valid"] is True
    bad = await call(CryptoHmac(), {"credential": "hook", "value": "payload", "compare": "sha256=" + "0" * 64})
    assert bad["valid"] is False


async def test_hmac_credential_errors_are_not_retried():
    with pytest.raises(ComponentError) as info:
        await call(CryptoHmac(), {"credential": "nope", "value": "x"})
    assert info.value.type == "CredentialNotFound" and not info.value.retryable
    with pytest.raises(ComponentError) as info:
        await call(CryptoHmac(), {"credential": "db", "value": "x"})
    assert info.value.type == "CredentialTypeMismatch" and not info.value.retryable
    with pytest.raises(ComponentError) as info:
        await CryptoHmac().run({"credential": "hook", "value": "x"},
                               NodeContext(execution_id="e", node_id="n", attempt=1, idempotency_key="k"))
    assert info.value.type == "CredentialNotFound"


async def test_jwt_sign_then_verify_hs256_and_es256():
    signed = await call(JwtToken(), {"operation": "sign", "credential": "api", "payload": {"sub": "u1", "role": "x"},
                                     "expires_in_seconds": 60, "issuer": "wfo", "audience": "partner",
                                     "headers": {"kid": "k1"}})
    claims = pyjwt.decode(signed["token"], SECRET, algorithms=["HS256"], audience="partner", issuer="wfo")
    assert claims["sub"] == "u1" and claims["role"] == "x" and 55 <= claims["exp"] - time.time() <= 61
    assert pyjwt.get_unverified_header(signed["token"])["kid"] == "k1"
    verified = await call(JwtToken(), {"operation": "verify", "credential": "api", "token": signed["token"],
                                       "audience": "partner", "issuer": "wfo"})
    assert verified["valid"] is True and verified["payload"] == claims and verified["header"]["alg"] == "HS256"

    es = await call(JwtToken(), {"operation": "sign", "credential": "ec", "algorithm": "ES256",
                                 "payload": {"sub": "u2"}})
    assert pyjwt.decode(es["token"], PUBLIC, algorithms=["ES256"])["sub"] == "u2"
    assert (await call(JwtToken(), {"operation": "verify", "credential": "ec", "algorithm": "ES256",
                                    "token": es["token"]}))["payload"]["sub"] == "u2"


@pytest.mark.parametrize("token, why", [
    (pyjwt.encode({"sub": "u", "exp": int(time.time()) - 10}, SECRET, algorithm="HS256"), "expired"),
    (pyjwt.encode({"sub": "u"}, "another-secret-of-32-bytes-long!", algorithm="HS256"), "Signature"),
    (pyjwt.encode({"sub": "u"}, None, algorithm="none"), "alg value"),
    (pyjwt.encode({"sub": "u"}, SECRET, algorithm="HS512"), "alg value"),
    ("not.a.token", "Invalid"),
])
async def test_jwt_verify_refuses_bad_tokens(token, why):
    with pytest.raises(ComponentError) as info:
        await call(JwtToken(), {"operation": "verify", "credential": "api", "token": token})
    assert info.value.type == "InvalidToken" and not info.value.retryable
    assert why.lower() in info.value.message.lower()
    assert SECRET not in info.value.message


async def test_jwt_unusable_keys_are_credential_errors_not_retried():
    creds = DictCredentials({"nopub": ("jwt_secret", {"private_key": PRIVATE}),
                             "junk": ("jwt_secret", {"public_key": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"}),
                             "nosecret": ("jwt_secret", {"public_key": PUBLIC})})
    c = NodeContext(execution_id="e", node_id="n", attempt=1, idempotency_key="k", credentials=creds)
    token = (await call(JwtToken(), {"operation": "sign", "credential": "ec", "algorithm": "ES256", "payload": {}}))["token"]
    for name, algorithm in (("nopub", "ES256"), ("junk", "ES256"), ("nosecret", "HS256")):
        with pytest.raises(ComponentError) as info:
            await call(JwtToken(), {"operation": "verify", "credential": name, "algorithm": algorithm, "token": token}, c)
        assert info.value.type == "CredentialInvalid" and not info.value.retryable, name


async def test_jwt_audience_and_required_claims():
    token = pyjwt.encode({"sub": "u", "aud": "someone-else"}, SECRET, algorithm="HS256")
    with pytest.raises(ComponentError, match="[Aa]udience"):
        await call(JwtToken(), {"operation": "verify", "credential": "api", "token": token, "audience": "partner"})
    with pytest.raises(ComponentError, match="exp"):
        await call(JwtToken(), {"operation": "verify", "credential": "api", "token": token, "require": ["exp"]})


def test_bad_config_names_the_field():
    d = defn([node("start", "start"), node("sig", "jwt", operation="encrypt"), node("end", "end")],
             ["start->sig", "sig->end"])
    problems = {(p.node_id, p.field) for p in validate(d)}
    assert ("sig", "config") in problems  # `credential` is required
    assert ("sig", "config.operation") in problems
    d = defn([node("start", "start"), node("h", "crypto.hmac", credential="hook", value="x", algorithm="sha3"),
              node("end", "end")], ["start->h", "h->end"])
    assert [(p.node_id, p.field) for p in validate(d)] == [("h", "config.algorithm")]


@pytest_asyncio.fixture
async def started(temporal_env, settings):
    client = temporal_env.client

    async def _start(definition, input=None):
        return await start_execution(client, definition=definition, input=input,
                                     task_queue=settings.temporal_task_queue)

    async with build_worker(client, settings):
        yield _start


async def test_in_a_workflow_a_missing_credential_takes_the_error_port_without_retries(started):
    d = defn([node("start", "start"),
              node("sig", "jwt", operation="sign", credential="nowhere", payload={"sub": "{{ input.user }}"}),
              node("end", "end", output="{{ nodes.sig.error }}")],
             ["start->sig", "sig:error->end"])
    h = await started(d, {"user": "u1"})
    err = await asyncio.wait_for(h.result(), timeout=60)
    assert err["type"] == "CredentialNotFound" and err["attempts"] == 1
    assert "nowhere" in err["message"]
