"""`sms.send`: one SMS through the Twilio REST API (or a Twilio-compatible one: `base_url` of the
`twilio` credential), `POST /2010-04-01/Accounts/{sid}/Messages.json` with HTTP basic auth.

Twilio errors (4xx with `code` and `message`, e.g. 21211 invalid number) are not retried; 429 and 5xx
are. The output is the created message's `sid` and `status` (usually `queued`).
"""

from __future__ import annotations

import base64
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

import httpx

from connectors.base import ComponentError, NodeContext
from connectors.common import credential_field, guarded_request, validate_config
from connectors.http import RETRYABLE_STATUS
from workflows.components import ComponentSpec

E164 = "^\\+[1-9][0-9]{6,14}$"


class SmsSend:
    spec: ClassVar[ComponentSpec] = ComponentSpec(
        "sms.send", "activity",
        "Sends an SMS through Twilio (or a Twilio-compatible API); outputs the message sid and status.",
        {
            "type": "object",
            "required": ["credential", "to", "body"],
            "properties": {
                "credential": credential_field("twilio"),
                "to": {"type": "string", "pattern": E164, "title": "To (E.164, e.g. +14155550100)"},
                "from": {"type": "string", "minLength": 1, "description": "sender number or id "
                                                                          "(default: the credential's `from`)"},
                "body": {"type": "string", "minLength": 1, "maxLength": 1600, "title": "Message"},
                "status_callback": {"type": "string", "pattern": "^https?://"},
                "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 120},
            },
            "additionalProperties": False,
        },
        category="communication", title="SMS", icon="smartphone",
        output_schema={"type": "object", "required": ["sid", "status"], "properties": {
            "sid": {"type": "string"}, "status": {"type": "string"}, "to": {"type": "string"},
            "segments": {"type": ["integer", "null"]}}},
        idempotent=False,
        docs="Not idempotent: a retry after a lost answer may send a second SMS (the API has no idempotency "
             "key). Numbers must be E.164.",
        example={"credential": "twilio", "to": "{{ input.phone }}", "body": "Your order {{ input.id }} shipped"},
    )

    async def run(self, config: dict[str, Any], ctx: NodeContext) -> Any:
        validate_config(self.spec, config)
        values = await ctx.credential(config["credential"], "twilio")
        sender = config.get("from") or values.get("from")
        if not sender:
            raise ComponentError("sms.send: config.from is required (the credential has no `from`)",
                                 retryable=False, type="ConfigError", details={"field": "config.from"})
        base = str(values.get("base_url") or "https://api.twilio.com").rstrip("/")
        sid = str(values["account_sid"])
        url = f"{base}/2010-04-01/Accounts/{quote(sid, safe='')}/Messages.json"
        form = {"To": config["to"], "From": sender, "Body": config["body"]}
        if config.get("status_callback"):
            form["StatusCallback"] = config["status_callback"]
        try:
            basic = base64.b64encode(f"{sid}:{values['auth_token']}".encode()).decode()
            ctx.secret_values.append(basic)
            resp = await guarded_request(ctx, "POST", url, content=urlencode(form).encode(),
                                         headers={"Authorization": f"Basic {basic}",
                                                  "Content-Type": "application/x-www-form-urlencoded"},
                                         timeout=float(config.get("timeout_seconds") or 15))
        except httpx.HTTPError as err:
            raise ComponentError(f"sms.send: {base} unreachable: {type(err).__name__}",
                                 type="SmsConnectionError") from None
        try:
            answer = resp.json()
        except ValueError:
            answer = {}
        if not 200 <= resp.status_code < 300:
            code = answer.get("code") if isinstance(answer, dict) else None
            message = answer.get("message") if isinstance(answer, dict) else None
            raise ComponentError(f"sms.send: {base} answered {resp.status_code}"
                                 + (f": {message} (code {code})" if message else ""),
                                 retryable=resp.status_code in RETRYABLE_STATUS, type="SmsSendError",
                                 details={"status": resp.status_code, "code": code})
        segments = answer.get("num_segments")
        return {"sid": str(answer.get("sid") or ""), "status": str(answer.get("status") or "queued"),
                "to": str(answer.get("to") or config["to"]),
                "segments": int(segments) if isinstance(segments, (int, str)) and str(segments).isdigit() else None}
