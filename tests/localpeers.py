"""Local peers for connector/template tests on 127.0.0.1: an SMTP sink (aiosmtpd), a scriptable HTTP peer and
an HTTP sink answering from routes (the same server)."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Self
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage

    def body(self, subtype: str = "plain") -> str | None:
        part = self.message.get_body(preferencelist=(subtype,))
        return part.get_content() if part is not None else None


class _Handler:
    def __init__(self, sink: "SmtpSink"):
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local == "nobody":
            return "550 5.1.1 no such user"
        if local == "busy":
            return "450 4.2.1 mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.sink.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"


class SmtpSink:
    """aiosmtpd on 127.0.0.1:<free port>; `nobody@...` is refused (550), `busy@...` deferred (450)."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []
        self.port = free_port()
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> "SmtpSink":
        self.controller.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.controller.stop()


@dataclass
class Req:
    """One request an `HttpPeer` received: `path` without the query, `target` with it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    raw: bytes
    target: str = ""

    def json(self) -> Any:
        return json.loads(self.raw) if self.raw else None

    @property
    def body(self) -> Any:
        """The body as JSON, or as text when it is not JSON (None when empty)."""
        try:
            return self.json()
        except ValueError:
            return self.raw.decode(errors="replace")

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.raw.decode()).items()}


Handler = Callable[[Req], tuple[int, dict[str, str], Any]]


@dataclass
class HttpPeer:
    """A scriptable HTTP server on 127.0.0.1 that records every request: `handler(req) -> (status, headers,
    body)` (a bytes body is sent as it is, anything else as JSON)."""

    handler: Handler
    requests: list[Req] = field(default_factory=list)

    def __post_init__(self) -> None:
        peer = self

        class H(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                req = Req(self.command, parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()},
                          {k.lower(): v for k, v in self.headers.items()}, raw, self.path)
                peer.requests.append(req)
                status, headers, body = peer.handler(req)
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                headers = {"content-type": "application/json", **headers}
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def on(self, path: str) -> list[Req]:
        return [r for r in self.requests if r.path == path]

    def calls(self, method: str, path: str) -> list[Req]:
        return [r for r in self.requests if r.method == method and r.path == path]


Route = Callable[[Req], tuple[int, Any]]


class HttpSink(HttpPeer):
    """An `HttpPeer` that answers from `routes`: `routes[(METHOD, path)]` is `(status, json_body)` or a
    callable `(Req) -> (status, json_body)`; anything else answers 200 `{"ok": true}`."""

    def __init__(self, routes: dict[tuple[str, str], Any] | None = None) -> None:
        self.routes: dict[tuple[str, str], Any] = routes if routes is not None else {}
        super().__init__(self._route)

    def _route(self, req: Req) -> tuple[int, dict[str, str], Any]:
        route = self.routes.get((req.method, req.path), (200, {"ok": True}))
        status, payload = route(req) if callable(route) else route
        return status, {}, payload
