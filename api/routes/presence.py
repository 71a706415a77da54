"""REST v1: designer presence, who else has a workflow open (heartbeat every 10 s, gone after 30 s)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict
from redis.exceptions import RedisError

from api.deps import CurrentPrincipal, SessionDep
from api.schemas import COMMON_ERRORS
from api.services import presence as svc
from api.services import workflows as wf_svc

router = APIRouter(tags=["workflows"], responses=COMMON_ERRORS)


class PresenceBeat(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ViewerPublic(BaseModel):
    user_id: str
    email: str
    since: str


class PresenceList(BaseModel):
    viewers: list[ViewerPublic]


def _who(principal) -> str:
    return str(principal.user_id or principal.id)


def _redis(request: Request):
    return request.app.state.get_redis()


_UNAVAILABLE = {503: {"description": "Redis unavailable"}}


@router.post("/api/v1/workflows/{workflow_id}/presence", response_model=PresenceList, responses=_UNAVAILABLE)
async def heartbeat(workflow_id: uuid.UUID, request: Request, session: SessionDep, principal: CurrentPrincipal,
                    body: PresenceBeat | None = None):
    """I have this workflow open (send every 10 s). Answers everyone with a heartbeat in the last 30 s;
    a change of that list is published on Redis channel `wfo:workflow:{id}:events` (`type: presence`)."""
    await wf_svc.get_workflow(session, principal, workflow_id)
    try:
        viewers = await svc.heartbeat(_redis(request), tenant_id=principal.tenant, workflow_id=str(workflow_id),
                                      user_id=_who(principal), email=principal.name)
    except RedisError:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "presence store (Redis) unavailable") from None
    return PresenceList(viewers=[ViewerPublic(**v.__dict__) for v in viewers])


@router.delete("/api/v1/workflows/{workflow_id}/presence", response_model=PresenceList, responses=_UNAVAILABLE)
async def leave(workflow_id: uuid.UUID, request: Request, session: SessionDep, principal: CurrentPrincipal):
    """I closed this workflow. Answers the viewers left."""
    await wf_svc.get_workflow(session, principal, workflow_id)
    try:
        viewers = await svc.leave(_redis(request), tenant_id=principal.tenant, workflow_id=str(workflow_id),
                                  user_id=_who(principal))
    except RedisError:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "presence store (Redis) unavailable") from None
    return PresenceList(viewers=[ViewerPublic(**v.__dict__) for v in viewers])
