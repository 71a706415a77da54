"""``GET /api/v1/executions/{id}/nodes/{node_id}``: one node's output in an execution, for the
designer's watch mode ("click a node to see its output").

Read through the interpreter's read-only ``node_output`` query (running or closed executions alike;
a closed one is answered by a worker replaying it). Tenant-scoped like every execution read.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, status
from pydantic import BaseModel
from temporalio.client import WorkflowQueryFailedError

from api.deps import CurrentPrincipal, SessionDep, TemporalDep
from api.services import executions as svc
from workflows.types import NODE_OUTPUT_QUERY

router = APIRouter(tags=["executions"])

QUERY_TIMEOUT_S = 10.0


class NodeOutput(BaseModel):
    execution_id: str
    node_id: str
    ran: bool
    """Whether the node has produced an output in this run (false: pending, skipped, or failed without one)."""
    output: Any = None


@router.get("/api/v1/executions/{execution_id}/nodes/{node_id}", response_model=NodeOutput,
            responses={404: {"description": "unknown execution, or node outputs unavailable for it"}})
async def node_output(
    execution_id: str,
    node_id: Annotated[str, Path(max_length=128)],
    session: SessionDep,
    principal: CurrentPrincipal,
    client: TemporalDep,
) -> NodeOutput:
    row = await svc.get_execution_row(session, principal, execution_id)
    await session.close()
    try:
        res = await asyncio.wait_for(client.get_workflow_handle(row.id).query(NODE_OUTPUT_QUERY, node_id), QUERY_TIMEOUT_S)
    except WorkflowQueryFailedError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"node outputs are not available for this execution: {exc}") from None
    except (TimeoutError, asyncio.TimeoutError):
        raise HTTPException(status.HTTP_504_GATEWAY_TIMEOUT, "no worker answered in time; try again") from None
    except Exception as exc:  # noqa: BLE001 - Temporal unreachable / execution gone
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"workflow engine unavailable ({type(exc).__name__})",
                            headers={"Retry-After": "5"}) from None
    return NodeOutput(execution_id=row.id, node_id=node_id, ran=bool(res.get("ran")), output=res.get("output"))
