"""Parameterized workflow templates: one JSON file per template in this package.

A template file holds ``id``, ``name``, ``category``, ``description``, ``tags``, ``parameters`` (a JSON
Schema for the parameters, with defaults), ``example_parameters``, optional ``example_input`` and the
``definition`` (the engine's format, docs/definition-format.md).

Parameters are substituted by a pass that runs once, when a workflow is created from the template, and is
separate from the runtime ``{{ }}`` JSONata templates (which it leaves untouched):

- a string that is exactly ``%{name}`` becomes the parameter's value with its type (number, list, object...);
- ``%{name}`` inside a longer string is replaced by the value as text (objects/lists as JSON);
- ``%{name|json}`` inserts the value JSON-encoded: use it to put a parameter into a JSONata expression
  (``"input.amount > %{threshold|json}"``, ``"input.country in %{regions|json}"``), strings come out quoted;
- ``%{name|csv}`` joins a list with ", " (e.g. SQL column lists of identifier-checked parameters);
- ``%{a.b}`` reads a field of an object parameter; ``%%{`` is a literal ``%{``.

Every template is checked when the package loads (ids, schemas, example parameters, placeholders that name
declared parameters), so a broken template file fails at start, not at a user's request.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from wfo.errors import InvalidInput, NotFound

__all__ = [
    "Template", "TemplateError", "TemplateNotFound", "TemplateParameterError",
    "categories", "get_template", "instantiate", "instantiate_template", "is_builtin", "list_templates", "render",
    "template_from_data",
]

TEMPLATE_DIR = Path(__file__).parent
_PLACEHOLDER = re.compile(r"(?<!%)%\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*(?:\|\s*(json|csv))?\s*\}")
_EXACT = re.compile(r"^%\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*(?:\|\s*(json|csv))?\s*\}$")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


class TemplateError(InvalidInput):
    """A template document is malformed (a file at load time, or a tenant's template)."""


class TemplateNotFound(NotFound):
    def __init__(self, template_id: str):
        super().__init__(f"template {template_id!r} not found")
        self.template_id = template_id


class TemplateParameterError(InvalidInput):
    """Parameters do not match a template's schema. ``errors`` lists every bad parameter."""

    def __init__(self, template_id: str, errors: list[dict[str, str]]):
        self.template_id = template_id
        self.errors = errors
        message = f"{len(errors)} invalid parameter(s) for template {template_id!r}"
        super().__init__(message, detail={"message": message, "errors": errors})

    def __str__(self) -> str:
        return f"invalid parameters for template {self.template_id!r}: " + "; ".join(
            f"{e['parameter']}: {e['message']}" for e in self.errors)


@dataclass(frozen=True)
class Template:
    id: str
    name: str
    category: str
    description: str
    parameters: dict[str, Any]
    definition: dict[str, Any]
    tags: tuple[str, ...] = ()
    example_parameters: dict[str, Any] = field(default_factory=dict)
    example_input: Any = None
    notes: str | None = None
    builtin: bool = True

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "category": self.category, "description": self.description,
                "tags": list(self.tags), "builtin": self.builtin}

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary(), "parameters": copy.deepcopy(self.parameters),
                "example_parameters": copy.deepcopy(self.example_parameters),
                "example_input": copy.deepcopy(self.example_input), "notes": self.notes,
                "definition": copy.deepcopy(self.definition)}


# ------------------------------------------------------------------------------------------- loading

def _placeholders(value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, str):
        found.update(m.group(1).split(".", 1)[0] for m in _PLACEHOLDER.finditer(value))
    elif isinstance(value, dict):
        for k, v in value.items():
            found |= _placeholders(k) | _placeholders(v)
    elif isinstance(value, list):
        for v in value:
            found |= _placeholders(v)
    return found


def template_from_data(data: Any, *, source: str = "template", builtin: bool = False) -> Template:
    """Check a template document (a file's content, or a tenant's POST) and build it. Raises TemplateError."""
    if not isinstance(data, dict):
        raise TemplateError(f"{source}: a template is a JSON object")
    for key in ("id", "name", "category", "description", "parameters", "definition"):
        if key not in data:
            raise TemplateError(f"{source}: missing {key!r}")
    tid = data["id"]
    if not isinstance(tid, str) or not _ID_RE.match(tid):
        raise TemplateError(f"{source}: id {tid!r} must be 2-63 characters of lowercase letters, digits and dashes")
    for key in ("name", "category", "description"):
        if not isinstance(data[key], str) or not data[key].strip():
            raise TemplateError(f"{tid}: {key!r} must be a non-empty string")
    if not isinstance(data["definition"], dict):
        raise TemplateError(f"{tid}: 'definition' must be an object")
    schema = copy.deepcopy(data["parameters"])
    if not isinstance(schema, dict) or schema.get("type") != "object":
        raise TemplateError(f"{tid}: 'parameters' must be a JSON Schema with \"type\": \"object\"")
    schema.setdefault("additionalProperties", False)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as err:
        raise TemplateError(f"{tid}: 'parameters' is not a valid JSON Schema: {err.message}") from None
    declared = set((schema.get("properties") or {}).keys())
    used = _placeholders(data["definition"])
    if used - declared:
        raise TemplateError(f"{tid}: the definition uses undeclared parameters: {', '.join(sorted(used - declared))}")
    tags = data.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise TemplateError(f"{tid}: 'tags' must be a list of strings")
    examples = data.get("example_parameters") or {}
    if not isinstance(examples, dict):
        raise TemplateError(f"{tid}: 'example_parameters' must be an object")
    tpl = Template(
        id=tid, name=data["name"], category=data["category"], description=data["description"],
        parameters=schema, definition=data["definition"], tags=tuple(tags),
        example_parameters=examples, example_input=data.get("example_input"),
        notes=data.get("notes"), builtin=builtin,
    )
    try:
        errors = _parameter_errors(tpl, _with_defaults(tpl, tpl.example_parameters))
    except Exception as err:  # noqa: BLE001 - e.g. an unresolvable $ref in the schema
        raise TemplateError(f"{tid}: 'parameters' cannot be used to validate: {type(err).__name__}") from None
    if errors:
        raise TemplateError(f"{tid}: example_parameters are invalid: "
                            + "; ".join(f"{e['parameter']}: {e['message']}" for e in errors))
    return tpl


def _load_file(path: Path) -> Template:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise TemplateError(f"{path.name}: {err}") from None
    tpl = template_from_data(data, source=path.name, builtin=True)
    if path.stem != tpl.id:
        raise TemplateError(f"{path.name}: id {tpl.id!r} must match the file name")
    return tpl


@lru_cache(maxsize=1)
def _templates() -> dict[str, Template]:
    out: dict[str, Template] = {}
    for path in sorted(TEMPLATE_DIR.glob("*.json")):
        tpl = _load_file(path)
        out[tpl.id] = tpl
    return out


def list_templates(category: str | None = None) -> list[Template]:
    """Every template (optionally of one category, case-insensitive), by category then name."""
    items = _templates().values()
    if category:
        items = [t for t in items if t.category.lower() == category.lower()]
    return sorted(items, key=lambda t: (t.category, t.name))


def categories() -> list[str]:
    return sorted({t.category for t in _templates().values()})


def is_builtin(template_id: str) -> bool:
    return template_id in _templates()


def get_template(template_id: str) -> Template:
    try:
        return _templates()[template_id]
    except KeyError:
        raise TemplateNotFound(template_id) from None


# ----------------------------------------------------------------------------------- instantiation

def _with_defaults(tpl: Template, parameters: dict[str, Any]) -> dict[str, Any]:
    values = {k: copy.deepcopy(v["default"]) for k, v in (tpl.parameters.get("properties") or {}).items()
              if isinstance(v, dict) and "default" in v}
    values.update(copy.deepcopy(parameters))
    return values


def _parameter_errors(tpl: Template, values: dict[str, Any]) -> list[dict[str, str]]:
    validator = Draft202012Validator(tpl.parameters, format_checker=FormatChecker())
    errors: list[dict[str, str]] = []
    for err in sorted(validator.iter_errors(values), key=lambda e: [str(p) for p in e.absolute_path]):
        path = list(err.absolute_path)
        if err.validator == "required":
            missing = re.findall(r"'([^']+)' is a required property", err.message)
            errors.append({"parameter": ".".join([*map(str, path), *missing]) or "(root)",
                           "message": "is required"})
        elif err.validator == "additionalProperties" and not path:
            known = ", ".join(sorted(tpl.parameters.get("properties") or {}))
            for extra in sorted(set(values) - set(tpl.parameters.get("properties") or {})):
                errors.append({"parameter": extra, "message": f"is not a parameter of this template (known: {known})"})
        elif err.validator == "pattern":
            # do not echo the value: a DSN pasted where a secret:// reference belongs holds a password
            hint = " (a secret://NAME reference)" if str(err.validator_value).startswith("^secret://") else ""
            errors.append({"parameter": ".".join(map(str, path)) or "(root)",
                           "message": f"must match the pattern {err.validator_value}{hint}"})
        else:
            errors.append({"parameter": ".".join(map(str, path)) or "(root)", "message": err.message})
    return errors


def instantiate(template_id: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """The built-in template's definition with `parameters` (plus schema defaults) substituted.

    Raises TemplateNotFound, or TemplateParameterError listing every bad parameter.
    """
    return instantiate_template(get_template(template_id), parameters)


def instantiate_template(tpl: Template, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """`tpl`'s definition with `parameters` (plus schema defaults) substituted; TemplateParameterError if invalid."""
    template_id = tpl.id
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, dict):
        raise TemplateParameterError(template_id, [{"parameter": "(root)", "message": "parameters must be an object"}])
    values = _with_defaults(tpl, parameters)
    errors = _parameter_errors(tpl, values)
    if errors:
        raise TemplateParameterError(template_id, errors)
    return render(tpl.definition, values)


def _lookup(values: dict[str, Any], dotted: str) -> Any:
    """The value at `dotted`; an optional parameter that was not given (and has no default) is None."""
    cur: Any = values
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def _apply(value: Any, filt: str) -> str:
    if filt == "json":
        return json.dumps(value)
    if filt == "csv":  # a list joined with ", " (identifiers for SQL column lists...)
        return ", ".join(_text(v) for v in (value if isinstance(value, list) else [value]))
    raise ValueError(filt)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return json.dumps(value, separators=(",", ":"))


def render(value: Any, values: dict[str, Any]) -> Any:
    """Substitute ``%{...}`` placeholders in `value` (recursively); runtime ``{{ }}`` text is left as is."""
    if isinstance(value, str):
        exact = _EXACT.match(value)
        if exact:
            v = _lookup(values, exact.group(1))
            return _apply(v, exact.group(2)) if exact.group(2) else copy.deepcopy(v)

        def sub(m: re.Match[str]) -> str:
            v = _lookup(values, m.group(1))
            return _apply(v, m.group(2)) if m.group(2) else _text(v)

        return _PLACEHOLDER.sub(sub, value).replace("%%{", "%{")
    if isinstance(value, dict):
        return {render(k, values) if isinstance(k, str) else k: render(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, values) for v in value]
    return copy.deepcopy(value)
