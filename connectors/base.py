"""What a side-effecting component (connector) is: a spec plus an async `run`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from workflows.components import ComponentSpec


class ComponentError(Exception):
    """A connector failure. `retryable=False` stops Temporal's retries at once."""

    def __init__(self, message: str, *, retryable: bool = True, type: str = "ComponentError",
                 details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.type = type
        self.details = details or {}


@dataclass
class NodeContext:
    """What a connector knows about the node it runs for (passed in, never global)."""

    execution_id: str
    node_id: str
    attempt: int
    idempotency_key: str
    """Stable across retries of the same node activation in the same execution."""
    tenant_id: str | None = None
    workflow_id: str | None = None
    services: Any = None
    """The worker's shared clients (`activities.services.Services`)."""
    extra: dict[str, Any] = field(default_factory=dict)


class Connector(Protocol):
    spec: ClassVar[ComponentSpec]

    async def run(self, config: dict[str, Any], ctx: NodeContext) -> Any: ...
