"""`email.read` against a real Dovecot IMAP server on loopback; messages appended and flags read with imaplib."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from connectors.base import ComponentError
from connectors.email_read import EmailRead
from connectors.registry import default_registry
from tests.connectors.conftest import FAST_RETRY
from tests.connectors.imappeer import Dovecot
from tests.helpers import defn, node
from workflows.validation import validate_definition

C = EmailRead()
PASSWORD = "imap-pw-1"

@pytest.fixture(scope="module")
def dovecot():
    with Dovecot("ann", PASSWORD) as server:
        yield server


def _mail(subject: str, attach: bool = False) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Bob <bob@example.com>", "ann@example.com", subject
    msg["Message-ID"] = f"<{subject.replace(' ', '-')}@example.com>"
    msg.set_content(f"text of {subject}")
    msg.add_alternative(f"<p>html of {subject}</p>", subtype="html")
    if attach:
        msg.add_attachment(b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="invoice.pdf")
    return msg.as_bytes()


def _seen(dovecot: Dovecot) -> dict[str, bool]:
    m = dovecot.client()
    m.select("INBOX")
    typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    m.logout()
    out = {}
    for item in data:
        if isinstance(item, tuple):
            subject = item[1].decode().split(":", 1)[1].strip()
            out[subject] = b"\\Seen" in item[0]
    return out


async def test_fetch_unseen_and_mark_seen(vault, dovecot):
    m = dovecot.client()
    m.append("INBOX", None, None, _mail("first", attach=True))
    m.append("INBOX", "\\Seen", None, _mail("already read"))
    m.append("INBOX", None, None, _mail("second"))
    m.logout()
    cred = await vault.add("inbox", "imap", {"host": "127.0.0.1", "port": dovecot.port, "username": "ann",
                                             "password": PASSWORD, "tls": False})
    out = await C.run({"credential": cred}, vault.ctx())
    assert [msg["subject"] for msg in out["messages"]] == ["first", "second"] and out["count"] == 2
    first = out["messages"][0]
    assert first["from"] == "Bob <bob@example.com>" and first["message_id"] == "<first@example.com>"
    assert first["text"].strip() == "text of first" and "html of first" in first["html"]
    assert first["attachments"] == [{"filename": "invoice.pdf", "content_type": "application/pdf", "size": 13}]
    assert _seen(dovecot) == {"first": True, "already read": True, "second": True}
    again = await C.run({"credential": cred}, vault.ctx())
    assert again["count"] == 0

    m = dovecot.client()
    m.append("INBOX", None, None, _mail("third"))
    m.logout()
    peek = await C.run({"credential": cred, "mark_seen": False, "criteria": 'UNSEEN SUBJECT "third"'}, vault.ctx())
    assert [msg["subject"] for msg in peek["messages"]] == ["third"] and _seen(dovecot)["third"] is False


async def test_wrong_password_and_bad_mailbox_not_retried(vault, dovecot):
    bad = await vault.add("inbox-bad", "imap", {"host": "127.0.0.1", "port": dovecot.port, "username": "ann",
                                                "password": "wrong-imap-pw", "tls": False})
    with pytest.raises(ComponentError) as exc:
        await C.run({"credential": bad}, vault.ctx())
    assert exc.value.type == "ImapAuthError" and not exc.value.retryable and "wrong-imap-pw" not in exc.value.message
    good = await vault.add("inbox-2", "imap", {"host": "127.0.0.1", "port": dovecot.port, "username": "ann",
                                               "password": PASSWORD, "tls": False})
    with pytest.raises(ComponentError) as exc:
        await C.run({"credential": good, "mailbox": "Nope"}, vault.ctx())
    assert exc.value.type == "ImapError" and not exc.value.retryable
    with pytest.raises(ComponentError) as exc:
        await C.run({"credential": good, "criteria": "ALL\r\nA1 DELETE INBOX"}, vault.ctx())
    assert exc.value.type == "ConfigError"


def test_bad_config_names_the_field():
    d = defn([node("start", "start"), node("e", "email.read", credential="c", max_messages=0), node("end", "end")],
             ["start->e", "e->end"])
    assert [(p.node_id, p.field) for p in validate_definition(d, default_registry())] == [("e", "config.max_messages")]


async def test_peer_down_retryable_then_error_port(vault, run_node):
    cred = await vault.add("inbox-down", "imap", {"host": "127.0.0.1", "port": 1, "username": "ann",
                                                  "password": PASSWORD, "tls": False})
    cfg = {"credential": cred, "timeout_seconds": 2}
    with pytest.raises(ComponentError) as exc:
        await C.run(cfg, vault.ctx())
    assert exc.value.retryable and exc.value.type == "ImapConnectionError"
    flow = await run_node("email.read", cfg, retry=FAST_RETRY)
    assert flow.result["error"]["type"] == "ImapConnectionError" and flow.result["error"]["attempts"] == 2
