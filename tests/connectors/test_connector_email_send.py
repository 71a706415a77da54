"""`email.send` against a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

from types import SimpleNamespace

import jsonschema
import pytest

from connectors.base import ComponentError, NodeContext
from connectors.email import EmailSend
from connectors.registry import default_registry
from tests.localpeers import SmtpSink, free_port
from wfo.settings import Settings


@pytest.fixture
def smtp():
    with SmtpSink() as sink:
        yield sink


def _ctx(port: int, key: str = "exec-1/mail/1", **extra) -> NodeContext:
    settings = Settings(environment="test", smtp_host="127.0.0.1", smtp_port=port, smtp_sender="flows@wfo.test",
                        **extra)
    return NodeContext(execution_id="exec-1", node_id="mail", attempt=1, idempotency_key=key,
                       services=SimpleNamespace(settings=settings))


async def send(config: dict, port: int, **kw) -> dict:
    jsonschema.validate(config, EmailSend.spec.config_schema)
    return await EmailSend().run(config, _ctx(port, **kw))


def test_registered():
    assert default_registry().get("email.send").kind == "activity"


async def test_sends_multipart_with_cc_bcc_reply_to(smtp: SmtpSink):
    out = await send({"to": ["Ann Lee <ann@example.com>", "bob@example.com"], "cc": "carol@example.com",
                      "bcc": ["dave@example.com"], "reply_to": "support@example.com", "from_name": "Acme Flows",
                      "subject": "Welcome, Ann", "text": "Hello Ann", "html": "<p>Hello <b>Ann</b></p>",
                      "headers": {"X-Campaign": "onboarding"}}, smtp.port)
    assert out["rejected"] == {}
    assert out["accepted"] == ["ann@example.com", "bob@example.com", "carol@example.com", "dave@example.com"]
    assert out["response"] == "Message accepted for delivery"
    [mail] = smtp.mails
    assert mail.mail_from == "flows@wfo.test"
    assert sorted(mail.rcpt_tos) == sorted(out["accepted"])
    msg = mail.message
    assert msg["From"] == "Acme Flows <flows@wfo.test>"
    assert msg["To"] == "Ann Lee <ann@example.com>, bob@example.com"
    assert msg["Cc"] == "carol@example.com" and msg["Bcc"] is None  # bcc only in the envelope
    assert msg["Reply-To"] == "support@example.com" and msg["Subject"] == "Welcome, Ann"
    assert msg["X-Campaign"] == "onboarding" and msg["Message-ID"] == out["message_id"]
    assert mail.body("plain").strip() == "Hello Ann"
    assert "<b>Ann</b>" in mail.body("html")


async def test_message_id_stable_across_retries(smtp: SmtpSink):
    cfg = {"to": "a@example.com", "subject": "s", "text": "t"}
    first = await send(cfg, smtp.port, key="exec-9/n/1")
    again = await send(cfg, smtp.port, key="exec-9/n/1")
    other = await send(cfg, smtp.port, key="exec-9/n/2")
    assert first["message_id"] == again["message_id"] != other["message_id"]
    assert first["message_id"].endswith("@wfo.test>")


async def test_html_only(smtp: SmtpSink):
    await send({"to": "a@example.com", "subject": "s", "html": "<h1>Report</h1>"}, smtp.port)
    assert smtp.mails[0].message.get_content_type() == "text/html"


async def test_partly_refused_is_reported_not_failed(smtp: SmtpSink):
    out = await send({"to": ["ok@example.com", "nobody@example.com"], "subject": "s", "text": "t"}, smtp.port)
    assert out["accepted"] == ["ok@example.com"]
    assert out["rejected"]["nobody@example.com"].startswith("550")
    assert smtp.mails[0].rcpt_tos == ["ok@example.com"]


async def test_all_refused_permanently_is_not_retried(smtp: SmtpSink):
    with pytest.raises(ComponentError) as exc:
        await send({"to": "nobody@example.com", "subject": "s", "text": "t"}, smtp.port)
    assert exc.value.retryable is False and exc.value.type == "EmailRecipientsRefused"
    assert "nobody@example.com: 550" in exc.value.message
    assert smtp.mails == []


async def test_temporarily_refused_is_retried(smtp: SmtpSink):
    with pytest.raises(ComponentError) as exc:
        await send({"to": "busy@example.com", "subject": "s", "text": "t"}, smtp.port)
    assert exc.value.retryable is True


@pytest.mark.parametrize("to", ["not-an-address", ["ok@example.com", "bad@@example.com"], "a@b.org\nBcc: x@y.org"])
async def test_malformed_recipients_not_retried(smtp: SmtpSink, to):
    with pytest.raises(ComponentError) as exc:
        await EmailSend().run({"to": to, "subject": "s", "text": "t"}, _ctx(smtp.port))
    assert exc.value.retryable is False and exc.value.type == "EmailInvalidRecipient"
    assert smtp.mails == []


async def test_header_injection_in_subject_refused(smtp: SmtpSink):
    with pytest.raises(ComponentError) as exc:
        await EmailSend().run({"to": "a@example.com", "subject": "hi\r\nBcc: evil@example.com", "text": "t"},
                              _ctx(smtp.port))
    assert exc.value.retryable is False and exc.value.type == "EmailInvalidMessage"
    assert smtp.mails == []


async def test_server_down_is_retryable_and_hides_password():
    with pytest.raises(ComponentError) as exc:
        await EmailSend().run({"to": "a@example.com", "subject": "s", "text": "t", "timeout_seconds": 2},
                              _ctx(free_port(), smtp_username="u", smtp_password="pa55word"))
    assert exc.value.retryable is True and exc.value.type == "EmailConnectionError"
    assert "pa55word" not in exc.value.message


def test_schema_requires_body_and_recipient():
    schema = EmailSend.spec.config_schema
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"to": "a@example.com", "subject": "s"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"subject": "s", "text": "t"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"to": "a@example.com", "subject": "s", "text": "t", "headers": {"Bcc": "x"}}, schema)
