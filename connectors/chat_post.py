"""`chat.post`: a message to a Slack, Microsoft Teams or Discord incoming webhook (the webhook URL is a
`slack_webhook` / `teams_webhook` / `discord_webhook` credential: it is the secret).

One message model (`text`, optional `title` and `fields`) is rendered in each platform's format: Slack
`text` + Block Kit blocks, Teams MessageCard (title, text, facts), Discord `content` + one embed.
`raw` sends a platform-specific body as is. 429 and 5xx answers are retried, other errors are not.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from connectors.base import ComponentError, NodeContext
from connectors.common import credential_field, guarded_request, validate_config
from connectors.http import RETRYABLE_STATUS
from workflows.components import ComponentSpec

PLATFORMS = ("slack", "teams", "discord")


def render(platform: str, config: dict[str, Any]) -> dict[str, Any]:
    """The webhook body for `platform` from the common message fields."""
    if config.get("raw") is not None:
        return dict(config["raw"])
    text, title = str(config.get("text") or ""), config.get("title")
    fields = [(str(k), str(v)) for k, v in (config.get("fields") or {}).items()]
    if platform == "slack":
        body: dict[str, Any] = {"text": f"*{title}*\n{text}" if title else text}
        blocks: list[dict[str, Any]] = []
        if title:
            blocks.append({"type": "header", "text": {"type": "plain_text", "text": str(title)[:150]}})
        if text:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
        if fields:
            blocks.append({"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{v}"}
                                                         for k, v in fields[:10]]})
        body["blocks"] = blocks
        if config.get("username"):
            body["username"] = config["username"]
        return body
    if platform == "teams":
        card: dict[str, Any] = {"@type": "MessageCard", "@context": "https://schema.org/extensions",
                                "summary": str(title or text)[:80] or "message", "text": text}
        if title:
            card["title"] = str(title)
        if fields:
            card["sections"] = [{"facts": [{"name": k, "value": v} for k, v in fields]}]
        return card
    body = {"content": text[:2000]}
    if config.get("username"):
        body["username"] = config["username"]
    if title or fields:
        embed: dict[str, Any] = {}
        if title:
            embed["title"] = str(title)[:256]
        if fields:
            embed["fields"] = [{"name": k[:256], "value": v[:1024], "inline": True} for k, v in fields[:25]]
        body["embeds"] = [embed]
    return body


class ChatPost:
    spec: ClassVar[ComponentSpec] = ComponentSpec(
        "chat.post", "activity",
        "Posts a message to a Slack, Microsoft Teams or Discord channel through its incoming webhook.",
        {
            "type": "object",
            "required": ["platform", "credential"],
            "properties": {
                "platform": {"enum": list(PLATFORMS), "title": "Platform"},
                "credential": credential_field("slack_webhook", "teams_webhook", "discord_webhook"),
                "text": {"type": "string", "title": "Text (Markdown)"},
                "title": {"type": "string"},
                "fields": {"type": "object", "title": "Fields (name: value)",
                           "additionalProperties": {"type": ["string", "number", "boolean"]}},
                "username": {"type": "string", "description": "Slack/Discord: display name override"},
                "raw": {"type": "object", "description": "send this platform-specific body instead"},
                "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 120},
            },
            "anyOf": [{"required": ["text"]}, {"required": ["title"]}, {"required": ["raw"]}],
            "additionalProperties": False,
        },
        category="communication", title="Chat message", icon="message-square",
        output_schema={"type": "object", "required": ["delivered"], "properties": {
            "delivered": {"type": "boolean"}, "platform": {"type": "string"}, "status": {"type": "integer"}}},
        idempotent=False,
        docs="Incoming webhooks do not deduplicate: a retry after a lost answer can post twice. The webhook URL "
             "lives in the credential (it authorizes posting) and never appears in the definition or history.",
        example={"platform": "slack", "credential": "ops-channel", "title": "Order {{ input.id }} failed",
                 "text": "{{ nodes.charge.error.message }}", "fields": {"customer": "{{ input.customer }}"}},
    )

    async def run(self, config: dict[str, Any], ctx: NodeContext) -> Any:
        validate_config(self.spec, config)
        platform = config["platform"]
        values = await ctx.credential(config["credential"], f"{platform}_webhook")
        url = str(values["url"])
        timeout = float(config.get("timeout_seconds") or 15)
        try:
            resp = await guarded_request(ctx, "POST", url, json=render(platform, config), timeout=timeout)
        except httpx.HTTPError as err:
            raise ComponentError(f"chat.post ({platform}): webhook unreachable: {type(err).__name__}",
                                 type="ChatConnectionError") from None
        if not 200 <= resp.status_code < 300:
            retryable = resp.status_code in RETRYABLE_STATUS
            raise ComponentError(f"chat.post ({platform}): webhook answered {resp.status_code}: {resp.text[:200]}",
                                 retryable=retryable, type="ChatPostError", details={"status": resp.status_code})
        return {"delivered": True, "platform": platform, "status": resp.status_code}
