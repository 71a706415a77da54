"""Custom components: the example package under tests/plugins/ is pip-installed into a temporary target,
found through the `wfo.components` entry-point group and run by a real worker; broken plugins stop the
worker and the API at start with a message naming them."""

from __future__ import annotations

import asyncio
import shutil
import sys
import tomllib
from pathlib import Path

import pytest

from api.main import create_app
from connectors import registry
from connectors.plugins import PluginError
from tests.helpers import defn, node
from wfo.executions import start_execution
from worker.main import build_worker
from workflows.validation import validate_definition

PACKAGE = Path(__file__).resolve().parents[1] / "plugins" / "wfo_example_component"


def _use(path: Path | None):
    """Put `path` on sys.path (None: take it off) and make the registry load plugins afresh."""
    registry.plugin_classes.cache_clear()
    registry.default_registry.cache_clear()
    if path is not None:
        sys.path.insert(0, str(path))


def _unuse(path: Path) -> None:
    sys.path.remove(str(path))
    for name in [m for m in sys.modules if m.startswith("wfo_example_component")]:
        del sys.modules[name]
    _use(None)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """What `pip install tests/plugins/wfo_example_component` leaves in site-packages: the package and a
    dist-info whose entry_points.txt is generated from the package's own pyproject.toml."""
    project = tomllib.loads((PACKAGE / "pyproject.toml").read_text())["project"]
    target = tmp_path_factory.mktemp("site")
    shutil.copytree(PACKAGE / "wfo_example_component", target / "wfo_example_component")
    dist = target / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
    groups = project["entry-points"]
    (dist / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{name} = {value}\n" for name, value in eps.items()) for group, eps in groups.items()))
    _use(target)
    yield target
    _unuse(target)


def _broken(tmp_path: Path, entry: str) -> Path:
    dist = tmp_path / "acme_broken-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-broken\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[wfo.components]\nacme = {entry}\n")
    return tmp_path


def test_plugin_component_is_in_the_palette(installed):
    spec = registry.default_registry().get("example.slugify")
    assert spec is not None and spec.kind == "activity" and spec.category == "data"
    assert "example.slugify" in [c.spec.type for c in registry.connectors()]
    assert spec.describe()["title"] == "Slugify"


async def test_plugin_component_runs_in_an_execution(installed, temporal_env, settings):
    flow = defn([node("start", "start"), node("slug", "example.slugify", text="{{ input.title }}", separator="_"),
                 node("end", "end", output="{{ nodes.slug }}")], ["start->slug", "slug->end"])
    assert validate_definition(flow, registry.default_registry()) == []
    async with build_worker(temporal_env.client, settings):
        handle = await start_execution(temporal_env.client, definition=flow, input={"title": "Crème Brûlée, 2 ways!"},
                                       task_queue=settings.temporal_task_queue)
        assert await asyncio.wait_for(handle.result(), 60) == {"slug": "creme_brulee_2_ways", "node": "slug"}


@pytest.mark.parametrize("entry, why", [
    ("acme_missing_module:Thing", "failed to load: ModuleNotFoundError"),
    ("json:JSONDecoder", "JSONDecoder.spec must be a workflows.components.ComponentSpec"),
    ("connectors.http:HttpRequest", "type 'http.request' is already registered"),
])
def test_broken_plugin_stops_the_worker_and_the_api_at_start(tmp_path, temporal_env, settings, entry, why):
    path = _broken(tmp_path, entry)
    _use(path)
    try:
        with pytest.raises(PluginError) as info:
            build_worker(temporal_env.client, settings)
        assert "component plugin 'acme'" in str(info.value) and "acme-broken 1.0" in str(info.value)
        assert why in str(info.value)
        with pytest.raises(PluginError):
            create_app(settings)
    finally:
        sys.path.remove(str(path))
        _use(None)
    assert registry.default_registry().get("http.request") is not None  # gone with the plugin
