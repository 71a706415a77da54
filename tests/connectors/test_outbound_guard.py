"""The one SSRF guard (wfo.netguard) for every outbound call: the `http.request` component and webhook delivery.

Real HTTP servers on loopback addresses: 127.0.0.1 is admitted through OUTBOUND_ALLOWLIST (what the
production-like test settings do), 127.0.0.2 is another loopback address that is not.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from connectors.base import ComponentError, NodeContext
from connectors.http import HttpRequest
from wfo.netguard import MAX_REDIRECTS, UnresolvableHostError, UnsafeURLError, check_outbound_url, guarded_send
from wfo.settings import Settings

STRICT = Settings(environment="test", http_allow_private_networks=False, outbound_allowlist=["127.0.0.1"])
OPEN = Settings(environment="test", http_allow_private_networks=True)


class Server:
    """Answers `/redirect?to=URL` with 302 to URL, `/loop` with 302 to itself, anything else 200 JSON."""

    def __init__(self, host: str) -> None:
        self.hits: list[tuple[str, str, dict[str, str]]] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                outer.hits.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
                if self.path.startswith("/redirect?to="):
                    self.send_response(302)
                    self.send_header("Location", self.path.split("=", 1)[1])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path == "/loop":
                    self.send_response(302)
                    self.send_header("Location", "/loop")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = b'{"ok": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _serve

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer((host, 0), H)
        self.url = f"http://{host}:{self.server.server_address[1]}"

    def __enter__(self) -> Server:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def servers() -> Iterator[tuple[Server, Server]]:
    with Server("127.0.0.1") as admitted, Server("127.0.0.2") as internal:
        yield admitted, internal


class _Services:
    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.http = http


def _ctx(settings: Settings, http: httpx.AsyncClient) -> NodeContext:
    return NodeContext(execution_id="e", node_id="n", attempt=1, idempotency_key="k", services=_Services(settings, http))


@pytest.mark.parametrize("url", [
    "http://100.64.1.2/",            # carrier-grade NAT
    "http://224.0.0.1/",             # multicast
    "http://[2002:7f00:1::]/",       # 6to4 form of 127.0.0.1
    "http://[::ffff:10.1.2.3]/",      # IPv4-mapped private
    "http://[64:ff9b::a00:1]/",      # NAT64 form of 10.0.0.1
    "http://[fe80::1]/",             # link-local
    "http://[fc00::1]/",             # unique local
    "http://198.18.0.1/",            # benchmarking range
    "http://240.0.0.1/",             # reserved
    "http://127.0.0.2/",             # loopback not in the allowlist
])
async def test_every_non_global_range_is_refused(url):
    with pytest.raises(UnsafeURLError):
        await check_outbound_url(url, STRICT)


@pytest.mark.parametrize("settings", [STRICT, OPEN], ids=["strict", "private-networks-allowed"])
async def test_unresolvable_host_is_refused_not_passed_through(settings):
    # `localhost.` does not resolve here; the old component guard let it through to the HTTP client
    with pytest.raises(UnresolvableHostError):
        await check_outbound_url("http://localhost.:18080/", settings)
    async with httpx.AsyncClient(trust_env=False) as http:
        with pytest.raises(ComponentError) as err:
            await HttpRequest().run({"url": "http://localhost.:18080/"}, _ctx(settings, http))
    assert err.value.type == "UnresolvableHost"


async def test_a_redirect_to_an_internal_address_is_refused_and_never_sent():
    with servers() as (admitted, internal):
        async with httpx.AsyncClient(trust_env=False) as http:
            with pytest.raises(ComponentError) as err:
                await HttpRequest().run({"url": f"{admitted.url}/redirect?to={internal.url}/secret"}, _ctx(STRICT, http))
            assert err.value.type == "ForbiddenAddress" and err.value.retryable is False
            with pytest.raises(UnsafeURLError):
                await guarded_send(http, "GET", f"{admitted.url}/redirect?to={internal.url}/x", STRICT,
                                   follow_redirects=True)
    assert [h[1] for h in admitted.hits] == [f"/redirect?to={internal.url}/secret", f"/redirect?to={internal.url}/x"]
    assert internal.hits == []  # the internal server never saw a request


async def test_admitted_redirects_are_followed_each_hop_checked_and_bounded():
    with servers() as (admitted, _internal):
        async with httpx.AsyncClient(trust_env=False) as http:
            out = await HttpRequest().run({"url": f"{admitted.url}/redirect?to=/final"}, _ctx(STRICT, http))
            assert out["status"] == 200 and out["body"] == {"ok": True}
            # follow_redirects false: the 302 itself is the answer (the component then reports its status)
            resp = await guarded_send(http, "GET", f"{admitted.url}/redirect?to=/final", STRICT)
            assert resp.status_code == 302
            with pytest.raises(UnsafeURLError, match="redirects"):
                await guarded_send(http, "GET", f"{admitted.url}/loop", STRICT, follow_redirects=True)
    assert [h[1] for h in admitted.hits[:2]] == ["/redirect?to=/final", "/final"]
    assert sum(1 for h in admitted.hits if h[1] == "/loop") == MAX_REDIRECTS + 1


async def test_the_request_goes_to_the_checked_address_with_the_name_as_host():
    """No DNS rebinding window: the name is resolved once, checked, and the connection uses that address."""
    settings = Settings(environment="test", http_allow_private_networks=False, outbound_allowlist=["localhost"])
    with Server("127.0.0.1") as admitted:
        port = admitted.server.server_address[1]
        checked = await check_outbound_url(f"http://localhost:{port}/p", settings)
        assert set(checked.addresses) <= {"127.0.0.1", "::1"}
        async with httpx.AsyncClient(trust_env=False) as http:
            resp = await guarded_send(http, "POST", f"http://localhost:{port}/p?x=1", settings, json={"a": 1})
    assert resp.status_code == 200
    assert admitted.hits[-1][1] == "/p?x=1" and admitted.hits[-1][2]["host"] == f"localhost:{port}"
