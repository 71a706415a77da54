"""`util.noop`: a side-effecting no-op (returns its config); handy for tests and benchmarks."""

from __future__ import annotations

from typing import Any, ClassVar

from connectors.base import NodeContext
from workflows.components import ComponentSpec


class Noop:
    spec: ClassVar[ComponentSpec] = ComponentSpec(
        "util.noop", "activity", "Does nothing; outputs its `value`.",
        {"type": "object", "properties": {"value": {}}},
        category="core", title="No-op", icon="circle-dashed", idempotent=True,
        docs="Runs as an activity and outputs its `value` unchanged: a placeholder, or a way to test retries "
             "and timeouts.", example={"value": "{{ input }}"},
    )

    async def run(self, config: dict[str, Any], ctx: NodeContext) -> Any:
        return config.get("value")
