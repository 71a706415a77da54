"""Tenant-owned templates in Postgres, next to the built-in catalog (same format and checks)."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.templates import (
    Template,
    TemplateError,
    TemplateNotFound,
    TemplateParameterError,
    get_template,
    instantiate_template,
    is_builtin,
    list_templates,
    template_from_data,
)
from connectors.registry import default_registry
from wfo.errors import Conflict, InvalidInput
from wfo.models_templates import TenantTemplate
from workflows.validation import validate_definition


class TemplateConflict(Conflict):
    """The id is taken (by a built-in or one of the tenant's templates), or a built-in cannot change."""


class InvalidTemplate(InvalidInput):
    """The document is not a usable template: `message`, and `problems` of its example definition if any."""

    def __init__(self, message: str, problems: list[dict[str, Any]] | None = None):
        self.problems = problems or []
        super().__init__(message, detail={"message": message, "problems": self.problems})


def from_row(row: TenantTemplate) -> Template:
    return Template(id=row.slug, name=row.name, category=row.category, description=row.description,
                    parameters=row.parameters, definition=row.definition, tags=tuple(row.tags or ()),
                    example_parameters=row.example_parameters or {}, example_input=row.example_input, builtin=False)


async def list_all(session: AsyncSession, tenant_id, category: str | None = None) -> list[Template]:
    """Built-in templates, then the tenant's own (each by category and name)."""
    stmt = select(TenantTemplate).where(TenantTemplate.tenant_id == tenant_id)
    if category:
        stmt = stmt.where(col(TenantTemplate.category).ilike(category.replace("\\", "\\\\").replace("%", "\\%")
                                                              .replace("_", "\\_")))
    rows = (await session.exec(stmt.order_by(TenantTemplate.category, TenantTemplate.name))).all()
    return list_templates(category) + [from_row(r) for r in rows]


async def _row(session: AsyncSession, tenant_id, template_id: str) -> TenantTemplate | None:
    stmt = select(TenantTemplate).where(TenantTemplate.tenant_id == tenant_id, TenantTemplate.slug == template_id)
    return (await session.exec(stmt)).first()


async def get_any(session: AsyncSession, tenant_id, template_id: str) -> Template:
    """A built-in template or one of the tenant's; TemplateNotFound otherwise (also for other tenants' ids)."""
    if is_builtin(template_id):
        return get_template(template_id)
    row = await _row(session, tenant_id, template_id)
    if row is None:
        raise TemplateNotFound(template_id)
    return from_row(row)


async def create(session: AsyncSession, tenant_id, created_by: str | None, data: dict[str, Any]) -> Template:
    """Check and store a tenant template. Raises InvalidTemplate or TemplateConflict."""
    try:
        tpl = template_from_data(data, source="template")
    except TemplateError as err:
        raise InvalidTemplate(str(err)) from None
    try:
        definition = instantiate_template(tpl, tpl.example_parameters)
    except TemplateParameterError as err:  # pragma: no cover - template_from_data checked the examples
        raise InvalidTemplate(str(err)) from None
    try:
        problems = [p.to_dict() for p in validate_definition(definition, default_registry())]
    except Exception as err:  # noqa: BLE001 - a validator crash must not become a 500
        raise InvalidTemplate(f"the definition could not be validated: {type(err).__name__}") from None
    if problems:
        raise InvalidTemplate(
            f"the definition instantiated with example_parameters is invalid: {len(problems)} problem(s)", problems)
    if is_builtin(tpl.id):
        raise TemplateConflict(f"{tpl.id!r} is a built-in template id")
    if await _row(session, tenant_id, tpl.id) is not None:
        raise TemplateConflict(f"template {tpl.id!r} already exists")
    session.add(TenantTemplate(
        tenant_id=tenant_id, slug=tpl.id, name=tpl.name, category=tpl.category, description=tpl.description,
        tags=list(tpl.tags), parameters=tpl.parameters, example_parameters=tpl.example_parameters,
        example_input=tpl.example_input, definition=tpl.definition, created_by=created_by))
    await session.commit()
    return tpl


async def delete(session: AsyncSession, tenant_id, template_id: str) -> None:
    if is_builtin(template_id):
        raise TemplateConflict("built-in templates cannot be deleted")
    row = await _row(session, tenant_id, template_id)
    if row is None:
        raise TemplateNotFound(template_id)
    await session.delete(row)
    await session.commit()
