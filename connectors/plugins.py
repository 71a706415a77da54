"""Custom components from other packages: the `wfo.components` entry-point group.

A package declares, in its pyproject.toml::

    [project.entry-points."wfo.components"]
    greet = "wfo_example_component:Greet"          # a connector class
    # or a module attribute holding a list of classes, or a function returning such a list

Each class follows the connector contract (connectors/base.py): a `spec` (`ComponentSpec`, kind
"activity", a dotted type not used by anything else) and `async def run(self, config, ctx)`; it is
instantiated without arguments once per worker. Plugins are loaded when the registry is first built,
i.e. at worker and API start: any plugin that fails to load or breaks the contract raises
`PluginError` naming the entry point and its distribution, so a broken plugin stops the start instead
of failing executions later.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from workflows.components import ComponentSpec

ENTRY_POINT_GROUP = "wfo.components"


class PluginError(RuntimeError):
    """A component plugin that cannot be used; the message says which and why."""


def _where(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    origin = f" from {dist.name} {dist.version}" if dist is not None else ""
    return f"component plugin '{ep.name}' ({ep.value}{origin}, entry-point group {ENTRY_POINT_GROUP})"


def _check(cls: Any, ep: EntryPoint, taken: set[str]) -> type:
    where = _where(ep)
    if not inspect.isclass(cls):
        raise PluginError(f"{where}: {cls!r} is not a class")
    spec = getattr(cls, "spec", None)
    if not isinstance(spec, ComponentSpec):
        raise PluginError(f"{where}: {cls.__name__}.spec must be a workflows.components.ComponentSpec")
    if spec.kind != "activity":
        raise PluginError(f"{where}: component '{spec.type}' has kind '{spec.kind}'; plugins can add activity "
                          "components only (pure and control components run inside the interpreter)")
    if "." not in spec.type or spec.type.startswith((".", "wfo.")) or spec.type.endswith("."):
        raise PluginError(f"{where}: type '{spec.type}' must be dotted (e.g. 'acme.invoice') and not 'wfo.*'")
    if spec.type in taken:
        raise PluginError(f"{where}: type '{spec.type}' is already registered")
    if not inspect.iscoroutinefunction(getattr(cls, "run", None)):
        raise PluginError(f"{where}: {cls.__name__}.run must be 'async def run(self, config, ctx)'")
    try:
        cls()
    except Exception as err:
        raise PluginError(f"{where}: {cls.__name__}() failed: {type(err).__name__}: {err}") from err
    taken.add(spec.type)
    return cls


def load_plugins(taken: Iterable[str], eps: Iterable[EntryPoint] | None = None) -> list[type]:
    """Connector classes of every installed plugin (sorted by entry-point name). `taken`: types in use."""
    taken = set(taken)
    found = sorted(entry_points(group=ENTRY_POINT_GROUP) if eps is None else eps, key=lambda e: e.name)
    classes: list[type] = []
    for ep in found:
        try:
            obj = ep.load()
        except Exception as err:
            raise PluginError(f"{_where(ep)} failed to load: {type(err).__name__}: {err}") from err
        if inspect.isfunction(obj):
            try:
                obj = obj()
            except Exception as err:
                raise PluginError(f"{_where(ep)}: {obj.__name__}() failed: {type(err).__name__}: {err}") from err
        for cls in obj if isinstance(obj, (list, tuple)) else [obj]:
            classes.append(_check(cls, ep, taken))
    return classes
