"""All components: the built-in control/pure ones and every connector."""

from __future__ import annotations

from functools import lru_cache

from connectors.base import Connector
from connectors.http import HttpRequest
from connectors.noop import Noop
from workflows.components import BUILTIN_SPECS, Registry


def connector_classes() -> list[type]:
    classes: list[type] = [HttpRequest, Noop]
    try:  # optional connectors, added as they land
        from connectors.database import DatabaseQuery
        classes.append(DatabaseQuery)
    except ImportError:
        pass
    try:
        from connectors.email import EmailSend
        classes.append(EmailSend)
    except ImportError:
        pass
    return classes


def connectors() -> list[Connector]:
    return [cls() for cls in connector_classes()]


@lru_cache
def default_registry() -> Registry:
    return Registry(list(BUILTIN_SPECS) + [cls.spec for cls in connector_classes()])
