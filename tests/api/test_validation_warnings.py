"""Validator warnings through the API: listed with severity, never blocking a save."""

from __future__ import annotations

from tests.helpers import defn, node

WARNED = defn([node("start", "start"), node("when", "datetime", operation="now"),
               node("end", "end", output="{{ nodes.when.isoo }}")], ["start->when", "when->end"])


async def test_warning_is_listed_but_the_definition_is_valid_and_saves(http, tenant_a):
    v = await http.post("/api/v1/workflows/validate", headers=tenant_a.h("viewer"), json={"definition": WARNED})
    assert v.status_code == 200
    body = v.json()
    assert body["valid"] is True
    assert [(p["code"], p["severity"], p["node_id"], p["field"]) for p in body["problems"]] == [
        ("unknown_output_field", "warning", "end", "config.output")]
    assert "'isoo'" in body["problems"][0]["message"]
    r = await http.post("/api/v1/workflows", headers=tenant_a.h("developer"),
                        json={"name": "warned", "definition": WARNED})
    assert r.status_code == 201, r.text


async def test_errors_still_block_and_carry_severity(http, tenant_a):
    bad = defn([node("start", "start"), node("v", "json_schema.validate", value=1, schema={"type": 5}),
                node("end", "end", output="{{ nodes.v.vlid }}")], ["start->v", "v:valid->end"])
    r = await http.post("/api/v1/workflows", headers=tenant_a.h("developer"), json={"name": "bad", "definition": bad})
    assert r.status_code == 422
    problems = r.json()["detail"]["problems"]
    assert {(p["code"], p["severity"], p["field"]) for p in problems} == {
        ("bad_config", "error", "config.schema"), ("unknown_output_field", "warning", "config.output")}
    assert r.json()["detail"]["message"] == "invalid workflow definition: 1 problem(s)"
