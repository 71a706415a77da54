"""The data converter shared by every client and worker (one place to add a codec).

Temporal's default converter, with a faster JSON path for dataclasses (profiled: a sixth of the worker's CPU
per short execution went to it). The bytes written are the same as the default converter's, and it reads
everything the default converter reads:

- encoding: a dataclass becomes a shallow ``{field: value}`` dict that ``json`` walks itself, where the default
  encoder deep-copies it first with ``dataclasses.asdict`` (same JSON: same keys, same values, sorted keys);
- decoding: a dataclass's field type hints are resolved once per class (the default resolves them with
  ``typing.get_type_hints`` on every payload); conversion of each field is Temporal's ``value_to_type``.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from temporalio.converter import (
    AdvancedJSONEncoder,
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
    JSONTypeConverter,
    value_to_type,
)


class _ShallowDataclassEncoder(AdvancedJSONEncoder):
    """``AdvancedJSONEncoder`` without the deep copy of ``dataclasses.asdict`` (nested dataclasses come back
    here one level at a time)."""

    def default(self, o: Any) -> Any:
        if dataclasses.is_dataclass(o) and not isinstance(o, type):
            return {f.name: getattr(o, f.name) for f in dataclasses.fields(o)}
        return super().default(o)


_Plan = tuple[tuple[str, Any, bool], ...]
"""(field name, resolved type hint, init) per field of a dataclass."""


class _CachedDataclassConverter(JSONTypeConverter):
    """Dataclass payloads with their field hints resolved once per class; anything else is left to Temporal."""

    def __init__(self) -> None:
        self._plans: dict[type, _Plan] = {}

    def _plan(self, hint: type) -> _Plan:
        plan = self._plans.get(hint)
        if plan is None:
            hints = typing.get_type_hints(hint)
            plan = self._plans[hint] = tuple((f.name, hints[f.name], f.init) for f in dataclasses.fields(hint))
        return plan

    def to_typed_value(self, hint: type, value: Any) -> Any:
        if not (isinstance(hint, type) and dataclasses.is_dataclass(hint)) or not isinstance(value, dict):
            return JSONTypeConverter.Unhandled  # not a dataclass (or not a dict): Temporal's own conversion
        init: dict[str, Any] = {}
        late: dict[str, Any] = {}
        for name, field_hint, in_init in self._plan(hint):
            if name in value:
                try:
                    converted = value_to_type(field_hint, value[name], _CUSTOM)
                except Exception as err:
                    raise TypeError(f"Failed converting field {name} on dataclass {hint}") from err
                (init if in_init else late)[name] = converted
        obj = hint(**init)
        for name, converted in late.items():
            object.__setattr__(obj, name, converted)
        return obj


_CUSTOM: list[JSONTypeConverter] = [_CachedDataclassConverter()]


class _JSONConverter(JSONPlainPayloadConverter):
    def __init__(self) -> None:
        super().__init__(encoder=_ShallowDataclassEncoder, custom_type_converters=_CUSTOM)


class PayloadConverter(CompositePayloadConverter):
    """Temporal's default payload converters, the JSON one replaced by the faster dataclass path."""

    def __init__(self) -> None:
        super().__init__(*(_JSONConverter() if isinstance(c, JSONPlainPayloadConverter) else c
                           for c in DefaultPayloadConverter.default_encoding_payload_converters))


data_converter = DataConverter(payload_converter_class=PayloadConverter)

__all__ = ["PayloadConverter", "data_converter"]
