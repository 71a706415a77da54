"""`chat.post` in Slack, Teams and Discord incoming-webhook formats, against a local HTTP peer."""

from __future__ import annotations

import pytest

from connectors.base import ComponentError
from connectors.chat_post import ChatPost
from connectors.registry import default_registry
from tests.connectors.conftest import FAST_RETRY, history_bytes
from tests.helpers import defn, node
from tests.localpeers import HttpPeer, Req
from workflows.validation import validate_definition


def hooks(req: Req):
    if req.path == "/busy":
        return 429, {"retry-after": "1"}, {"message": "rate limited"}
    if req.path == "/gone":
        return 404, {}, {"message": "no such webhook"}
    return (204 if req.path.startswith("/discord") else 200), {}, b"" if req.path.startswith("/discord") else b"ok"


@pytest.fixture
def peer():
    with HttpPeer(hooks) as p:
        yield p


MESSAGE = {"title": "Order 7 failed", "text": "card *declined*", "fields": {"customer": "ACME", "amount": 30}}


async def test_each_platform_format(vault, peer):
    for platform in ("slack", "teams", "discord"):
        await vault.add(f"{platform}-hook", f"{platform}_webhook", {"url": f"{peer.url}/{platform}/T000/secret-path"})
    c = ChatPost()
    for platform in ("slack", "teams", "discord"):
        out = await c.run({"platform": platform, "credential": f"{platform}-hook", **MESSAGE}, vault.ctx())
        assert out["delivered"] is True and out["status"] in (200, 204)
    slack, teams, discord = (peer.on(f"/{p}/T000/secret-path")[0].json() for p in ("slack", "teams", "discord"))
    assert slack["text"] == "*Order 7 failed*\ncard *declined*"
    assert slack["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": "Order 7 failed"}}
    assert {"type": "mrkdwn", "text": "*customer*\nACME"} in slack["blocks"][2]["fields"]
    assert teams["@type"] == "MessageCard" and teams["title"] == "Order 7 failed"
    assert teams["sections"][0]["facts"] == [{"name": "customer", "value": "ACME"}, {"name": "amount", "value": "30"}]
    assert discord["content"] == "card *declined*" and discord["embeds"][0]["title"] == "Order 7 failed"
    assert discord["embeds"][0]["fields"][1] == {"name": "amount", "value": "30", "inline": True}


async def test_wrong_credential_type_and_errors(vault, peer):
    await vault.add("slack-only", "slack_webhook", {"url": peer.url + "/slack/x"})
    await vault.add("busy", "slack_webhook", {"url": peer.url + "/busy"})
    await vault.add("gone", "slack_webhook", {"url": peer.url + "/gone"})
    c = ChatPost()
    with pytest.raises(ComponentError) as exc:
        await c.run({"platform": "teams", "credential": "slack-only", "text": "x"}, vault.ctx())
    assert exc.value.type == "CredentialTypeMismatch"
    with pytest.raises(ComponentError) as exc:
        await c.run({"platform": "slack", "credential": "busy", "text": "x"}, vault.ctx())
    assert exc.value.retryable and exc.value.type == "ChatPostError"
    with pytest.raises(ComponentError) as exc:
        await c.run({"platform": "slack", "credential": "gone", "text": "x"}, vault.ctx())
    assert not exc.value.retryable


def test_bad_config_names_the_field():
    d = defn([node("start", "start"), node("c", "chat.post", platform="irc", credential="x", text="hi"),
              node("end", "end")], ["start->c", "c->end"])
    problems = validate_definition(d, default_registry())
    assert [(p.node_id, p.field) for p in problems] == [("c", "config.platform")]


async def test_peer_down_retryable_then_error_port_and_url_never_in_history(vault, run_node):
    await vault.add("down-hook", "slack_webhook", {"url": "http://127.0.0.1:1/services/T0/B0/XYZsecret"})
    with pytest.raises(ComponentError) as exc:
        await ChatPost().run({"platform": "slack", "credential": "down-hook", "text": "x"}, vault.ctx())
    assert exc.value.retryable and "XYZsecret" not in exc.value.message
    flow = await run_node("chat.post", {"platform": "slack", "credential": "down-hook", "text": "x"}, retry=FAST_RETRY)
    assert flow.result["error"]["type"] == "ChatConnectionError" and flow.result["error"]["attempts"] == 2
    assert b"XYZsecret" not in await history_bytes(flow.handle)
