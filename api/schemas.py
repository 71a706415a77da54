"""Request/response models (Base/Create/Update/Public families) for the REST API."""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from wfo.models import ExecutionStatus, Role, WorkflowStatus

T = TypeVar("T")


def _finite(value: Any, _depth: int = 0) -> Any:
    """JSON documents are stored as JSONB: refuse NaN/Infinity (accepted by Python's parser) and
    absurd nesting with a 422 instead of a database error."""
    if _depth > 64:
        raise ValueError("JSON nested deeper than 64 levels")
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        raise ValueError("NaN and Infinity are not valid JSON numbers")
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str) and "\x00" in k:
                raise ValueError("NUL characters are not allowed in JSON keys")
            _finite(v, _depth + 1)
    elif isinstance(value, list):
        for v in value:
            _finite(v, _depth + 1)
    elif isinstance(value, str) and "\x00" in value:
        raise ValueError("NUL characters (\\u0000) are not allowed in stored JSON strings")
    return value


JsonValue = Annotated[Any, AfterValidator(_finite)]
"""Any JSON value storable as JSONB (use for free-form request fields)."""
JsonObject = Annotated[dict[str, Any], AfterValidator(_finite)]


class RequestModel(BaseModel):
    """Base of request bodies: no NUL characters in any string (Postgres can't store them)."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, v: Any) -> Any:
        if isinstance(v, str) and "\x00" in v:
            raise ValueError("NUL characters are not allowed")
        if isinstance(v, list):
            for item in v:
                if isinstance(item, str) and "\x00" in item:
                    raise ValueError("NUL characters are not allowed")
        return v

RoleName = Literal["admin", "developer", "operator", "viewer"]
EditableStatus = Literal["draft", "active", "inactive"]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
    total_capped: bool = False
    """True when `total` is a lower bound: counting stopped at the listing's count cap (e.g. 10,000)."""
    next_cursor: str | None = None
    """Pass as `cursor` to get the next page by keyset (fast at any depth); None on the last page."""


class Message(BaseModel):
    message: str


class ErrorDetail(BaseModel):
    detail: Any


COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorDetail, "description": "Missing, invalid or expired credentials"},
    403: {"model": ErrorDetail, "description": "Your role lacks the permission this route needs"},
    404: {"model": ErrorDetail, "description": "Unknown id, or an id of another tenant"},
    413: {"model": ErrorDetail, "description": "Request body larger than the configured limit"},
}


# ---------------------------------------------------------------- auth / users / keys
class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class Me(BaseModel):
    kind: str
    id: uuid.UUID
    tenant_id: uuid.UUID
    role: str
    name: str
    permissions: list[str]


Email = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
]


class UserBase(RequestModel):
    email: Email
    full_name: str | None = Field(default=None, max_length=255)
    role: RoleName = Role.viewer.value
    is_active: bool = True


class UserCreate(UserBase):
    password: str = Field(min_length=8, max_length=256)


class UserUpdate(RequestModel):
    full_name: str | None = Field(default=None, max_length=255)
    role: RoleName | None = None
    is_active: bool | None = None
    password: str | None = Field(default=None, min_length=8, max_length=256)


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    tenant_id: uuid.UUID
    email: str
    full_name: str | None
    role: str
    is_active: bool
    created_at: datetime


class ApiKeyCreate(RequestModel):
    name: str = Field(min_length=1, max_length=255)
    role: RoleName | None = None
    """Defaults to the creator's role; can't exceed it."""
    bind_to_user: bool = False
    """Bind the key to the creating user (disabled with the user)."""


class ApiKeyPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    prefix: str
    role: str
    user_id: uuid.UUID | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    created_by_user_id: uuid.UUID | None = None
    created_by: str | None = None
    """Who made the key (email, or `api-key:<prefix>`); null for keys made before creators were recorded."""


class ApiKeyCreated(ApiKeyPublic):
    key: str
    """The key itself: shown once, only in this response."""


# ---------------------------------------------------------------- workflows
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


def _dedupe(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tags))

class WorkflowBase(RequestModel):
    name: str = Field(min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=10_000)
    category: str | None = Field(default=None, max_length=100)
    tags: list[Tag] = Field(default_factory=list, max_length=50)

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str]) -> list[str]:
        return _dedupe(v)


class WorkflowCreate(WorkflowBase):
    definition: JsonObject
    status: EditableStatus = WorkflowStatus.draft.value


class WorkflowUpdate(RequestModel):
    """PUT: fields left out keep their value; a ``definition`` creates a new immutable version."""

    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=10_000)
    category: str | None = Field(default=None, max_length=100)
    tags: list[Tag] | None = Field(default=None, max_length=50)
    status: EditableStatus | None = None
    definition: JsonObject | None = None

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else _dedupe(v)


class WorkflowPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    description: str | None
    category: str | None
    tags: list[str]
    status: str
    current_version: int
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
    execution_count: int | None = None
    success_rate: float | None = None


class WorkflowDetail(WorkflowPublic):
    definition: dict[str, Any]


class WorkflowVersionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    workflow_id: uuid.UUID
    version: int
    created_at: datetime
    created_by: str | None


class WorkflowVersionDetail(WorkflowVersionPublic):
    definition: dict[str, Any]


class ValidationProblem(BaseModel):
    code: str
    message: str
    node_id: str | None = None
    edge_index: int | None = None
    field: str | None = None
    severity: Literal["error", "warning"] = "error"
    """`warning`s (e.g. `unknown_output_field`) never block saving; `valid` counts errors only."""


class ValidationResult(BaseModel):
    valid: bool
    problems: list[ValidationProblem]


# ---------------------------------------------------------------- executions
class ExecuteRequest(RequestModel):
    input: JsonValue = None
    version: int | None = Field(default=None, ge=1)


class ExecutionStarted(BaseModel):
    id: str
    status: str
    workflow_id: uuid.UUID | None
    version: int | None
    temporal_ui_url: str
    redrive_of: str | None = None
    """Set on a redrive: the execution it re-runs from its failed nodes."""


class ExecutionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    workflow_id: uuid.UUID | None
    version: int | None
    status: ExecutionStatus | str
    trigger: str
    started_by: str | None
    started_at: datetime
    completed_at: datetime | None
    duration_ms: int | None = None
    duration: float | None = None
    """Seconds from start to completion (or to now while running)."""
    error: str | None
    redrive_of: str | None = None
    """Set on a redrive: the execution it re-runs from its failed nodes."""


class ExecutionDetail(ExecutionPublic):
    input: Any = None
    output: Any = None
    progress: dict[str, Any] | None = None
    """The engine's progress query: per-node status/attempts/timings, recent events, failure."""
    progress_percent: float | None = None
    nodes: dict[str, Any] | None = None
    temporal_ui_url: str
    temporal_status: str | None = None


class NodeLog(BaseModel):
    node_id: str
    status: str | None = None
    attempt: int | None = None
    """Attempts of the last activation (activity retries)."""
    activations: int | None = None
    started_at: Any = None
    completed_at: Any = None
    failed_at: Any = None
    duration_ms: float | None = None
    error: Any = None
    runs: list[dict[str, Any]] = []
    """Each activation from the event log: seq, started_at, completed_at/failed_at, attempt, duration_ms, error."""


class ExecutionLogs(BaseModel):
    execution_id: str
    status: str
    nodes: list[NodeLog]
    events: list[dict[str, Any]]


# ---------------------------------------------------------------- v2 bulk
class BulkOperation(RequestModel):
    op: Literal["create", "update", "delete", "activate", "deactivate"]
    id: uuid.UUID | None = None
    data: JsonObject | None = None
    if_match: str | None = None


class BulkRequest(RequestModel):
    operations: list[BulkOperation] = Field(min_length=1, max_length=100)


class BulkItemResult(BaseModel):
    index: int
    op: str | None = None
    ok: bool
    status: int
    id: str | None = None
    result: Any = None
    error: Any = None


class BulkResponse(BaseModel):
    succeeded: int
    failed: int
    results: list[BulkItemResult]


class BatchExecuteItem(RequestModel):
    workflow_id: uuid.UUID
    input: JsonValue = None
    version: int | None = Field(default=None, ge=1)


class BatchExecuteRequest(RequestModel):
    items: list[BatchExecuteItem] = Field(min_length=1, max_length=100)
