"""SQLModel tables for the metadata API (schema managed by Alembic, see ``migrations/``).

Every tenant-owned row carries ``tenant_id``; every query in ``api/`` filters on it.
The engine's activities read ``workflow_versions`` / ``workflows`` and ``payloads`` with raw
SQL, so those table and column names are part of the contract.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import BYTEA, JSONB
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(nullable: bool = False, default_now: bool = True) -> Any:
    return Field(
        default_factory=utcnow if default_now else None,
        sa_type=sa.DateTime(timezone=True),
        nullable=nullable,
        sa_column_kwargs={"server_default": sa.func.now()} if default_now else {},
    )


class Role(StrEnum):
    admin = "admin"
    developer = "developer"
    operator = "operator"
    viewer = "viewer"


class WorkflowStatus(StrEnum):
    draft = "draft"
    active = "active"
    inactive = "inactive"
    archived = "archived"


class ExecutionStatus(StrEnum):
    running = "running"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"
    terminated = "terminated"
    timed_out = "timed_out"


TERMINAL_EXECUTION_STATUSES = frozenset(
    {
        ExecutionStatus.completed,
        ExecutionStatus.failed,
        ExecutionStatus.cancelled,
        ExecutionStatus.terminated,
        ExecutionStatus.timed_out,
    }
)


DEFAULT_TENANT = "default"
"""The tenant a fresh install creates (`api.bootstrap`); a single-tenant install's shared `secret://` names
are its own (`activities.services.EnvSecrets`)."""


class Tenant(SQLModel, table=True):
    __tablename__ = "tenants"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=255, sa_column_kwargs={"unique": True})
    created_at: datetime = _ts()


class User(SQLModel, table=True):
    """An email is unique within its tenant only (0011): creating a user never tells whether the email is
    in use in another tenant. Login finds the account by email and password, and asks for the tenant when
    the email has accounts in several (`api.routes.auth`)."""

    __tablename__ = "users"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "email", name="uq_users_tenant_email"),
                      sa.Index("ix_users_email", "email"))

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True, ondelete="CASCADE")
    email: str = Field(max_length=320)
    full_name: str | None = Field(default=None, max_length=255)
    hashed_password: str
    role: str = Field(default=Role.viewer.value, max_length=32)
    is_active: bool = True
    created_at: datetime = _ts()


class UserIdentity(SQLModel, table=True):
    """An external (OpenID Connect) identity linked to a user: the IdP's `iss` + `sub` (0016). SSO finds the
    user by this pair, never by email alone."""

    __tablename__ = "user_identities"
    __table_args__ = (sa.UniqueConstraint("issuer", "subject", name="uq_user_identities_issuer_subject"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    issuer: str = Field(max_length=1024)
    subject: str = Field(max_length=255)
    created_at: datetime = _ts()
    last_login_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True, ondelete="CASCADE")
    user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    name: str = Field(max_length=255)
    prefix: str = Field(max_length=32)
    hashed_key: str = Field(max_length=128, sa_column_kwargs={"unique": True})
    role: str = Field(max_length=32)
    created_at: datetime = _ts()
    last_used_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    created_by_user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    """The user behind the key (a key made by a key inherits its creator). The key works only while this
    user is active, and never with more than the user's current role. NULL: made before 0011."""
    created_by: str | None = Field(default=None, max_length=320)
    """Who made it, for display: the creator's email, or `api-key:<prefix>` when a key made it."""


class AuthThrottle(SQLModel, table=True):
    """Failed-login / failed-API-key counters while Redis is down (api.services.auth_throttle; migration 0011)."""

    __tablename__ = "auth_throttle"

    key: str = Field(primary_key=True, sa_type=sa.Text)
    failures: int
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True), index=True)


class AuditLog(SQLModel, table=True):
    """Append-only audit trail (migration 0013_audit_log; wfo.audit). Rows are never updated; a trigger refuses
    UPDATE and DELETE except the retention prune. `hash` = sha256(`prev_hash` + the row's canonical JSON), so
    a changed, removed or inserted row breaks the chain (`wfo audit verify`). `before_hash`/`after_hash`
    (0017_audit_state) enter the hash only when set, so older rows still verify."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_tenant_at", "tenant_id", "at"),
                      sa.Index("ix_audit_log_tenant_id", "tenant_id", "id"),
                      sa.Index("ix_audit_log_tenant_resource", "tenant_id", "resource_id", "id"),
                      sa.Index("ix_audit_log_at", "at"))

    id: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger, primary_key=True, autoincrement=True))
    at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    tenant_id: uuid.UUID | None = Field(default=None)
    actor: str | None = Field(default=None, max_length=320)
    actor_kind: str | None = Field(default=None, max_length=16)
    action: str = Field(max_length=200)
    resource_type: str | None = Field(default=None, max_length=64)
    resource_id: str | None = Field(default=None, max_length=400)
    status: int
    client: str | None = Field(default=None, max_length=64)
    body_hash: str | None = Field(default=None, max_length=64)
    before_hash: str | None = Field(default=None, max_length=64)
    """sha256 of the resource's canonical JSON before the change (0017; null: a create, or not a state change)."""
    after_hash: str | None = Field(default=None, max_length=64)
    """... and after it (null: a delete, a refusal, or not a state change)."""
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class Workflow(SQLModel, table=True):
    __tablename__ = "workflows"
    __table_args__ = (sa.Index("ix_workflows_tenant_status", "tenant_id", "status"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=255)
    description: str | None = Field(default=None, sa_type=sa.Text)
    category: str | None = Field(default=None, max_length=100)
    tags: list[str] = Field(
        default_factory=list,
        sa_type=JSONB,
        sa_column_kwargs={"server_default": sa.text("'[]'::jsonb")},
    )
    status: str = Field(default=WorkflowStatus.draft.value, max_length=16)
    current_version: int = 1
    created_by: str | None = Field(default=None, max_length=320)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    archived_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class WorkflowVersion(SQLModel, table=True):
    __tablename__ = "workflow_versions"

    workflow_id: uuid.UUID = Field(foreign_key="workflows.id", primary_key=True, ondelete="CASCADE")
    version: int = Field(primary_key=True)
    definition: dict[str, Any] = Field(sa_type=JSONB)
    created_at: datetime = _ts()
    created_by: str | None = Field(default=None, max_length=320)


class ExecutionFailure(StrEnum):
    """Why a failed execution failed, when it matters to what may happen next (``executions.failure``).

    Both ``start_failed`` and ``not_found`` mean the workflow never reached Temporal, so a keyed retry
    (an inbound webhook's delivery id, a schedule fire) may start the same execution id again."""

    start_failed = "start_failed"
    """the start call failed (Temporal unreachable, timed out)"""
    not_found = "not_found"
    """the reconciler found no such workflow in Temporal after the start grace period"""


NEVER_STARTED = (ExecutionFailure.start_failed.value, ExecutionFailure.not_found.value)


class Execution(SQLModel, table=True):
    __tablename__ = "executions"
    __table_args__ = (
        # listings (migration 0018): newest first by (started_at, id), the keyset cursor an index bound
        sa.Index("ix_executions_tenant_workflow_started_id", "tenant_id", "workflow_id", "started_at", "id"),
        sa.Index("ix_executions_tenant_started_id", "tenant_id", "started_at", "id"),
        sa.Index("ix_executions_status", "status"),
        sa.Index("ix_executions_tenant_status_started_id", "tenant_id", "status", "started_at", "id"),
        sa.Index("ix_executions_tenant_workflow_status_started_id", "tenant_id", "workflow_id", "status", "started_at",
                 "id"),
        sa.Index("ix_executions_tenant_trigger_started_id", "tenant_id", "trigger", "started_at", "id"),
        # `q`: a prefix of the execution id or of the starter's email (LIKE 'x%' under any collation)
        sa.Index("ix_executions_tenant_id_prefix", "tenant_id", "id", postgresql_ops={"id": "text_pattern_ops"}),
        sa.Index("ix_executions_tenant_started_by_prefix", "tenant_id", "started_by",
                 postgresql_ops={"started_by": "text_pattern_ops"}),
        # analytics (migration 0012): covering indexes for windowed aggregates, running now, redrive links
        sa.Index("ix_executions_tenant_started_cover", "tenant_id", "started_at",
                 postgresql_include=["status", "completed_at", "workflow_id"]),
        sa.Index("ix_executions_tenant_workflow_started_cover", "tenant_id", "workflow_id", "started_at",
                 postgresql_include=["status", "completed_at"]),
        sa.Index("ix_executions_tenant_running", "tenant_id", "started_at",
                 postgresql_where=sa.text("status = 'running'")),
        sa.Index("ix_executions_redrive_of", "redrive_of", postgresql_where=sa.text("redrive_of IS NOT NULL")),
    )

    id: str = Field(primary_key=True, sa_type=sa.Text)
    """The Temporal workflow id."""
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", ondelete="CASCADE")
    workflow_id: uuid.UUID | None = Field(default=None, foreign_key="workflows.id", ondelete="SET NULL")
    version: int | None = None
    status: str = Field(default=ExecutionStatus.running.value, max_length=16)
    trigger: str = Field(default="manual", max_length=64)
    input: Any = Field(default=None, sa_type=JSONB(none_as_null=True), nullable=True)
    output: Any = Field(default=None, sa_type=JSONB(none_as_null=True), nullable=True)
    error: str | None = Field(default=None, sa_type=sa.Text)
    failure: str | None = Field(default=None, max_length=16)
    """An ``ExecutionFailure`` for a failed execution whose start never reached Temporal, else NULL."""
    progress: Any = Field(default=None, sa_type=JSONB(none_as_null=True), nullable=True)
    """Last known per-node progress (kept when the execution closes so reads don't need a worker)."""
    started_by: str | None = Field(default=None, max_length=320)
    started_at: datetime = _ts()
    completed_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = _ts()
    redrive_of: str | None = Field(default=None, sa_type=sa.Text)
    """The execution this one redrives (re-runs from its failed nodes, reusing completed outputs)."""


class NodeRun(SQLModel, table=True):
    """One node of one finished root execution (analytics). Written by the worker at the end of the run
    (``wfo.record_node_runs``); only nodes that ran at least once have a row. Indexes: migration 0012."""

    __tablename__ = "node_runs"
    __table_args__ = (
        sa.Index("ix_node_runs_tenant_workflow_started", "tenant_id", "workflow_id", "execution_started_at",
                 postgresql_include=["node_id", "node_type", "status", "duration_ms", "attempts", "error_type",
                                     "reused"]),
        sa.Index("ix_node_runs_tenant_started", "tenant_id", "execution_started_at",
                 postgresql_include=["workflow_id", "node_id", "node_type", "status", "duration_ms", "attempts",
                                     "error_type", "reused"]),
    )

    execution_id: str = Field(primary_key=True, sa_type=sa.Text)
    node_id: str = Field(primary_key=True, sa_type=sa.Text)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", ondelete="CASCADE")
    workflow_id: uuid.UUID | None = None
    version: int | None = None
    node_type: str = Field(max_length=128)
    status: str = Field(max_length=16)
    """The node's last activation: completed, failed, cancelled (running when the execution ended)."""
    activations: int = 0
    attempts: int = 0
    """Attempts of the last activation (1 + retries)."""
    duration_ms: int | None = Field(default=None, sa_type=sa.BigInteger)
    error_type: str | None = Field(default=None, max_length=128)
    error_message: str | None = Field(default=None, sa_type=sa.Text)
    reused: bool = False
    """Skipped by a redrive: the output of the redriven execution was reused, nothing ran."""
    execution_status: str = Field(max_length=16)
    execution_started_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    started_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class Payload(SQLModel, table=True):
    __tablename__ = "payloads"
    __table_args__ = (sa.Index("ix_payloads_created_at", "created_at"),)

    id: str = Field(primary_key=True, sa_type=sa.Text)
    tenant_id: str | None = Field(default=None, sa_type=sa.Text)
    data: bytes = Field(sa_type=BYTEA)
    size: int | None = None
    created_at: datetime = _ts()
    execution_id: str | None = Field(default=None, sa_type=sa.Text)
    """The execution (Temporal workflow id) that stored it; children's ids start with their root's."""


from wfo import models_analytics  # noqa: E402, F401  (registers the rollup tables on the same metadata)
