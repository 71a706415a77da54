"""API documentation pages (Swagger UI, ReDoc) served from packaged assets: they work with no internet.

The JavaScript and CSS come from the `fastapi-offline` wheel's static folder, served under
`/api/v1/docs/static/`; nothing is loaded from a CDN. The pages are public like the OpenAPI document
itself (they hold no data; calls made from them carry the caller's token).
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
STATIC_URL = "/api/v1/docs/static"
OPENAPI_URL = "/api/v1/openapi.json"

router = APIRouter(tags=["docs"], include_in_schema=False)


@router.get("/api/v1/docs", response_class=HTMLResponse)
async def swagger_ui(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=OPENAPI_URL, title="wfo API",
        swagger_js_url=f"{STATIC_URL}/swagger-ui-bundle.js", swagger_css_url=f"{STATIC_URL}/swagger-ui.css",
        swagger_favicon_url=f"{STATIC_URL}/favicon.png",
        oauth2_redirect_url="/api/v1/docs/oauth2-redirect",
        swagger_ui_parameters={"persistAuthorization": True},
    )


@router.get("/api/v1/docs/oauth2-redirect", response_class=HTMLResponse)
async def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/api/v1/redoc", response_class=HTMLResponse)
async def redoc() -> HTMLResponse:
    return get_redoc_html(openapi_url=OPENAPI_URL, title="wfo API",
                          redoc_js_url=f"{STATIC_URL}/redoc.standalone.js",
                          redoc_favicon_url=f"{STATIC_URL}/favicon.png", with_google_fonts=False)


def mount(app: FastAPI) -> None:
    app.include_router(router)
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="docs-static")
