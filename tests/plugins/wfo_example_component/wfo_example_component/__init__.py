"""`example.slugify`: a custom wfo component living in its own package.

The whole contract: a class with a `spec` (a `ComponentSpec` of kind "activity", a dotted type) and
`async def run(self, config, ctx)` returning JSON data; raise `ComponentError` for failures (set
`retryable=False` when retrying cannot help). Expose it in the `wfo.components` entry-point group
(pyproject.toml); the wfo worker and API load it at start.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, ClassVar

from connectors.base import ComponentError, NodeContext
from workflows.components import ComponentSpec


class Slugify:
    spec: ClassVar[ComponentSpec] = ComponentSpec(
        "example.slugify", "activity", "Turns a text into a URL slug.",
        {"type": "object", "required": ["text"], "additionalProperties": False, "properties": {
            "text": {"type": "string", "title": "Text"},
            "separator": {"type": "string", "minLength": 1, "maxLength": 3, "default": "-", "title": "Separator"},
            "max_length": {"type": "integer", "minimum": 1, "default": 80}}},
        category="data", title="Slugify", icon="link", idempotent=True,
        output_schema={"type": "object", "properties": {"slug": {"type": "string"}, "node": {"type": "string"}}},
        docs="Lower-cases, strips accents and joins the words of `text` with `separator`.",
        example={"text": "{{ input.title }}"},
    )

    async def run(self, config: dict[str, Any], ctx: NodeContext) -> Any:
        text = unicodedata.normalize("NFKD", str(config["text"])).encode("ascii", "ignore").decode()
        words = re.findall(r"[a-z0-9]+", text.lower())
        if not words:
            raise ComponentError(f"nothing to slugify in {config['text']!r}", retryable=False, type="EmptySlug")
        slug = (config.get("separator") or "-").join(words)[: int(config.get("max_length") or 80)]
        return {"slug": slug, "node": ctx.node_id}


COMPONENTS = [Slugify]
