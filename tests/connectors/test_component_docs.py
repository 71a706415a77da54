"""Every integration/communication component is documented (docs/components.md section, docs, example)
and its example is a valid config of a definition."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.registry import default_registry
from tests.helpers import defn, node
from workflows.validation import validate_definition

TYPES = ["http.request", "graphql.request", "db.query", "mysql.query", "redis.command", "amqp.publish",
         "mqtt.publish", "nats.publish", "chat.post", "sms.send", "webhook.respond", "file", "s3", "sftp",
         "rss.read", "email.read"]
DOC = (Path(__file__).resolve().parents[2] / "docs" / "components.md").read_text()


@pytest.mark.parametrize("type_", TYPES)
def test_documented_with_a_valid_example(type_):
    spec = default_registry().get(type_)
    assert spec is not None and spec.kind == "activity"
    d = spec.describe()
    assert d["category"] in ("integration", "communication") and d["title"] != type_ and d["docs"]
    assert d["output_schema"].get("properties"), "output schema drives nodes.<id>. completions"
    assert f"\n## {type_}\n" in DOC
    definition = defn([node("start", "start"), {"id": "n", "type": type_, "config": dict(spec.example)},
                       node("end", "end")], ["start->n", "n->end"])
    assert validate_definition(definition, default_registry()) == []
    props = spec.config_schema.get("properties", {})
    if "credential" in props:
        assert props["credential"]["x-credential-types"], "the designer offers credentials of these types"
