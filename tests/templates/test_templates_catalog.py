"""The template catalog: every template instantiates with its example parameters into a valid definition."""

from __future__ import annotations

import json

import pytest

from api import templates as catalog
from connectors.registry import default_registry
from workflows.validation import validate_definition

REAL_TYPES = {"start", "end", "transform", "set", "decision", "switch", "filter", "parallel", "join", "loop", "map",
              "subworkflow", "wait", "approval", "terminate", "http.request", "db.query", "email.send", "util.noop"}

# the use cases named in the product docs, each covered by a template
REQUIRED = {
    "client-onboarding", "document-processing", "invoice-approval", "lead-routing", "etl-pipeline",
    "data-quality-check", "api-sync", "order-processing", "content-publishing", "scheduled-report",
    "cicd-deploy-approval", "backup-verification", "incident-escalation", "expense-approval", "feedback-triage",
}
ALL = [t.id for t in catalog.list_templates()]


def _types(definition: dict) -> set[str]:
    out = set()
    for n in definition["nodes"]:
        out.add(n["type"])
        sub = (n.get("config") or {}).get("definition")
        if isinstance(sub, dict):
            out |= _types(sub)
    return out


def test_catalog_covers_the_product_use_cases():
    assert len(ALL) >= 15
    assert REQUIRED <= set(ALL)
    assert len(catalog.categories()) >= 10


@pytest.mark.parametrize("template_id", ALL)
def test_example_instantiates_to_a_valid_definition(template_id: str):
    tpl = catalog.get_template(template_id)
    assert tpl.name and len(tpl.description) > 40 and tpl.category
    assert tpl.parameters["type"] == "object" and tpl.parameters["properties"]
    definition = catalog.instantiate(template_id, tpl.example_parameters)
    problems = validate_definition(definition, default_registry())
    assert problems == [], [p.to_dict() for p in problems]
    assert _types(definition) <= REAL_TYPES
    assert all(t in default_registry() for t in _types(definition))
    text = json.dumps(definition)
    assert "%{" not in text  # every placeholder was substituted
    # secrets stay references: nothing that looks like a DSN with a password in a stored definition
    assert "postgresql://" not in text


@pytest.mark.parametrize("template_id", ALL)
def test_secret_parameters_only_accept_references(template_id: str):
    tpl = catalog.get_template(template_id)
    for name, schema in tpl.parameters["properties"].items():
        if str(schema.get("default", "")).startswith("secret://"):
            with pytest.raises(catalog.TemplateParameterError) as exc:
                catalog.instantiate(template_id, {**tpl.example_parameters, name: "postgresql://u:pw@db/x"})
            assert [e["parameter"] for e in exc.value.errors] == [name]
            assert "pw@db" not in str(exc.value) and "secret://NAME" in str(exc.value)


def test_list_by_category_and_unknown():
    finance = catalog.list_templates("finance")
    assert {t.id for t in finance} == {"invoice-approval", "expense-approval"}
    assert catalog.list_templates("FINANCE") == finance
    assert catalog.list_templates("nope") == []
    with pytest.raises(catalog.TemplateNotFound):
        catalog.get_template("nope")
    with pytest.raises(catalog.TemplateNotFound):
        catalog.instantiate("nope", {})


def test_every_bad_parameter_is_listed():
    with pytest.raises(catalog.TemplateParameterError) as exc:
        catalog.instantiate("order-processing", {
            "inventory_url": "not a url", "payment_url": 42, "ops_email": "ops@example.com",
            "fraud_review_threshold": -1, "currency": "usd", "colour": "blue"})
    by_param = {e["parameter"]: e["message"] for e in exc.value.errors}
    assert set(by_param) == {"inventory_url", "payment_url", "shipping_url", "fraud_review_threshold", "currency",
                             "colour"}
    assert by_param["shipping_url"] == "is required"
    assert "not a parameter" in by_param["colour"]
    assert "order-processing" in str(exc.value)


def test_nested_parameter_errors_are_located():
    tpl = catalog.get_template("lead-routing")
    params = {**tpl.example_parameters, "region_owners": {"emea": "x", "amer": "a@b.org", "apac": "a@b.org"}}
    with pytest.raises(catalog.TemplateParameterError) as exc:
        catalog.instantiate("lead-routing", params)
    assert {e["parameter"] for e in exc.value.errors} == {"region_owners.emea", "region_owners.other"}


def test_parameters_must_be_an_object():
    with pytest.raises(catalog.TemplateParameterError):
        catalog.instantiate("api-sync", ["x"])  # type: ignore[arg-type]


def test_defaults_are_applied_and_typed():
    d = catalog.instantiate("expense-approval", {"payroll_url": "https://payroll.example.com"})
    nodes = {n["id"]: n for n in d["nodes"]}
    assert nodes["manager_approval"]["config"]["assignees"] == {"roles": ["manager"]}
    assert "input.expense.amount <= 100" in nodes["small"]["config"]["condition"]
    assert nodes["reimburse"]["config"]["url"] == "https://payroll.example.com/reimbursements"
    # runtime templates are left for the engine
    assert nodes["reimburse"]["config"]["json"]["amount"] == "{{ input.expense.amount }}"


def test_render_semantics():
    values = {"n": 5, "s": "it's", "l": ["a", "b"], "o": {"k": {"x": 1}}, "b": True}
    assert catalog.render("%{n}", values) == 5
    assert catalog.render("%{l}", values) == ["a", "b"]
    assert catalog.render("%{o.k}", values) == {"x": 1}
    assert catalog.render("n=%{n}, b=%{b}, l=%{l}", values) == 'n=5, b=true, l=["a","b"]'
    assert catalog.render("x = %{s|json}", values) == 'x = "it\'s"'
    assert catalog.render("x in %{l|json}", values) == 'x in ["a", "b"]'
    assert catalog.render("SELECT %{l|csv} FROM t", values) == "SELECT a, b FROM t"
    assert catalog.render("%{missing}", values) is None
    assert catalog.render("keep %%{n} and {{ input.n }}", values) == "keep %{n} and {{ input.n }}"
    assert catalog.render({"%{s}": ["%{n}"]}, values) == {"it's": [5]}


@pytest.mark.parametrize("template_id", ALL)
def test_example_input_matches_the_start_schema(template_id: str):
    import jsonschema

    tpl = catalog.get_template(template_id)
    start = next(n for n in tpl.definition["nodes"] if n["type"] == "start")
    schema = (start.get("config") or {}).get("input_schema")
    if schema is None:
        assert tpl.example_input is None  # takes no input
        return
    assert tpl.example_input is not None, "a template with an input schema shows an example input"
    jsonschema.validate(tpl.example_input, schema)
