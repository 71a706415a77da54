"""`email.read`: fetch messages from an IMAP mailbox (aioimaplib) with an `imap` credential — by default
the unseen ones, marking them seen — and output them parsed (headers, text and HTML bodies, attachment
names and sizes).

Messages are fetched with BODY.PEEK (fetching marks nothing); only after every message was read are
they flagged \\Seen (`mark_seen`), so a failure before that leaves them unseen for the retry. A run that
fails after marking loses nothing: its output is the messages it marked. Unreachable servers are
retried; refused logins and unknown mailboxes are not.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from email.message import EmailMessage
from typing import Any, ClassVar

import aioimaplib

from connectors.base import ComponentError, NodeContext
from connectors.common import credential_field, validate_config
from workflows.components import ComponentSpec

_SEARCH_RE = re.compile(r"^[A-Za-z0-9 \"'@._:<>()\-+*]+$")  # IMAP search keys, no literal/CRLF injection
MAX_BODY_CHARS = 100_000


def _parse(uid: str, raw: bytes) -> dict[str, Any]:
    msg: EmailMessage = email.message_from_bytes(raw, policy=email.policy.default)
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    attachments = []
    for part in msg.iter_attachments():
        payload = part.get_payload(decode=True) or b""
        attachments.append({"filename": part.get_filename(), "content_type": part.get_content_type(),
                            "size": len(payload)})
    return {
        "uid": uid, "message_id": str(msg.get("Message-ID") or ""), "subject": str(msg.get("Subject") or ""),
        "from": str(msg.get("From") or ""), "to": str(msg.get("To") or ""), "cc": str(msg.get("Cc") or ""),
        "date": str(msg.get("Date") or ""),
        "text": text.get_content()[:MAX_BODY_CHARS] if text is not None else None,
        "html": html.get_content()[:MAX_BODY_CHARS] if html is not None else None,
        "attachments": attachments,
    }


def _ok(resp: Any, what: str, where: str, *, auth: bool = False) -> Any:
    if resp.result != "OK":
        detail = " ".join(line.decode(errors="replace") if isinstance(line, (bytes, bytearray)) else str(line)
                          for line in resp.lines[-1:])[:200]
        raise ComponentError(f"email.read: {what} on {where} refused: {detail}", retryable=False,
                             type="ImapAuthError" if auth else "ImapError")
    return resp


class EmailRead:
    spec: ClassVar[ComponentSpec] = ComponentSpec(
        "email.read", "activity",
        "Fetches messages from an IMAP mailbox (unseen by default) and marks them seen.",
        {
            "type": "object",
            "required": ["credential"],
            "properties": {
                "credential": credential_field("imap"),
                "mailbox": {"type": "string", "minLength": 1, "default": "INBOX"},
                "criteria": {"type": "string", "minLength": 1, "default": "UNSEEN",
                             "description": "IMAP SEARCH keys, e.g. UNSEEN FROM \"billing@example.com\""},
                "max_messages": {"type": "integer", "minimum": 1, "maximum": 500, "default": 20},
                "mark_seen": {"type": "boolean", "default": True},
                "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 300},
            },
            "additionalProperties": False,
        },
        category="communication", title="Read email (IMAP)", icon="inbox",
        output_schema={"type": "object", "required": ["messages"], "properties": {
            "count": {"type": "integer"}, "messages": {"type": "array", "items": {"type": "object", "properties": {
                "uid": {"type": "string"}, "message_id": {"type": "string"}, "subject": {"type": "string"},
                "from": {"type": "string"}, "to": {"type": "string"}, "date": {"type": "string"},
                "text": {"type": ["string", "null"]}, "html": {"type": ["string", "null"]},
                "attachments": {"type": "array"}}}}}},
        idempotent=False,
        docs="With `mark_seen` (default) each message is output by one run only: a later run searching UNSEEN "
             "does not see it again. Oldest messages first, at most `max_messages` per run.",
        example={"credential": "support-inbox", "criteria": "UNSEEN", "max_messages": 10},
    )

    async def run(self, config: dict[str, Any], ctx: NodeContext) -> Any:
        validate_config(self.spec, config)
        criteria = str(config.get("criteria") or "UNSEEN")
        if not _SEARCH_RE.match(criteria):
            raise ComponentError("email.read: config.criteria has characters IMAP search keys cannot have",
                                 retryable=False, type="ConfigError", details={"field": "config.criteria"})
        mailbox = str(config.get("mailbox") or "INBOX")
        if any(ch in mailbox for ch in '\r\n"'):
            raise ComponentError("email.read: config.mailbox is not a valid mailbox name", retryable=False,
                                 type="ConfigError", details={"field": "config.mailbox"})
        v = await ctx.credential(config["credential"], "imap")
        host, tls = str(v["host"]), v.get("tls", True)
        port = int(v.get("port") or (993 if tls else 143))
        where = f"{host}:{port}"
        timeout = float(config.get("timeout_seconds") or 30)
        imap = aioimaplib.IMAP4_SSL(host, port, timeout=timeout) if tls else aioimaplib.IMAP4(host, port,
                                                                                            timeout=timeout)
        try:
            async with asyncio.timeout(timeout * 3):
                await imap.wait_hello_from_server()
                _ok(await imap.login(v["username"], v["password"]), "login", where, auth=True)
                _ok(await imap.select(f'"{mailbox}"'), f"mailbox {mailbox!r}", where)
                found = _ok(await imap.uid_search(criteria), "search", where)
                uids = [u for u in (found.lines[0].decode().split() if found.lines else []) if u.isdigit()]
                uids = uids[: int(config.get("max_messages") or 20)]
                messages = []
                for uid in uids:
                    resp = _ok(await imap.uid("fetch", uid, "(BODY.PEEK[])"), "fetch", where)
                    raw = next((bytes(line) for line in resp.lines if isinstance(line, bytearray)), None)
                    if raw is not None:
                        messages.append(_parse(uid, raw))
                if config.get("mark_seen", True) and messages:
                    _ok(await imap.uid("store", ",".join(m["uid"] for m in messages), "+FLAGS", "(\\Seen)"),
                        "mark seen", where)
                await imap.logout()
        except ComponentError:
            raise
        except (OSError, TimeoutError, aioimaplib.Abort, aioimaplib.CommandTimeout) as err:
            raise ComponentError(f"email.read: cannot reach {where}: {type(err).__name__}", retryable=True,
                                 type="ImapConnectionError") from None
        finally:
            if imap.protocol is not None and imap.protocol.transport is not None:
                imap.protocol.transport.close()
        return {"count": len(messages), "messages": messages}
