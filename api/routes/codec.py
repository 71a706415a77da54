"""The codec endpoint (Temporal UI / CLI "remote codec" protocol) for encrypted payloads (wfo.codec).

`POST /api/v1/codec/decode` and `/encode` take and return `{"payloads": [{"metadata": {k: base64}, "data":
base64}]}`. Authenticated like every route (bearer token, API key) or, from the Temporal UI in a browser, by
the `wfo_token` cookie that login sets (HttpOnly, SameSite=Lax, scoped to this path, honoured only with an
`Origin` among the allowed ones). CORS: only the Temporal UI's origin (`temporal_ui_url`) and
`codec_cors_origins`.

Tenant check (decode): an encrypted payload names its workflow id (bound into the ciphertext); it is decoded
only if that execution (or the top-level execution of a child) belongs to the caller's tenant. Anything
else, including a payload without a workflow id, is refused with 403. Unencrypted payloads pass through.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from sqlmodel import col, select

from api.deps import CurrentPrincipal, SessionDep, SettingsDep, codec_origins
from api.schemas import COMMON_ERRORS
from wfo.codec import CodecKeyError, codec_for, is_encrypted, payload_workflow_id, payloads_from_json, payloads_to_json
from wfo.models import Execution
from wfo.settings import Settings

router = APIRouter(prefix="/api/v1/codec", tags=["codec"], responses=COMMON_ERRORS)

MAX_PAYLOADS = 1000


def _cors(settings: Settings, request: Request) -> dict[str, str]:
    origin = request.headers.get("origin")
    if not origin or origin not in codec_origins(settings):
        return {"Vary": "Origin"}
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true", "Vary": "Origin"}


def _preflight(settings: Settings, request: Request) -> Response:
    headers = _cors(settings, request)
    if "Access-Control-Allow-Origin" in headers:
        headers.update({"Access-Control-Allow-Methods": "POST, OPTIONS", "Access-Control-Max-Age": "600",
                        "Access-Control-Allow-Headers": "content-type, x-namespace, authorization, x-api-key"})
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers=headers)


@router.options("/decode", include_in_schema=False)
async def decode_preflight(request: Request, settings: SettingsDep) -> Response:
    return _preflight(settings, request)


@router.options("/encode", include_in_schema=False)
async def encode_preflight(request: Request, settings: SettingsDep) -> Response:
    return _preflight(settings, request)


def _codec(settings: Settings):
    codec = codec_for(settings.payload_codec_keys)
    if codec is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "payload encryption is not configured (PAYLOAD_CODEC_KEYS)")
    return codec


def _payloads(body: Any):
    items = body.get("payloads") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "body: `payloads` must be a list")
    if len(items) > MAX_PAYLOADS:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"body: at most {MAX_PAYLOADS} payloads")
    try:
        return payloads_from_json(items)
    except ValueError as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"body: {err}") from None


@router.post("/decode")
async def decode(request: Request, session: SessionDep, settings: SettingsDep, principal: CurrentPrincipal,
                 body: Any = Body(...)) -> JSONResponse:
    codec = _codec(settings)
    payloads = _payloads(body)
    roots = {}
    for i, p in enumerate(payloads):
        if not is_encrypted(p):
            continue
        wid = payload_workflow_id(p)
        if not wid:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"payloads[{i}]: no execution recorded; not decoded")
        roots[i] = wid.split("/", 1)[0]
    if roots:
        mine = set((await session.exec(select(Execution.id).where(
            col(Execution.id).in_(set(roots.values())), Execution.tenant_id == principal.tenant_id))).all())
        outside = [i for i, root in roots.items() if root not in mine]
        if outside:
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"payloads{outside[:10]}: not executions of your tenant; not decoded")
    try:
        decoded = await codec.decode(payloads)
    except CodecKeyError as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(err)) from None
    return JSONResponse({"payloads": payloads_to_json(decoded)}, headers=_cors(settings, request))


@router.post("/encode")
async def encode(request: Request, settings: SettingsDep, principal: CurrentPrincipal,
                 body: Any = Body(...)) -> JSONResponse:
    """Encrypt payloads (e.g. a signal's input typed in the Temporal UI); they carry no workflow id."""
    codec = _codec(settings)
    encoded = await codec.encode(_payloads(body))
    return JSONResponse({"payloads": payloads_to_json(encoded)}, headers=_cors(settings, request))
