"""`rss.read` against a local HTTP peer serving RSS and Atom documents."""

from __future__ import annotations

import pytest

from connectors.base import ComponentError
from connectors.registry import default_registry
from connectors.rss_read import RssRead
from tests.connectors.conftest import FAST_RETRY
from tests.helpers import defn, node
from tests.localpeers import HttpPeer, Req
from workflows.validation import validate_definition

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Shop news</title><link>http://shop/</link>
<item><title>Old</title><link>http://shop/1</link><guid>n1</guid><pubDate>Mon, 01 Jan 2024 10:00:00 GMT</pubDate>
<description>first</description></item>
<item><title>New</title><link>http://shop/2</link><guid>n2</guid><pubDate>Tue, 02 Jan 2024 10:00:00 GMT</pubDate>
<description>second</description><author>ann@shop</author></item>
</channel></rss>"""
ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Dev log</title>
<entry><title>Release 2</title><id>urn:r2</id><link href="http://dev/r2"/><updated>2024-03-01T00:00:00Z</updated>
<summary>two</summary></entry></feed>"""


def serve(req: Req):
    docs = {"/rss": RSS, "/atom": ATOM, "/html": b"<html><body>hello</body></html>"}
    if req.path in docs:
        return 200, {"content-type": "application/xml"}, docs[req.path]
    return 404, {}, {"error": "no"}


@pytest.fixture
def peer():
    with HttpPeer(serve) as p:
        yield p


async def test_rss_and_atom(vault, peer):
    out = await RssRead().run({"url": peer.url + "/rss"}, vault.ctx())
    assert out["title"] == "Shop news" and out["count"] == 2
    assert [i["id"] for i in out["items"]] == ["n2", "n1"]  # newest first
    assert out["items"][0] == {"id": "n2", "title": "New", "link": "http://shop/2",
                               "published": "2024-01-02T10:00:00+00:00", "summary": "second", "author": "ann@shop"}
    since = await RssRead().run({"url": peer.url + "/rss", "since": "2024-01-01T12:00:00Z"}, vault.ctx())
    assert [i["id"] for i in since["items"]] == ["n2"]
    atom = await RssRead().run({"url": peer.url + "/atom"}, vault.ctx())
    assert atom["items"][0]["link"] == "http://dev/r2" and atom["items"][0]["published"].startswith("2024-03-01")


async def test_not_a_feed_and_404_not_retried(vault, peer):
    for path, kind in (("/html", "RssParseError"), ("/missing", "RssHttpError")):
        with pytest.raises(ComponentError) as exc:
            await RssRead().run({"url": peer.url + path}, vault.ctx())
        assert exc.value.type == kind and not exc.value.retryable


def test_bad_config_names_the_field():
    d = defn([node("start", "start"), node("r", "rss.read", url="ftp://x/feed"), node("end", "end")],
             ["start->r", "r->end"])
    assert [(p.node_id, p.field) for p in validate_definition(d, default_registry())] == [("r", "config.url")]


async def test_peer_down_retryable_then_error_port(vault, run_node):
    with pytest.raises(ComponentError) as exc:
        await RssRead().run({"url": "http://127.0.0.1:1/feed"}, vault.ctx())
    assert exc.value.retryable
    flow = await run_node("rss.read", {"url": "http://127.0.0.1:1/feed"}, retry=FAST_RETRY)
    assert flow.result["error"]["type"] == "RssConnectionError" and flow.result["error"]["attempts"] == 2
