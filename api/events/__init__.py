"""Events seen from the API: publishing with the app's clients, the event bridge, live progress (SSE).

Event emission itself (``emit_event``) is layer-1 infrastructure in ``wfo.events``.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from api.deps import get_temporal_client
from wfo.events import emit_event

log = logging.getLogger(__name__)

__all__ = ["emit_event", "emit_event_from_app"]


async def emit_event_from_app(
    app: Any, event_type: str, data: dict[str, Any], *, tenant_id: str | uuid.UUID, event_id: str | None = None
) -> list[str]:
    """For API routes: emit with the app's Temporal client, session factory and task queue.

    Best effort: a failure is logged and swallowed, so publishing an event never fails the
    request that caused it. Pass a stable ``event_id`` and call again to retry.
    """
    try:
        client = await get_temporal_client(app)
        return await emit_event(
            event_type,
            data,
            tenant_id=tenant_id,
            client=client,
            sessionmaker=app.state.sessionmaker,
            task_queue=app.state.settings.temporal_task_queue,
            event_id=event_id,
        )
    except Exception as exc:  # noqa: BLE001
        log.warning("emitting %s failed: %s", event_type, type(exc).__name__)
        return []
