"""All components: the built-in control/pure ones and every connector, listed explicitly.

Nothing here is optional: every connector listed is imported, and a missing third-party dependency
stops the process at start with an ``ImportError`` naming the package and the component that needs it
(``connectors/__init__.py``). A new connector: add its class to ``CONNECTOR_CLASSES``. Components of
other packages come from the ``wfo.components`` entry-point group (connectors/plugins.py), loaded once
at worker/API start; a broken plugin stops the start with ``PluginError``.
"""

from __future__ import annotations

from functools import lru_cache

from connectors.base import Connector
from connectors.code import CodeJavascript, CodePython
from connectors.database import DatabaseQuery
from connectors.email import EmailSend
from connectors.http import HttpRequest
from connectors.n8n import N8nExecute
from connectors.noop import Noop
from connectors.plugins import load_plugins
from connectors.temporal_workflow import TemporalWorkflowStart
from workflows.components import BUILTIN_SPECS, Registry

CONNECTOR_CLASSES: tuple[type[Connector], ...] = (HttpRequest, Noop, DatabaseQuery, EmailSend, CodePython,
                                                  CodeJavascript, N8nExecute)


def connector_classes() -> list[type[Connector]]:
    """Built-in connectors, then the installed plugins' (entry-point group `wfo.components`)."""
    return list(CONNECTOR_CLASSES) + list(plugin_classes())


@lru_cache
def plugin_classes() -> tuple[type[Connector], ...]:
    """Loaded once per process; raises `PluginError` for a broken plugin (the worker/API does not start)."""
    taken = {spec.type for spec in BUILTIN_SPECS} | {cls.spec.type for cls in CONNECTOR_CLASSES}
    return tuple(load_plugins(taken))


def connectors() -> list[Connector]:
    """One instance per connector, plus the activity behind `temporal.workflow`'s fire-and-forget mode
    (a built-in control type, so its spec is not registered a second time)."""
    return [cls() for cls in connector_classes()] + [TemporalWorkflowStart()]


@lru_cache
def default_registry() -> Registry:
    return Registry(list(BUILTIN_SPECS) + [cls.spec for cls in connector_classes()])
