"""``GET /api/v1/components``: the component palette of the designer.

Every node type the engine knows (built-in control/pure components and the connectors'
activities), as ``ComponentSpec.describe()``; the app builds its palette, ports, config forms
and expression completions from this list alone, so a new connector appears in the designer
without any frontend change. Invariant: ``items`` is sorted by type and ``categories`` is the
fixed palette order.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from connectors.registry import default_registry
from workflows.components import CATEGORIES

router = APIRouter(prefix="/api/v1/components", tags=["components"])


class ComponentList(BaseModel):
    items: list[dict[str, Any]] = Field(
        description="one entry per node type: type, kind, category, title, description, icon, config_schema, "
        "output_schema, ports, dynamic_ports, can_fail, idempotent, docs, example, expression_fields")
    categories: list[str] = Field(description="palette families, in display order")


@router.get("", response_model=ComponentList)
async def list_components() -> ComponentList:
    """Every component type with its config JSON Schema, output ports and output schema."""
    return ComponentList(items=[spec.describe() for spec in default_registry().specs()], categories=list(CATEGORIES))
