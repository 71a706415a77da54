"""Audit middleware: one `audit_log` row (wfo.audit) per state-changing request, after its answer is known.

Recorded: every POST/PUT/PATCH/DELETE (REST v1/v2, inbound webhooks, GraphQL mutations), successful or
refused, and every login attempt (`auth.login`, with the email tried, success or failure). Not recorded:
reads, preflights, the codec endpoint (it changes nothing). Per row: the actor (user email or
`api-key:<prefix>`, or the email tried for a login), tenant, action (`METHOD route template`), resource type
and id (from the route), status, client address, and the sha256 of the request body (never for logins: a
hash of a password form is a brute-force oracle), and the resource's state hashes before and after the
change where the service reported them (`wfo.audit.audit_state`, collected in the request's audit scope;
the resource is then the one the service named, e.g. the id a create made).

Appends are group-committed (`wfo.audit.Appender`, one per app, closed by the app's lifespan): the row is
committed before the request's task finishes. An append that fails is logged at ERROR (the answer has gone
out already; the request is not undone).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from api.deps import route_template
from wfo.audit import Appender, Entry, Scope, body_hash, open_scope

log = logging.getLogger("wfo.api.audit")

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SKIP_PREFIXES = ("/api/v1/codec/",)
LOGIN_PATH = "/api/v1/auth/token"
GRAPHQL_PATH = "/api/beta/graphql"
MAX_CAPTURE = 1024 * 1024


def _resource(template: str | None, path_params: dict[str, Any]) -> tuple[str | None, str | None]:
    if not template:
        return None, None
    parts = [p for p in template.split("/") if p and p not in ("api", "v1", "v2", "beta")]
    rtype = parts[0] if parts else None
    rid = next((str(v) for v in path_params.values()), None) if path_params else None
    return rtype, rid


class AuditMiddleware:
    def __init__(self, app: Callable, appender_of: Callable[[], Appender]):
        self.app = app
        self.appender_of = appender_of

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] not in MUTATING or scope["path"].startswith(SKIP_PREFIXES):
            await self.app(scope, receive, send)
            return
        body = bytearray()
        status_holder = {"status": 500}

        async def capture_receive():
            message = await receive()
            if message["type"] == "http.request" and len(body) < MAX_CAPTURE:
                body.extend(message.get("body", b"")[: MAX_CAPTURE - len(body)])
            return message

        async def capture_send(message):
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
            await send(message)

        with open_scope() as changes:
            try:
                await self.app(scope, capture_receive, capture_send)
            finally:
                await self._record(scope, bytes(body), status_holder["status"], changes)

    async def _record(self, scope, body: bytes, status: int, changes: Scope) -> None:
        path = scope["path"]
        if path == GRAPHQL_PATH and b"mutation" not in body:
            return  # a query sent with POST changes nothing
        principal = (scope.get("state") or {}).get("principal")
        client = scope.get("client")
        template = route_template(scope)
        rtype, rid = _resource(template, scope.get("path_params") or {})
        entry = Entry(at=datetime.now(UTC), action=f"{scope['method']} {template or path}", status=status,
                      tenant_id=getattr(principal, "tenant_id", None), actor=getattr(principal, "name", None),
                      actor_kind=getattr(principal, "kind", None), resource_type=rtype, resource_id=rid,
                      client=client[0] if client else None, body_hash=body_hash(body) if body else None)
        if status < 400:  # a refusal changed nothing, whatever the service saw before refusing
            entry.before_hash, entry.after_hash = changes.hashes
        if len(changes.resources) == 1 and changes.resource_id is not None:
            # the row names the resource whose state it hashes (a create has no id in its route; a trigger's
            # route starts with its workflow's id; a retry names the execution it started)
            entry.resource_type = changes.resource_type or entry.resource_type
            entry.resource_id = changes.resource_id
        if path == LOGIN_PATH:
            tried = parse_qs(body.decode("utf-8", "replace")).get("username", [""])[0].strip().lower()[:320]
            entry.action, entry.actor, entry.actor_kind, entry.body_hash = "auth.login", tried or None, "login", None
            entry.resource_type, entry.resource_id = "users", None
        elif path.startswith("/api/v1/hooks/"):
            entry.actor_kind = entry.actor_kind or "webhook"
        try:
            await self.appender_of().submit(entry)
        except Exception as exc:  # noqa: BLE001 - never undo an answered request; say so loudly
            log.error("audit append failed for %s: %s", entry.action, type(exc).__name__)
