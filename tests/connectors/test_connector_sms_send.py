"""`sms.send` against a local Twilio-compatible REST peer."""

from __future__ import annotations

import base64
import uuid

import httpx
import pytest

from connectors.base import ComponentError
from connectors.registry import default_registry
from connectors.sms_send import SmsSend
from tests.connectors.conftest import FAST_RETRY
from tests.helpers import defn, node
from tests.localpeers import HttpPeer, Req
from workflows.validation import validate_definition

SID, TOKEN = "AC" + "1" * 32, "twilio-auth-token-1"


class Twilio:
    def __init__(self) -> None:
        self.messages: dict[str, dict] = {}

    def __call__(self, req: Req):
        expected = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
        if req.headers.get("authorization") != expected:
            return 401, {}, {"code": 20003, "message": "Authenticate", "status": 401}
        path = f"/2010-04-01/Accounts/{SID}/Messages"
        if req.method == "POST" and req.path == path + ".json":
            form = req.form()
            if not form["To"].startswith("+1"):
                return 400, {}, {"code": 21211, "message": f"The 'To' number {form['To']} is not valid.",
                                 "status": 400}
            sid = "SM" + uuid.uuid4().hex
            self.messages[sid] = {"sid": sid, "to": form["To"], "from": form["From"], "body": form["Body"],
                                  "status": "queued", "num_segments": "1"}
            return 201, {}, self.messages[sid]
        if req.method == "GET" and req.path.startswith(path + "/"):
            sid = req.path.rsplit("/", 1)[1].removesuffix(".json")
            return (200, {}, self.messages[sid]) if sid in self.messages else (404, {}, {"code": 20404})
        return 404, {}, {"code": 20404, "message": "not found"}


@pytest.fixture
def twilio():
    api = Twilio()
    with HttpPeer(api) as peer:
        yield api, peer


async def test_send_then_read_back_through_the_api(vault, twilio):
    api, peer = twilio
    cred = await vault.add("sms", "twilio", {"account_sid": SID, "auth_token": TOKEN, "from": "+15550000000",
                                             "base_url": peer.url})
    out = await SmsSend().run({"credential": cred, "to": "+14155550100", "body": "shipped"}, vault.ctx())
    assert out["status"] == "queued" and out["to"] == "+14155550100" and out["segments"] == 1
    # read it back through the API itself
    async with httpx.AsyncClient(auth=(SID, TOKEN)) as client:
        r = await client.get(f"{peer.url}/2010-04-01/Accounts/{SID}/Messages/{out['sid']}.json")
    assert r.json()["body"] == "shipped" and r.json()["from"] == "+15550000000"


async def test_api_errors_not_retried(vault, twilio):
    api, peer = twilio
    bad = await vault.add("sms-bad", "twilio", {"account_sid": SID, "auth_token": "wrong-token-1",
                                                "from": "+15550000000", "base_url": peer.url})
    with pytest.raises(ComponentError) as exc:
        await SmsSend().run({"credential": bad, "to": "+14155550100", "body": "x"}, vault.ctx())
    assert not exc.value.retryable and "20003" in exc.value.message
    good = await vault.add("sms-good", "twilio", {"account_sid": SID, "auth_token": TOKEN, "from": "+15550000000",
                                                  "base_url": peer.url})
    with pytest.raises(ComponentError) as exc:
        await SmsSend().run({"credential": good, "to": "+447700900000", "body": "x"}, vault.ctx())
    assert not exc.value.retryable and "21211" in exc.value.message


def test_bad_config_names_the_field():
    d = defn([node("start", "start"), node("s", "sms.send", credential="c", to="0170 1234", body="hi"),
              node("end", "end")], ["start->s", "s->end"])
    problems = validate_definition(d, default_registry())
    assert [(p.node_id, p.field) for p in problems] == [("s", "config.to")]


async def test_peer_down_retryable_then_error_port(vault, run_node):
    cred = await vault.add("sms-down", "twilio", {"account_sid": SID, "auth_token": TOKEN, "from": "+15550000000",
                                                  "base_url": "http://127.0.0.1:1"})
    cfg = {"credential": cred, "to": "+14155550100", "body": "x"}
    with pytest.raises(ComponentError) as exc:
        await SmsSend().run(cfg, vault.ctx())
    assert exc.value.retryable
    flow = await run_node("sms.send", cfg, retry=FAST_RETRY)
    assert flow.result["error"]["type"] == "SmsConnectionError" and flow.result["error"]["attempts"] == 2
