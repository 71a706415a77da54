"""`email.send`: one email through the configured SMTP server (aiosmtplib, `settings.smtp_*`).

The sender address is always `settings.smtp_sender` (a definition may only set a display name with
`from_name`), so workflows cannot spoof arbitrary senders. The Message-ID is derived from the node's
idempotency key: a retried send carries the same Message-ID, which lets receiving systems drop duplicates.

Output: ``{"message_id", "accepted": [addresses], "rejected": {address: "550 ..."}, "response": "250 ..."}``;
a recipient refused while others were accepted is reported in `rejected` (the mail did go out).

Failures: malformed addresses, recipients or sender refused permanently (5xx), oversize/refused data (5xx),
failed authentication and header injection are not retried; connection problems, timeouts and
temporary (4xx) refusals are.
"""

from __future__ import annotations

import hashlib
import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formataddr, formatdate, getaddresses
from typing import Any, ClassVar

import aiosmtplib

from connectors.base import ComponentError, NodeContext
from workflows.components import ComponentSpec

MAX_RECIPIENTS = 100
DEFAULT_TIMEOUT_SECONDS = 30.0
_ADDR_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")

_ADDRESSES = {
    "oneOf": [
        {"type": "string", "minLength": 3},
        {"type": "array", "items": {"type": "string", "minLength": 3}, "maxItems": MAX_RECIPIENTS},
    ],
    "description": "an address, a comma separated list, or a list (\"Name <a@b.org>\" allowed)",
}


class EmailSend:
    spec: ClassVar[ComponentSpec] = ComponentSpec(
        "email.send", "activity",
        "Sends an email through the configured SMTP server; outputs {message_id, accepted, rejected}.",
        {
            "type": "object",
            "required": ["to", "subject"],
            "properties": {
                "to": _ADDRESSES,
                "cc": _ADDRESSES,
                "bcc": _ADDRESSES,
                "reply_to": _ADDRESSES,
                "subject": {"type": "string", "minLength": 1, "maxLength": 998},
                "text": {"type": "string"},
                "html": {"type": "string"},
                "from_name": {"type": "string", "maxLength": 200,
                              "description": "display name; the address is always the configured sender"},
                "headers": {"type": "object", "propertyNames": {"pattern": "^X-[A-Za-z0-9-]+$"},
                            "additionalProperties": {"type": "string"}},
                "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 600},
            },
            "anyOf": [{"required": ["text"]}, {"required": ["html"]}],
            "additionalProperties": False,
        },
        category="communication", title="Send email", icon="mail", idempotent=False,
        output_schema={"type": "object", "properties": {
            "message_id": {"type": "string"}, "accepted": {"type": "array", "items": {"type": "string"}},
            "rejected": {"type": "object", "additionalProperties": {"type": "string"}},
            "response": {"type": "string"}}, "additionalProperties": False},
        docs="Sends one message (text and/or HTML) through the worker's SMTP server, from the configured "
             "sender. The Message-ID is derived from the node activation, so a retried send is recognisable. "
             "Invalid addresses fail at once; connection problems are retried.",
        example={"to": "{{ input.customer.email }}", "subject": "Your order {{ input.id }}",
                 "text": "Thanks for your order."},
    )

    async def run(self, config: dict[str, Any], ctx: NodeContext) -> Any:
        settings = ctx.services.settings
        to = _addresses(config.get("to"), "to")
        cc = _addresses(config.get("cc"), "cc")
        bcc = _addresses(config.get("bcc"), "bcc")
        reply_to = _addresses(config.get("reply_to"), "reply_to")
        if not to:
            raise ComponentError("email.send needs at least one `to` address", retryable=False,
                                 type="EmailInvalidRecipient")
        recipients = list(dict.fromkeys(addr for _, addr in to + cc + bcc))
        if len(recipients) > MAX_RECIPIENTS:
            raise ComponentError(f"email.send: {len(recipients)} recipients, at most {MAX_RECIPIENTS}",
                                 retryable=False, type="EmailInvalidRecipient")
        subject = config.get("subject")
        if not isinstance(subject, str) or not subject.strip():
            raise ComponentError("email.send needs a `subject`", retryable=False, type="EmailInvalidMessage")
        text, html = config.get("text"), config.get("html")
        if text is None and html is None:
            raise ComponentError("email.send needs `text` or `html`", retryable=False, type="EmailInvalidMessage")

        sender = str(settings.smtp_sender)
        sender_domain = sender.rsplit("@", 1)[-1] or "localhost"
        message_id = f"<wfo.{hashlib.sha256(ctx.idempotency_key.encode()).hexdigest()[:32]}@{sender_domain}>"
        msg = EmailMessage()
        try:
            msg["From"] = formataddr((str(config["from_name"]), sender)) if config.get("from_name") else sender
            msg["To"] = ", ".join(formataddr(a) for a in to)
            if cc:
                msg["Cc"] = ", ".join(formataddr(a) for a in cc)
            if reply_to:
                msg["Reply-To"] = ", ".join(formataddr(a) for a in reply_to)
            msg["Subject"] = subject
            msg["Date"] = formatdate(localtime=False, usegmt=True)
            msg["Message-ID"] = message_id
            msg["X-Wfo-Execution-Id"] = ctx.execution_id
            for name, value in (config.get("headers") or {}).items():
                if not re.fullmatch(r"X-[A-Za-z0-9-]+", str(name)):
                    raise ValueError(f"header {name!r} is not an X- header")
                msg[str(name)] = str(value)
            if text is not None:
                msg.set_content(str(text))
                if html is not None:
                    msg.add_alternative(str(html), subtype="html")
            else:
                msg.set_content(str(html), subtype="html")
        except (ValueError, TypeError) as err:  # e.g. CR/LF in a header value (header injection)
            raise ComponentError(f"email.send: invalid message: {err}", retryable=False,
                                 type="EmailInvalidMessage") from None

        port = int(settings.smtp_port)
        use_tls = bool(getattr(settings, "smtp_use_tls", None) or port == 465)
        start_tls = getattr(settings, "smtp_starttls", None)
        timeout = float(config.get("timeout_seconds") or getattr(settings, "smtp_timeout", None)
                        or DEFAULT_TIMEOUT_SECONDS)
        where = f"{settings.smtp_host}:{port}"
        try:
            refused, response = await aiosmtplib.send(
                msg, sender=sender, recipients=recipients,
                hostname=settings.smtp_host, port=port,
                username=settings.smtp_username or None, password=settings.smtp_password or None,
                use_tls=use_tls, start_tls=None if use_tls else start_tls, timeout=timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as err:
            codes = [e.code for e in err.recipients]
            temporary = any(400 <= c < 500 for c in codes)
            raise ComponentError(
                "email.send: every recipient was refused: "
                + "; ".join(f"{e.recipient}: {e.code} {e.message}" for e in err.recipients),
                retryable=temporary, type="EmailRecipientsRefused",
                details={"refused": {e.recipient: f"{e.code} {e.message}" for e in err.recipients}},
            ) from None
        except aiosmtplib.SMTPAuthenticationError as err:
            raise ComponentError(f"email.send: SMTP authentication to {where} failed ({err.code})",
                                 retryable=False, type="EmailAuthError") from None
        except (aiosmtplib.SMTPSenderRefused, aiosmtplib.SMTPDataError) as err:
            temporary = 400 <= err.code < 500
            raise ComponentError(f"email.send: {where} refused the message: {err.code} {err.message}",
                                 retryable=temporary,
                                 type="EmailRefused" if not temporary else "EmailTemporaryFailure") from None
        except aiosmtplib.SMTPNotSupported as err:
            raise ComponentError(f"email.send: {where}: {err}", retryable=False, type="EmailNotSupported") from None
        except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError,
                OSError) as err:
            raise ComponentError(f"email.send: cannot reach SMTP server {where}: {type(err).__name__}",
                                 retryable=True, type="EmailConnectionError") from None
        except aiosmtplib.SMTPResponseException as err:
            temporary = 400 <= err.code < 500
            raise ComponentError(f"email.send: {where} answered {err.code} {err.message}",
                                 retryable=temporary, type="EmailSmtpError") from None
        except aiosmtplib.SMTPException as err:
            raise ComponentError(f"email.send: {where}: {type(err).__name__}: {err}", retryable=True,
                                 type="EmailSmtpError") from None

        rejected = {addr: f"{r.code} {r.message}" for addr, r in (refused or {}).items()}
        return {
            "message_id": message_id,
            "accepted": [r for r in recipients if r not in rejected],
            "rejected": rejected,
            "response": response,
        }


def _addresses(value: Any, field: str) -> list[tuple[str, str]]:
    """Parse `value` (str, comma separated str or list of str) into (name, address) pairs; reject bad ones."""
    if value is None or value == "" or value == []:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        raise ComponentError(f"email.send: `{field}` must be an address or a list of addresses",
                             retryable=False, type="EmailInvalidRecipient")
    bad: list[str] = []
    out: list[tuple[str, str]] = []
    for raw in items:
        if "\n" in raw or "\r" in raw:
            bad.append(raw.replace("\r", "\\r").replace("\n", "\\n"))
            continue
        parsed = getaddresses([raw])
        if not parsed or any(not _ADDR_RE.match(addr or "") for _, addr in parsed):
            bad.append(raw)
            continue
        for name, addr in parsed:
            try:
                Address(display_name=name, addr_spec=addr)
            except (ValueError, IndexError):
                bad.append(raw)
                break
            out.append((name, addr))
    if bad:
        raise ComponentError(f"email.send: invalid `{field}` address(es): {', '.join(repr(b) for b in bad)}",
                             retryable=False, type="EmailInvalidRecipient", details={"field": field, "invalid": bad})
    return out
