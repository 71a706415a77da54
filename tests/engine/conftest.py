"""Engine test peers: a local HTTP sink that counts side effects per Idempotency-Key."""

from __future__ import annotations

import json
import threading
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest


class Sink:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.applied: Counter[str] = Counter()
        """Idempotency-Key -> times the side effect was applied (deduplicated like a real API would)."""
        self.received: Counter[str] = Counter()
        """Idempotency-Key -> requests received (including retries)."""
        self.requests: list[dict] = []
        self.fail_counts: dict[str, int] = defaultdict(int)
        self.url = ""


class _Handler(BaseHTTPRequestHandler):
    sink: Sink

    def log_message(self, *args):  # quiet
        pass

    def _reply(self, status: int, body, ctype: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        sink = self.sink
        parts = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        key = self.headers.get("Idempotency-Key", "")
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        with sink.lock:
            sink.requests.append({"method": self.command, "path": parts.path, "query": q, "key": key,
                                  "body": body, "headers": dict(self.headers)})
            sink.received[key] += 1
        if parts.path == "/flaky":
            tag = q.get("tag", key)
            with sink.lock:
                sink.fail_counts[tag] += 1
                n = sink.fail_counts[tag]
            if n <= int(q.get("fail", "1")):
                return self._reply(int(q.get("status", "503")), {"error": "try again", "call": n})
            return self._reply(200, {"ok": True, "calls": n})
        if parts.path.startswith("/status/"):
            return self._reply(int(parts.path.rsplit("/", 1)[1]), {"status": "as requested"})
        if parts.path == "/big":
            size = int(q.get("size", "1000000"))
            return self._reply(200, {"items": [{"i": i, "pad": "x" * 90} for i in range(size // 100)]})
        if parts.path == "/slow":
            import time

            time.sleep(float(q.get("s", "1")))
        with sink.lock:
            first = sink.applied[key] == 0 if key else True
            if key:
                sink.applied[key] += 1
        return self._reply(200, {"method": self.command, "path": parts.path, "query": q, "body": body,
                                 "first": first})

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle


@pytest.fixture
def http_sink():
    sink = Sink()
    handler = type("H", (_Handler,), {"sink": sink})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    sink.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
