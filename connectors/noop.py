"""`util.noop`: a side-effecting no-op (returns its config); handy for tests and benchmarks."""

from __future__ import annotations

from typing import Any, ClassVar

from connectors.base import NodeContext
from workflows.components import ComponentSpec


class Noop:
    spec: ClassVar[ComponentSpec] = ComponentSpec(
        "util.noop", "activity", "Does nothing; outputs its `value`.",
        {"type": "object", "properties": {"value": {}}},
    )

    async def run(self, config: dict[str, Any], ctx: NodeContext) -> Any:
        return config.get("value")
