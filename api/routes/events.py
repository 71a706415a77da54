"""``GET /api/v1/executions/{id}/events``: an execution's node and task events as Server-Sent Events.

Each event is ``id: <seq>`` / ``event: <type>`` / ``data: <json>``; reconnecting with
``Last-Event-ID`` resumes after that event. The stream ends after the ``execution.*`` event.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request, status
from fastapi.responses import StreamingResponse

from api.deps import CurrentPrincipal, SessionDep, get_temporal_client
from api.events.live import execution_events
from wfo.db import sql

router = APIRouter(tags=["executions"])


def _sse(event: dict | None) -> str:
    if event is None:
        return ": keep-alive\n\n"
    lines = []
    if isinstance(event.get("seq"), int):
        lines.append(f"id: {event['seq']}")
    lines.append(f"event: {event.get('type', 'message')}")
    lines.append("data: " + json.dumps(event, default=str, separators=(",", ":")))
    return "\n".join(lines) + "\n\n"


@router.get(
    "/api/v1/executions/{execution_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}},
)
async def stream_execution_events(
    execution_id: str,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
):
    found = (
        await sql(
            session,
            "SELECT 1 FROM executions WHERE id = :id AND tenant_id = :t",
            {"id": execution_id, "t": principal.tenant_id},
        )
    ).first()
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "execution not found")
    await session.close()  # don't hold a pooled connection for the life of the stream
    try:
        client = await get_temporal_client(request.app)
    except Exception as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "workflow engine unavailable", headers={"Retry-After": "5"}
        ) from exc
    last_seq = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0
    redis_url = request.app.state.settings.redis_url

    async def body():
        yield ": stream of execution events\n\n"
        async for event in execution_events(
            client, redis_url, execution_id, last_seq=last_seq, sessionmaker=request.app.state.sessionmaker
        ):
            if await request.is_disconnected():
                return
            yield _sse(event)

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
