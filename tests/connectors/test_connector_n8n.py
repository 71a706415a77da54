"""`n8n.execute` against a local peer that behaves like n8n's webhook endpoint (`/webhook/<path>`)."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jsonschema
import pytest
import pytest_asyncio

from activities.services import Services
from connectors.base import ComponentError, NodeContext
from connectors.n8n import N8nExecute
from connectors.registry import default_registry
from tests.helpers import defn, node
from tests.localpeers import free_port
from wfo.executions import start_execution
from worker.main import build_worker
from workflows.validation import validate_definition as _validate


def validate_definition(data):
    return _validate(data, default_registry())

API_KEY = "n8n-key-5f1c9e"
PASSWORD = "hook-pass-77aa"


class N8nPeer:
    """What n8n answers for production webhooks: registered paths run a 'workflow', others are 404.

    - `orders/new` (header auth X-N8N-API-KEY): responds when the last node finishes with its output;
    - `basic` (basic auth user `flows`): same, basic auth;
    - `ack`: a Webhook node set to respond immediately;
    - `fails`: the workflow errors (n8n answers 500 "Error in workflow");
    - `busy`: n8n overloaded (503).
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        peer = self

        class H(BaseHTTPRequestHandler):
            def _reply(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json; charset=utf-8")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                body = json.loads(raw) if raw else None
                headers = {k.lower(): v for k, v in self.headers.items()}
                peer.requests.append({"method": self.command, "path": parts.path, "headers": headers, "body": body,
                                      "query": {k: v[0] for k, v in parse_qs(parts.query).items()}})
                prefix, _, hook = parts.path.lstrip("/").partition("/")
                if prefix not in ("webhook", "webhook-test") or hook not in ("orders/new", "basic", "ack", "fails",
                                                                            "busy", "lookup"):
                    return self._reply(404, {"code": 404, "message": f'The requested webhook "{self.command} {hook}" '
                                             "is not registered.", "hint": "The workflow must be active for a "
                                             "production URL to run successfully."})
                if hook == "orders/new":
                    if headers.get("x-n8n-api-key") != API_KEY:
                        return self._reply(403, {"code": 403, "message": "Authorization data is wrong!"})
                    return self._reply(200, {"order": body["order_id"], "status": "accepted",
                                             "lines": len(body.get("lines", []))})
                if hook == "basic":
                    expected = "Basic " + base64.b64encode(f"flows:{PASSWORD}".encode()).decode()
                    if headers.get("authorization") != expected:
                        return self._reply(403, {"code": 403, "message": "Authorization data is wrong!"})
                    return self._reply(200, [{"json": {"ok": True}}])
                if hook == "lookup":
                    return self._reply(200, {"query": {k: v[0] for k, v in parse_qs(parts.query).items()}})
                if hook == "ack":
                    return self._reply(200, {"message": "Workflow was started"})
                if hook == "busy":
                    return self._reply(503, {"code": 503, "message": "Service Unavailable"})
                return self._reply(500, {"code": 0, "message": "Error in workflow"})

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "N8nPeer":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


class Vault:
    """The credential store's resolver contract (connectors.base.CredentialResolver) over a dict."""

    def __init__(self, creds: dict[str, tuple[str, dict[str, Any]]]):
        self.creds = creds

    async def resolve(self, tenant_id, name, types):
        if name not in self.creds:
            raise ComponentError(f"credential {name!r} not found", retryable=False, type="CredentialNotFound")
        type_, values = self.creds[name]
        if types and type_ not in types:
            raise ComponentError(f"credential {name!r} is a {type_}", retryable=False, type="CredentialTypeMismatch")
        return dict(values)


@pytest.fixture
def peer():
    with N8nPeer() as p:
        yield p


def vault(url: str) -> Vault:
    return Vault({"n8n-prod": ("n8n_api", {"base_url": url, "api_key": API_KEY}),
                  "n8n-basic": ("n8n_api", {"base_url": url, "username": "flows", "password": PASSWORD}),
                  "n8n-wrong": ("n8n_api", {"base_url": url, "api_key": "not-the-key"}),
                  "pg": ("postgres", {"url": "postgresql://x"})})


@pytest_asyncio.fixture
async def http():
    async with httpx.AsyncClient() as client:
        yield client


def ctx_for(url: str, http: httpx.AsyncClient) -> NodeContext:
    from wfo.settings import Settings

    services = SimpleNamespace(settings=Settings(environment="test", http_allow_private_networks=True), http=http)
    return NodeContext(execution_id="exec-1", node_id="n8n", attempt=1, idempotency_key="exec-1:n8n:2",
                       services=services, credentials=vault(url))


async def call(config: dict, url: str, http) -> tuple[Any, NodeContext]:
    jsonschema.validate(config, N8nExecute.spec.config_schema)
    ctx = ctx_for(url, http)
    return await N8nExecute().run(config, ctx), ctx


async def failure(config: dict, url: str, http) -> ComponentError:
    with pytest.raises(ComponentError) as info:
        await call(config, url, http)
    return info.value


async def test_sync_waits_for_the_workflows_answer_with_api_key(peer, http):
    out, ctx = await call({"credential": "n8n-prod", "path": "orders/new",
                           "data": {"order_id": "A-7", "lines": [1, 2]}}, peer.url, http)
    assert out == {"status": 200, "body": {"order": "A-7", "status": "accepted", "lines": 2}}
    [req] = peer.requests
    assert req["method"] == "POST" and req["path"] == "/webhook/orders/new"
    assert req["headers"]["x-n8n-api-key"] == API_KEY and req["headers"]["idempotency-key"] == "exec-1:n8n:2"
    assert req["body"] == {"order_id": "A-7", "lines": [1, 2]}
    assert API_KEY in ctx.secret_values  # scrubbed from whatever leaves the activity


async def test_basic_auth_credential_and_get_with_query(peer, http):
    out, _ = await call({"credential": "n8n-basic", "path": "basic"}, peer.url, http)
    assert out["body"] == [{"json": {"ok": True}}]
    out, _ = await call({"base_url": peer.url, "path": "lookup", "method": "GET", "data": {"sku": "A-1", "n": 2}},
                        peer.url, http)
    assert out["body"] == {"query": {"sku": "A-1", "n": "2"}}


async def test_async_returns_once_n8n_acknowledges(peer, http):
    out, _ = await call({"credential": "n8n-prod", "path": "ack", "mode": "async", "data": {}}, peer.url, http)
    assert out == {"status": 200, "body": {"message": "Workflow was started"}, "started": True}


async def test_test_url(peer, http):
    await call({"credential": "n8n-prod", "path": "orders/new", "test": True, "data": {"order_id": "T"}}, peer.url, http)
    assert peer.requests[0]["path"] == "/webhook-test/orders/new"


async def test_errors_are_typed(peer, http):
    err = await failure({"credential": "n8n-prod", "path": "nope"}, peer.url, http)
    assert err.type == "N8nWebhookNotFound" and not err.retryable
    assert 'webhook "POST nope" is not registered' in err.message and "must be active" in err.message
    err = await failure({"credential": "n8n-wrong", "path": "orders/new", "data": {"order_id": 1}}, peer.url, http)
    assert err.type == "N8nAuthError" and not err.retryable and "Authorization data is wrong" in err.message
    err = await failure({"credential": "n8n-prod", "path": "fails", "data": {}}, peer.url, http)
    assert err.type == "N8nWorkflowError" and not err.retryable and "Error in workflow" in err.message
    err = await failure({"credential": "n8n-prod", "path": "busy"}, peer.url, http)
    assert err.type == "N8nUnavailable" and err.retryable
    err = await failure({"credential": "pg", "path": "x"}, peer.url, http)
    assert err.type == "CredentialTypeMismatch"


async def test_peer_down_is_retryable(http):
    url = f"http://127.0.0.1:{free_port()}"
    err = await failure({"base_url": url, "path": "orders/new"}, url, http)
    assert err.type == "N8nUnavailable" and err.retryable and "unreachable" in err.message


def test_bad_config_names_the_field():
    problems = validate_definition(defn([node("start", "start"), node("n8n", "n8n.execute", credential="n8n-prod",
                                                                       mode="later"), node("end", "end")],
                                        ["start->n8n", "n8n->end"]))
    assert any(p.node_id == "n8n" and "path" in p.message for p in problems)
    assert any(p.node_id == "n8n" and p.field == "config.mode" for p in problems)


async def test_in_an_execution_errors_go_to_the_error_port(peer, temporal_env, settings):
    services = Services(settings)
    services.credentials = vault(peer.url)
    flow = defn([
        node("start", "start"),
        node("order", "n8n.execute", credential="n8n-prod", path="orders/new", data={"order_id": "{{ input.id }}"}),
        node("missing", "n8n.execute", credential="n8n-prod", path="{{ input.hook }}",
             retry={"max_attempts": 3, "initial_interval": "PT0.1S"}),
        node("end", "end", output={"order": "{{ nodes.order.body }}", "missing": "{{ nodes.missing.error }}"}),
    ], ["start->order", "order->missing", "missing:error->end", "missing->end"])
    assert validate_definition(flow) == []
    try:
        async with build_worker(temporal_env.client, settings, services=services):
            handle = await start_execution(temporal_env.client, definition=flow, input={"id": "B-2", "hook": "gone"},
                                           task_queue=settings.temporal_task_queue)
            out = await asyncio.wait_for(handle.result(), 60)
    finally:
        await services.close()
    assert out["order"] == {"order": "B-2", "status": "accepted", "lines": 0}
    assert out["missing"]["type"] == "N8nWebhookNotFound" and out["missing"]["attempts"] == 1
    history = b"".join([ev.SerializeToString() async for ev in handle.fetch_history_events()])
    assert b"B-2" in history and API_KEY.encode() not in history  # the key never enters history
