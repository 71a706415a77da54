"""`http.request` auth by credential (basic, bearer, API key, OAuth2 client credentials with token caching)
and bounded pagination, against a local HTTP peer."""

from __future__ import annotations

import base64
import itertools
import uuid

import pytest

from connectors.base import ComponentError
from connectors.http import HttpRequest
from connectors.registry import default_registry
from tests.connectors.conftest import FAST_RETRY
from tests.helpers import defn, node
from tests.localpeers import HttpPeer, Req
from wfo.settings import Settings
from workflows.validation import validate_definition


def echo(req: Req):
    return 200, {}, {"path": req.path, "query": req.query, "auth": req.headers.get("authorization"),
                     "key": req.headers.get("x-api-key") or req.headers.get("x-token")}


@pytest.fixture
def peer():
    with HttpPeer(echo) as p:
        yield p


async def test_basic_bearer_and_api_key_auth(vault, peer):
    c = HttpRequest()
    await vault.add("basic", "http_basic", {"username": "ann", "password": "b-pass-123"})
    await vault.add("bearer", "http_bearer", {"token": "tok-abc-123"})
    await vault.add("hkey", "http_api_key", {"key": "k-123-456", "header": "X-Token"})
    await vault.add("qkey", "http_api_key", {"key": "q-123-456", "query_param": "api_key"})
    ctx = vault.ctx()
    out = await c.run({"url": peer.url + "/a", "credential": "basic"}, ctx)
    assert out["body"]["auth"] == "Basic " + base64.b64encode(b"ann:b-pass-123").decode()
    assert "b-pass-123" in ctx.secret_values  # the activity scrubs these from what leaves it
    assert (await c.run({"url": peer.url + "/a", "credential": "bearer"}, vault.ctx()))["body"]["auth"] == \
        "Bearer tok-abc-123"
    assert (await c.run({"url": peer.url + "/a", "credential": "hkey"}, vault.ctx()))["body"]["key"] == "k-123-456"
    out = await c.run({"url": peer.url + "/a", "credential": "qkey", "query": {"x": "1"}}, vault.ctx())
    assert out["body"]["query"] == {"x": "1", "api_key": "q-123-456"}


async def test_oauth2_client_credentials_token_cached_and_refreshed_on_401(vault):
    issued = itertools.count(1)
    state = {"valid": set()}

    def handler(req: Req):
        if req.path == "/token":
            form = req.form()
            if form.get("client_secret") != "cs-secret-1" or form.get("grant_type") != "client_credentials":
                return 401, {}, {"error": "invalid_client"}
            token = f"at-{next(issued)}-{uuid.uuid4().hex[:6]}"
            state["valid"] = {token}
            return 200, {}, {"access_token": token, "token_type": "Bearer", "expires_in": 3600,
                             "scope": form.get("scope")}
        auth = req.headers.get("authorization", "")
        if auth.removeprefix("Bearer ") not in state["valid"]:
            return 401, {}, {"error": "expired"}
        return 200, {}, {"ok": True}

    with HttpPeer(handler) as p:
        await vault.add("oauth", "oauth2_client_credentials", {
            "token_url": p.url + "/token", "client_id": "cid", "client_secret": "cs-secret-1", "scope": "read"})
        c = HttpRequest()
        for _ in range(3):
            ctx = vault.ctx()
            assert (await c.run({"url": p.url + "/api", "credential": "oauth"}, ctx))["body"] == {"ok": True}
            assert any(s.startswith("at-") for s in ctx.secret_values)
        assert len(p.on("/token")) == 1  # cached across runs
        assert p.on("/token")[0].form()["scope"] == "read"
        state["valid"] = set()  # the server revokes the token: one 401, a new token, success
        assert (await c.run({"url": p.url + "/api", "credential": "oauth"}, vault.ctx()))["body"] == {"ok": True}
        assert len(p.on("/token")) == 2

        await vault.add("oauth-bad", "oauth2_client_credentials", {
            "token_url": p.url + "/token", "client_id": "cid", "client_secret": "wrong-secret"})
        with pytest.raises(ComponentError) as exc:
            await c.run({"url": p.url + "/api", "credential": "oauth-bad"}, vault.ctx())
        assert exc.value.type == "OAuth2TokenError" and not exc.value.retryable


async def test_token_url_passes_the_ssrf_guard(vault, settings):
    await vault.add("oauth-local", "oauth2_client_credentials", {
        "token_url": "http://127.0.0.1:9/token", "client_id": "c", "client_secret": "s-123456"})
    ctx = vault.ctx()
    ctx.services = type("S", (), {"settings": Settings(environment="test"), "http": vault.services.http})()
    with pytest.raises(ComponentError) as exc:
        await HttpRequest().run({"url": "https://example.com/", "credential": "oauth-local"}, ctx)
    assert exc.value.type == "ForbiddenAddress"


def _pages(mode: str):
    data = [[1, 2], [3, 4], [5]]

    def handler(req: Req):
        if mode == "next":
            i = int(req.query.get("i", "0"))
            nxt = f"/items?i={i + 1}" if i + 1 < len(data) else None
            return 200, {}, {"data": data[i], "links": {"next": nxt}}
        if mode == "link":
            i = int(req.query.get("i", "0"))
            headers = {"link": f'</items?i={i + 1}>; rel="next", </items?i=0>; rel="first"'} if i + 1 < len(data) \
                else {}
            return 200, headers, data[i]
        if mode == "cursor":
            i = int(req.query.get("after", "0") or 0)
            return 200, {}, {"data": data[i], "next": str(i + 1) if i + 1 < len(data) else None}
        i = int(req.query["page"]) - 1
        return 200, {}, {"data": data[i] if i < len(data) else []}
    return handler


@pytest.mark.parametrize("mode, pagination, pages", [
    ("next", {"mode": "next_link", "next_path": "links.next", "items_path": "data"}, 3),
    ("link", {"mode": "next_link"}, 3),
    ("cursor", {"mode": "cursor", "cursor_path": "next", "cursor_param": "after", "items_path": "data"}, 3),
    ("page", {"mode": "page", "items_path": "data"}, 4),  # the 4th page is empty
])
async def test_pagination(vault, mode, pagination, pages):
    with HttpPeer(_pages(mode)) as p:
        out = await HttpRequest().run({"url": p.url + "/items", "pagination": pagination}, vault.ctx())
        assert out["items"] == [1, 2, 3, 4, 5] and out["pages"] == pages and out["truncated"] is False
        assert len(p.requests) == pages
        bounded = await HttpRequest().run({"url": p.url + "/items", "pagination": {**pagination, "max_pages": 2}},
                                          vault.ctx())
        assert bounded["items"] == [1, 2, 3, 4] and bounded["pages"] == 2 and bounded["truncated"] is True


def test_bad_config_names_the_field():
    d = defn([node("start", "start"),
              node("h", "http.request", url="http://x/", pagination={"mode": "cursor", "cursor_path": "n"}),
              node("end", "end")], ["start->h", "h->end"])
    problems = validate_definition(d, default_registry())
    assert problems and problems[0].node_id == "h" and problems[0].field == "config.pagination"
    assert "cursor_param" in problems[0].message
    d["nodes"][1]["config"] = {"url": "http://x/", "pagination": {"mode": "page", "max_pages": 1000}}
    problems = validate_definition(d, default_registry())
    assert problems and problems[0].field == "config.pagination.max_pages"


async def test_peer_down_retryable_then_error_port(vault, run_node):
    await vault.add("tok", "http_bearer", {"token": "down-token-123"})
    with pytest.raises(ComponentError) as exc:
        await HttpRequest().run({"url": "http://127.0.0.1:1/x", "credential": "tok"}, vault.ctx())
    assert exc.value.retryable and exc.value.type == "HttpConnectionError"
    flow = await run_node("http.request", {"url": "http://127.0.0.1:1/x", "credential": "tok"}, retry=FAST_RETRY)
    assert flow.result["error"]["type"] == "HttpConnectionError" and flow.result["error"]["attempts"] == 2
