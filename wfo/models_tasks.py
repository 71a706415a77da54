"""Approval task tables (migrations ``0004_approval_tasks``, ``0006_task_notifications``, ``0007_task_decisions``).

``tasks`` is the inbox: a projection of the interpreter's approval state, written by the worker's task
activities; the workflow stays the source of truth (decisions go through its ``approval.decide`` Update).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

import wfo.models  # noqa: F401  (tenants must be in the metadata for the foreign key)


def _now_column(nullable: bool = False) -> Any:
    return Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=nullable,
                                                  server_default=sa.func.now()))


class Task(SQLModel, table=True):
    """One approval request of one execution's approval node."""

    __tablename__ = "tasks"
    __table_args__ = (
        sa.Index("ix_tasks_tenant_status", "tenant_id", "status"),
        sa.Index("ix_tasks_tenant_status_created", "tenant_id", "status", "created_at"),
        sa.Index("ix_tasks_execution", "execution_id"),
    )

    id: str = Field(primary_key=True, sa_type=sa.Text)
    tenant_id: uuid.UUID | None = Field(default=None, foreign_key="tenants.id", ondelete="CASCADE")
    execution_id: str = Field(sa_type=sa.Text)
    workflow_id: str | None = Field(default=None, sa_type=sa.Text)
    node_id: str = Field(sa_type=sa.Text)
    title: str = Field(sa_type=sa.Text)
    description: str | None = Field(default=None, sa_type=sa.Text)
    status: str = Field(sa_type=sa.Text)
    """pending | approved | rejected | timed_out | cancelled"""
    assignee_users: list[Any] = Field(default_factory=list, sa_column=sa.Column(
        JSONB, nullable=False, server_default="[]"))
    assignee_roles: list[Any] = Field(default_factory=list, sa_column=sa.Column(
        JSONB, nullable=False, server_default="[]"))
    required_approvals: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False, server_default="1"))
    form: Any = Field(default=None, sa_type=JSONB, nullable=True)
    due_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    escalated: bool = Field(default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false()))
    started_by: str | None = Field(default=None, sa_type=sa.Text)
    decision: str | None = Field(default=None, sa_type=sa.Text)
    votes: list[Any] = Field(default_factory=list, sa_column=sa.Column(JSONB, nullable=False, server_default="[]"))
    created_at: datetime | None = _now_column()
    updated_at: datetime | None = _now_column()
    completed_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class TaskLinkUse(SQLModel, table=True):
    """A signed approval link's nonce, used once."""

    __tablename__ = "task_link_uses"

    nonce: str = Field(primary_key=True, sa_type=sa.Text)
    task_id: str = Field(sa_type=sa.Text)
    used_at: datetime | None = _now_column()


class TaskNotification(SQLModel, table=True):
    """Who was emailed about which task (a retried notification does not mail twice)."""

    __tablename__ = "task_notifications"

    task_id: str = Field(primary_key=True, sa_type=sa.Text)
    recipient: str = Field(primary_key=True, sa_type=sa.Text)
    sent_at: datetime | None = _now_column()


class TaskDecision(SQLModel, table=True):
    """The answer to a decision sent with an idempotency key (a repeat gets the first answer)."""

    __tablename__ = "task_decisions"

    task_id: str = Field(primary_key=True, sa_type=sa.Text)
    idempotency_key: str = Field(primary_key=True, sa_type=sa.Text)
    result: Any = Field(sa_column=sa.Column(JSONB, nullable=False))
    created_at: datetime | None = _now_column()
