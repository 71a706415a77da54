"""`rss.read`: fetch an RSS or Atom feed and output its entries (feedparser), newest first.

The feed is fetched by the worker's HTTP client through the SSRF guard (never by feedparser itself);
`since` keeps only entries published after an ISO timestamp (e.g. the last run's), `max_items` bounds the
output. Unreachable feeds and 5xx are retried; 4xx and documents that are not feeds are not.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any, ClassVar

import feedparser
import httpx

from connectors.base import ComponentError, NodeContext
from connectors.common import guarded_request, validate_config
from connectors.http import RETRYABLE_STATUS
from workflows.components import ComponentSpec

MAX_FEED_BYTES = 10 * 1024 * 1024


def _when(entry: Any) -> str | None:
    for key in ("published_parsed", "updated_parsed"):
        parsed = entry.get(key)
        if parsed:
            return dt.datetime.fromtimestamp(calendar.timegm(parsed), dt.UTC).isoformat()
    return None


class RssRead:
    spec: ClassVar[ComponentSpec] = ComponentSpec(
        "rss.read", "activity",
        "Reads an RSS/Atom feed; outputs its entries (newest first).",
        {
            "type": "object",
            "required": ["url"],
            "properties": {
                "url": {"type": "string", "pattern": "^https?://", "title": "Feed URL"},
                "since": {"type": "string", "format": "date-time",
                          "description": "only entries published after this ISO timestamp"},
                "max_items": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50},
                "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 120},
            },
            "additionalProperties": False,
        },
        category="integration", title="RSS / Atom feed", icon="rss",
        output_schema={"type": "object", "required": ["items"], "properties": {
            "title": {"type": ["string", "null"]}, "link": {"type": ["string", "null"]},
            "count": {"type": "integer"},
            "items": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "string"}, "title": {"type": "string"}, "link": {"type": "string"},
                "published": {"type": ["string", "null"]}, "summary": {"type": "string"},
                "author": {"type": ["string", "null"]}}}}}},
        idempotent=True,
        docs="Reading a feed has no side effect. Pair `since` with a schedule trigger and "
             "`{{ vars.last_seen }}` to process only new entries.",
        example={"url": "https://blog.example.com/feed.xml", "max_items": 20},
    )

    async def run(self, config: dict[str, Any], ctx: NodeContext) -> Any:
        validate_config(self.spec, config)
        url = str(config["url"])
        since = None
        if config.get("since"):
            try:
                since = dt.datetime.fromisoformat(str(config["since"]).replace("Z", "+00:00"))
            except ValueError:
                raise ComponentError("rss.read: config.since is not an ISO timestamp", retryable=False,
                                     type="ConfigError", details={"field": "config.since"}) from None
            if since.tzinfo is None:
                since = since.replace(tzinfo=dt.UTC)
        try:
            resp = await guarded_request(ctx, "GET", url, timeout=float(config.get("timeout_seconds") or 20),
                                         follow_redirects=True,
                                         headers={"Accept": "application/rss+xml, application/atom+xml, */*"})
        except httpx.HTTPError as err:
            raise ComponentError(f"rss.read: {url} unreachable: {type(err).__name__}", type="RssConnectionError") \
                from None
        if resp.status_code != 200:
            raise ComponentError(f"rss.read: {url} answered {resp.status_code}",
                                 retryable=resp.status_code in RETRYABLE_STATUS, type="RssHttpError")
        if len(resp.content) > MAX_FEED_BYTES:
            raise ComponentError(f"rss.read: the feed is over {MAX_FEED_BYTES} bytes", retryable=False,
                                 type="RssTooLarge")
        feed = feedparser.parse(resp.content)
        if not feed.get("version") and not feed.entries:
            raise ComponentError(f"rss.read: {url} is not an RSS or Atom feed", retryable=False, type="RssParseError")
        items = []
        for entry in feed.entries:
            published = _when(entry)
            if since and (published is None or dt.datetime.fromisoformat(published) <= since):
                continue
            items.append({"id": str(entry.get("id") or entry.get("link") or entry.get("title") or ""),
                          "title": str(entry.get("title") or ""), "link": str(entry.get("link") or ""),
                          "published": published, "summary": str(entry.get("summary") or "")[:5000],
                          "author": entry.get("author")})
        items.sort(key=lambda i: i["published"] or "", reverse=True)
        items = items[: int(config.get("max_items") or 50)]
        return {"title": feed.feed.get("title"), "link": feed.feed.get("link"), "count": len(items), "items": items}
