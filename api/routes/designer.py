"""Serves the web app (``designer/dist``, built by ``npm run build``) at ``/workflow_orchestration/``.

- ``/`` redirects (307) to the app;
- a path naming a built file serves it; files under ``assets/`` have content hashes in their
  names and are cached for a year (immutable); everything else (``index.html`` and the deep links
  it answers, e.g. ``/workflow_orchestration/workflows/<id>``) is ``no-cache`` so a new build is
  picked up at once;
- an unknown path without a file extension is a client-side route: ``index.html`` (history fallback);
  an unknown file (``.js``, ``.png``...) is a plain 404;
- when the app has not been built, every app path answers a small HTML page saying how to build it.

Paths are resolved inside the dist folder only (no ``..`` escapes). ``WFO_DESIGNER_DIST`` overrides
the folder (tests, containers).
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

BASE = "/workflow_orchestration"
ROOT = Path(__file__).resolve().parents[2]

router = APIRouter(include_in_schema=False)

_NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>wfo: web app not built</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:4rem auto;padding:0 1rem;color:#1f2937}
code,pre{background:#f3f4f6;border-radius:4px;padding:.1rem .3rem}pre{padding:.75rem}</style></head><body>
<h1>The web app is not built yet</h1>
<p>The API is running (see <a href="/api/v1/docs">/api/v1/docs</a>), but the designer's files were not found in
<code>{dist}</code>.</p>
<p>Build it with Node.js 20 or newer:</p>
<pre>cd designer &amp;&amp; npm ci &amp;&amp; npm run build</pre>
<p>or simply run <code>make dev</code>, which does that once and then serves it here.</p>
</body></html>"""

IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"


def dist_dir() -> Path:
    return Path(os.environ.get("WFO_DESIGNER_DIST") or ROOT / "designer" / "dist")


def _inside(base: Path, rel: str) -> Path | None:
    try:
        target = (base / rel).resolve()
        target.relative_to(base.resolve())
    except (ValueError, OSError):
        return None
    return target


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse(f"{BASE}/", status_code=307)


@router.get(BASE)
async def app_without_slash() -> RedirectResponse:
    return RedirectResponse(f"{BASE}/", status_code=307)


@router.get(BASE + "/{path:path}")
async def app_file(path: str) -> Response:
    dist = dist_dir()
    index = dist / "index.html"
    if not index.is_file():
        return HTMLResponse(_NOT_BUILT.replace("{dist}", str(dist)), status_code=503, headers={"Cache-Control": NO_CACHE})
    if path:
        target = _inside(dist, path)
        if target is not None and target.is_file():
            cache = IMMUTABLE if path.startswith("assets/") else NO_CACHE
            return FileResponse(target, headers={"Cache-Control": cache})
        if "." in path.rsplit("/", 1)[-1]:
            return Response("not found", status_code=404, media_type="text/plain")
    return FileResponse(index, media_type="text/html", headers={"Cache-Control": NO_CACHE})
