"""An approval task's rules: who may decide, N of M votes, escalation and timeout. Pure code.

The interpreter keeps one `ApprovalTask` per waiting approval node; decisions arrive as a Temporal
Update whose validator calls `check` (so a refused decision never reaches history) and whose handler
calls `apply`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from temporalio.exceptions import ApplicationError

from workflows.definition import parse_duration
from workflows.types import Decision, TaskRecord

DECISIONS = ("approved", "rejected")


def _refuse(message: str, type_: str) -> ApplicationError:
    return ApplicationError(message, type=type_, non_retryable=True)


def _norm(values: Any) -> list[str]:
    if not isinstance(values, list):
        return []
    return [str(v) for v in values if isinstance(v, (str, int))]


@dataclass
class ApprovalTask:
    task_id: str
    node_id: str
    title: str
    description: str | None
    users: list[str]
    roles: list[str]
    required: int
    form: dict[str, Any] | None
    due: timedelta | None
    due_at: datetime | None
    escalate_users: list[str]
    escalate_roles: list[str]
    on_timeout: str
    allow_self: bool
    started_by: str | None
    status: str = "pending"
    escalated: bool = False
    votes: list[dict[str, Any]] = field(default_factory=list)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    decided_at: datetime | None = None
    notify_email: bool = False
    link_hours: float = 72.0

    @classmethod
    def from_config(cls, task_id: str, node_id: str, cfg: dict[str, Any], started_by: str | None,
                    now: datetime) -> "ApprovalTask":
        assignees = cfg.get("assignees") or {}
        escalate = cfg.get("escalate_to") or {}
        due = parse_duration(cfg["due"]) if cfg.get("due") else None
        on_timeout = cfg.get("on_timeout") or ("escalate" if escalate else "timeout")
        return cls(
            task_id=task_id, node_id=node_id, title=str(cfg.get("title") or node_id),
            description=None if cfg.get("description") is None else str(cfg.get("description")),
            users=_norm(assignees.get("users")), roles=_norm(assignees.get("roles")),
            required=max(1, int(cfg.get("required_approvals") or 1)), form=cfg.get("form"),
            due=due, due_at=now + due if due else None,
            escalate_users=_norm(escalate.get("users")), escalate_roles=_norm(escalate.get("roles")),
            on_timeout=on_timeout, allow_self=bool(cfg.get("allow_self_approval", False)), started_by=started_by,
            notify_email=bool((cfg.get("notify") or {}).get("email")),
            link_hours=float((cfg.get("notify") or {}).get("link_hours") or (due / timedelta(hours=1) if due else 72)),
        )

    # ------------------------------------------------------------ rules

    @property
    def closed(self) -> bool:
        return self.status != "pending"

    def is_assignee(self, d: Decision) -> bool:
        ids = {x.lower() for x in (d.user_id, d.user_email) if x}
        if ids & {u.lower() for u in self.users}:
            return True
        return bool(set(d.roles) & set(self.roles))

    def _voter(self, d: Decision) -> str:
        return (d.user_id or d.user_email or "").lower()

    def check(self, d: Decision) -> None:
        """Raise (refusing the update before it is written to history) unless `d` may be applied."""
        if d.idempotency_key and d.idempotency_key in self.results:
            return  # a repeat: the handler answers with the first result
        if self.closed:
            raise _refuse(f"task '{self.title}' is already {self.status}", "TaskClosed")
        if d.decision not in DECISIONS:
            raise _refuse(f"decision must be 'approved' or 'rejected', not {d.decision!r}", "InvalidDecision")
        if not self._voter(d):
            raise _refuse("a decision needs the deciding user", "NotAssignee")
        if not self.is_assignee(d):
            raise _refuse(f"{d.user_email or d.user_id} is not an assignee of task '{self.title}'", "NotAssignee")
        if any(v["user"] == self._voter(d) for v in self.votes):
            raise _refuse(f"{d.user_email or d.user_id} has already voted on task '{self.title}'", "AlreadyVoted")
        starter = (self.started_by or "").lower()
        if (d.decision == "approved" and not self.allow_self and starter
                and starter in {x.lower() for x in (d.user_id, d.user_email) if x}):
            raise _refuse("the person who started the execution may not approve it", "SelfApproval")
        if d.decision == "approved" and self.form:
            from jsonschema import Draft202012Validator

            errors = sorted(Draft202012Validator(self.form).iter_errors(d.data or {}), key=lambda e: e.path)
            if errors:
                detail = "; ".join(
                    ("/".join(str(p) for p in e.absolute_path) or "data") + ": " + e.message for e in errors[:10])
                raise _refuse(f"form data does not match the task's form: {detail}", "InvalidForm")

    def apply(self, d: Decision, now: datetime) -> dict[str, Any]:
        if d.idempotency_key and d.idempotency_key in self.results:
            return self.results[d.idempotency_key]
        self.votes.append({"user": self._voter(d), "user_email": d.user_email, "user_id": d.user_id,
                           "decision": d.decision, "comment": d.comment, "data": d.data, "at": now.isoformat(),
                           "via": d.via})
        approvals = sum(1 for v in self.votes if v["decision"] == "approved")
        if d.decision == "rejected":
            self.status = "rejected"
        elif approvals >= self.required:
            self.status = "approved"
        if self.closed:
            self.decided_at = now
        result = {"task_id": self.task_id, "status": self.status, "approvals": approvals,
                  "required_approvals": self.required, "vote": self.votes[-1]}
        if d.idempotency_key:
            self.results[d.idempotency_key] = result
        return result

    def escalate(self, now: datetime) -> None:
        self.escalated = True
        self.users = self.users + [u for u in self.escalate_users if u not in self.users]
        self.roles = self.roles + [r for r in self.escalate_roles if r not in self.roles]
        self.due_at = now + self.due if self.due else None

    def time_out(self, now: datetime, reject: bool) -> None:
        self.status = "rejected" if reject else "timed_out"
        self.decided_at = now

    def cancel(self, now: datetime) -> None:
        if not self.closed:
            self.status = "cancelled"
            self.decided_at = now

    # ------------------------------------------------------------ views

    @property
    def port(self) -> str:
        return {"approved": "approved", "rejected": "rejected"}.get(self.status, "timeout")

    def output(self) -> dict[str, Any]:
        last = self.votes[-1] if self.votes else None
        return {
            "task_id": self.task_id,
            "decision": self.status,
            "comment": last["comment"] if last else None,
            "data": last["data"] if last else None,
            "decided_by": last["user_email"] or last["user_id"] if last else None,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "votes": self.votes,
            "escalated": self.escalated,
            "timed_out": self.status == "timed_out" or (self.status == "rejected" and not self.votes),
        }

    def public(self) -> dict[str, Any]:
        return {"task_id": self.task_id, "node_id": self.node_id, "title": self.title, "status": self.status,
                "assignees": {"users": self.users, "roles": self.roles}, "required_approvals": self.required,
                "votes": self.votes, "escalated": self.escalated,
                "due_at": self.due_at.isoformat() if self.due_at else None}

    def record(self, execution_id: str, workflow_id: str | None, tenant_id: str | None) -> TaskRecord:
        return TaskRecord(
            task_id=self.task_id, execution_id=execution_id, node_id=self.node_id, title=self.title,
            status=self.status, description=self.description, workflow_id=workflow_id, tenant_id=tenant_id,
            assignee_users=self.users, assignee_roles=self.roles, required_approvals=self.required,
            form=self.form, due_at=self.due_at.isoformat() if self.due_at else None, escalated=self.escalated,
            started_by=self.started_by, decision=self.status if self.closed else None, votes=self.votes,
            completed_at=self.decided_at.isoformat() if self.decided_at else None,
            notify_email=self.notify_email, link_hours=self.link_hours,
        )
