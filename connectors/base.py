"""What a side-effecting component (connector) is: a spec plus an async `run`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from wfo.errors import WfoError
from workflows.components import ComponentSpec


class ComponentError(WfoError):
    """A connector failure. `retryable=False` stops Temporal's retries at once."""

    def __init__(self, message: str, *, retryable: bool = True, type: str = "ComponentError",
                 details: dict[str, Any] | None = None):
        super().__init__(message)
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
    credentials: Any = None
    """Resolves credential names to values (`CredentialResolver`); set by the component activity."""
    secret_values: list[str] = field(default_factory=list)
    """Every secret value resolved for this run: redacted from errors and scrubbed from the output."""

    async def credential(self, name: str, *types: str) -> dict[str, Any]:
        """The tenant's credential `name` (its decrypted fields), checked to be one of `types`.

        Only ever called inside an activity: the value never enters workflow history. The values are
        recorded in `secret_values` so the activity scrubs them from whatever leaves it.
        """
        if self.credentials is None:
            raise ComponentError(f"credential {name!r}: no credential store on this worker",
                                 retryable=False, type="CredentialNotFound")
        values = await self.credentials.resolve(self.tenant_id, name, types)
        secrets = getattr(values, "secrets", None)  # a resolver may say which fields are secret
        self.secret_values.extend(_leaf_strings(values) if secrets is None else secrets)
        return values


class CredentialValues(dict):
    """Decrypted credential fields as a resolver returns them. `secrets`: the strings to scrub (the
    secret fields: passwords, tokens, URLs that embed them); None means every string field."""

    secrets: list[str] | None = None


class CredentialResolver(Protocol):
    async def resolve(self, tenant_id: str | None, name: str, types: tuple[str, ...]) -> dict[str, Any]:
        """Decrypted fields of the tenant's credential; raises `ComponentError` (non-retryable)
        `CredentialNotFound` when missing and `CredentialTypeMismatch` when not one of `types`."""
        ...


def _leaf_strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if len(value) >= 4 else []
    if isinstance(value, dict):
        return [s for v in value.values() for s in _leaf_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _leaf_strings(v)]
    return []


class Connector(Protocol):
    spec: ClassVar[ComponentSpec]

    async def run(self, config: dict[str, Any], ctx: NodeContext) -> Any: ...
