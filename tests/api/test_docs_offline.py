"""The documentation pages load everything from the app itself: they work on a machine with no internet."""

from __future__ import annotations

import re

import pytest


@pytest.mark.parametrize("page", ["/api/v1/docs", "/api/v1/redoc"])
async def test_docs_pages_reference_only_packaged_assets(http, page):
    r = await http.get(page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "an asset is loaded from another host"
    assert "cdn" not in html.lower()
    assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assets += re.findall(r"""(?:url|spec-url)\s*[:=]\s*['"](/[^'"]+)['"]""", html)
    assert any(a.endswith(".js") for a in assets), assets
    for asset in set(assets):
        got = await http.get(asset)
        assert got.status_code == 200, (asset, got.status_code)
        assert len(got.content) > 100, asset
    assert "/api/v1/openapi.json" in html
    assert (await http.get("/api/v1/openapi.json")).json()["info"]["title"] == "wfo"
