"""REST v1: run one component with sample input through Temporal (the designer's node test)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, status
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from api.deps import CurrentPrincipal, SettingsDep, TemporalDep
from api.schemas import COMMON_ERRORS, RequestModel
from api.services import component_tests as svc

router = APIRouter(tags=["components"], responses=COMMON_ERRORS)

MAX_TEST_SECONDS = 120.0


class TestContext(BaseModel):
    model_config = ConfigDict(extra="forbid")
    nodes: dict[str, JsonValue] = Field(default_factory=dict, description="outputs of upstream nodes, by node id")
    vars: dict[str, JsonValue] = Field(default_factory=dict)


class ComponentTestRequest(RequestModel):
    model_config = ConfigDict(extra="forbid")
    config: dict[str, JsonValue] = Field(default_factory=dict, description="the node's config, as in a definition")
    input: JsonValue = Field(default=None, description="the execution input the node's expressions see as `input`")
    context: TestContext = Field(default_factory=TestContext)
    node_id: str = Field(default=svc.DEFAULT_NODE_ID, pattern=r"^[A-Za-z_][A-Za-z0-9_\-]{0,127}$",
                         description="id the node runs under (problems and idempotency keys name it)")
    timeout: str | None = Field(default=None, max_length=64, description="the node's timeout (ISO-8601, e.g. PT10S)")
    retry: dict[str, JsonValue] | None = Field(default=None, description="the node's retry policy (default: 1 attempt)")
    wait_seconds: float = Field(default=30.0, gt=0, le=MAX_TEST_SECONDS,
                                description="how long to wait for the outcome before answering 504")


class TestError(BaseModel):
    type: str
    message: str
    attempts: int | None = None
    details: Any = None


class ComponentTestResponse(BaseModel):
    status: Literal["completed", "failed"]
    output: Any = None
    port: str | None = None
    error: TestError | None = None
    duration_ms: float
    execution_id: str


_ERRORS = {
    404: {"description": "Unknown component type"},
    422: {"description": "Invalid config: `detail.problems` lists each problem with its field"},
    503: {"description": "Temporal unreachable"},
    504: {"description": "The node did not finish in `wait_seconds` (the test run is stopped)"},
}
_STATUS = {"unknown_type": status.HTTP_404_NOT_FOUND, "invalid": status.HTTP_422_UNPROCESSABLE_CONTENT,
           "timeout": status.HTTP_504_GATEWAY_TIMEOUT, "unavailable": status.HTTP_503_SERVICE_UNAVAILABLE}


@router.post("/api/v1/components/{type}/test", response_model=ComponentTestResponse, responses=_ERRORS)
async def test_component(
    type: Annotated[str, Path(max_length=128)],
    body: ComponentTestRequest,
    principal: CurrentPrincipal,
    client: TemporalDep,
    settings: SettingsDep,
):
    """Run just this node (a `start -> node -> end` definition in the Interpreter, on the worker's task queue,
    in the caller's tenant, trigger `test`) and answer with its output and port, or its error. A failing
    node is a 200 with `status: failed`; a node that cannot run (bad config) is a 422 with problems."""
    test = svc.ComponentTest(type=type, config=body.config, input=body.input, nodes=body.context.nodes,
                             vars=body.context.vars, node_id=body.node_id, timeout=body.timeout, retry=body.retry)
    try:
        result = await svc.run(client, task_queue=settings.temporal_task_queue, tenant_id=principal.tenant,
                               started_by=principal.name, test=test, timeout_s=body.wait_seconds,
                               payload_threshold_bytes=settings.payload_threshold_bytes)
    except svc.ComponentTestError as err:
        detail: Any = {"message": err.message, "problems": err.problems} if err.kind == "invalid" else err.message
        raise HTTPException(_STATUS[err.kind], detail) from None
    return ComponentTestResponse(status=result.status, output=result.output, port=result.port,
                                 error=TestError(**result.error) if result.error else None,
                                 duration_ms=result.duration_ms, execution_id=result.execution_id)
