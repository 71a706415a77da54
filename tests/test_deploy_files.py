"""Static checks of the deployment files (docker-compose.yml, .env.example, k8s/*.yaml).

Fast and offline: nothing is started, no Docker or cluster is needed. PyYAML is not a project
dependency, so the module is skipped where it is not installed."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from wfo.settings import Settings
from wfo.temporal import SEARCH_ATTRIBUTES

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
K8S_FILES = sorted((ROOT / "k8s").glob("*.yaml"))

SUBCOMMANDS = {"api", "worker", "migrate", "dev", "validate", "run", "gc", "replay", "credentials", "audit"}
SETTINGS_ENV = {name.upper() for name in Settings.model_fields}
WORKFLOW_SECRET_PREFIX = "WFO_SECRET_"  # `secret://NAME` -> env WFO_SECRET_NAME on the worker (activities/services.py)
WFO_COMPOSE_SERVICES = {"migrate", "api", "worker"}


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _k8s_docs() -> list[dict]:
    return [doc for path in K8S_FILES for doc in yaml.safe_load_all(path.read_text()) if doc]


def _pod_specs() -> dict[str, dict]:
    """name of the Deployment/Job -> its pod spec."""
    specs = {doc["metadata"]["name"]: doc["spec"]["template"]["spec"]
             for doc in _k8s_docs() if doc["kind"] in ("Deployment", "Job", "StatefulSet", "DaemonSet")}
    specs.update({doc["metadata"]["name"]: doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
                  for doc in _k8s_docs() if doc["kind"] == "CronJob"})
    return specs


def _containers() -> list[dict]:
    return [c for spec in _pod_specs().values()
            for c in [*spec.get("initContainers", []), *spec["containers"]]]


def _env_example() -> dict[str, str]:
    out = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def _unknown_env(names) -> set[str]:
    return {n for n in names if n not in SETTINGS_ENV and not n.startswith(WORKFLOW_SECRET_PREFIX)}


def _assert_wfo_command(argv: list[str], where: str) -> None:
    assert isinstance(argv, list) and len(argv) >= 2, f"{where}: command should be a list like ['wfo', 'worker']"
    assert argv[0] == "wfo", f"{where}: command {argv} does not run wfo"
    assert argv[1] in SUBCOMMANDS, f"{where}: {argv[1]!r} is not a wfo subcommand ({sorted(SUBCOMMANDS)})"


def test_subcommand_set_matches_cli():
    """The set above is the one cli.main declares (read from its source; nothing is run)."""
    tree = ast.parse((ROOT / "cli" / "main.py").read_text())
    declared = {node.args[0].value for node in ast.walk(tree)
                if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_parser"
                and node.args and isinstance(node.args[0], ast.Constant)}
    assert declared == SUBCOMMANDS


def test_all_files_load():
    assert isinstance(_compose()["services"], dict)
    assert K8S_FILES, "no k8s/*.yaml"
    for path in K8S_FILES:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        assert docs, f"{path.name} is empty"
        for doc in docs:
            assert {"apiVersion", "kind", "metadata"} <= set(doc), f"{path.name}: not a Kubernetes object"


def test_compose_wfo_services_run_wfo_subcommands_on_one_image():
    services = _compose()["services"]
    assert WFO_COMPOSE_SERVICES <= set(services)
    ours = {name: s for name, s in services.items() if "build" in s or name in WFO_COMPOSE_SERVICES}
    assert set(ours) == WFO_COMPOSE_SERVICES
    for name, service in ours.items():
        _assert_wfo_command(service["command"], f"compose service {name}")
    assert [services[n]["command"][1] for n in ("migrate", "api", "worker")] == ["migrate", "api", "worker"]
    assert len({services[n]["image"] for n in WFO_COMPOSE_SERVICES}) == 1
    assert services["api"]["image"] == services["worker"]["image"]


def test_compose_dependencies_and_api_healthcheck():
    services = _compose()["services"]
    for name in ("api", "worker"):
        deps = services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully"
        for dep in deps:
            assert dep in services, f"{name} depends on unknown service {dep}"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    api = services["api"]
    assert "5000:5000" in api["ports"]
    assert "/health" in " ".join(api["healthcheck"]["test"])
    assert services["postgres"]["image"].split(":")[1].startswith("16")
    assert services["redis"]["image"].split(":")[1].startswith("7")


def test_compose_registers_the_search_attributes():
    services = _compose()["services"]
    script = "\n".join(
        " ".join(s["command"]) if isinstance(s.get("command"), list) else str(s.get("command", ""))
        for s in services.values()
    )
    registered = dict(re.findall(r"search-attribute create\b[^\n]*?--name (\w+) --type (\w+)", script))
    expected = {key.name: ("Int" if key.value_type is int else "Keyword") for key in SEARCH_ATTRIBUTES}
    assert expected == {"WfoWorkflowId": "Keyword", "WfoWorkflowVersion": "Int",
                        "WfoTrigger": "Keyword", "WfoTenant": "Keyword"}
    assert registered == expected


def test_compose_env_names_are_settings():
    env = _env_example()
    unknown = _unknown_env(env)
    assert not unknown, f".env.example has names Settings does not read: {sorted(unknown)}"
    for name in WFO_COMPOSE_SERVICES:
        service = _compose()["services"][name]
        environment = service.get("environment") or {}
        names = set(environment) if isinstance(environment, dict) else {e.split("=", 1)[0] for e in environment}
        assert not _unknown_env(names), f"{name}: {sorted(_unknown_env(names))}"
        files = [f["path"] if isinstance(f, dict) else f for f in service["env_file"]]
        assert ".env.example" in files


def test_placeholder_secret_key_is_refused_in_production():
    """The SECRET_KEY shipped in .env.example and in the k8s Secret template must not be usable."""
    secret_docs = [d for d in _k8s_docs() if d["kind"] == "Secret"]
    placeholders = [_env_example()["SECRET_KEY"], *(d["stringData"]["SECRET_KEY"] for d in secret_docs)]
    assert len(placeholders) == 2
    for placeholder in placeholders:
        with pytest.raises(ValidationError, match="SECRET_KEY"):
            Settings(_env_file=None, environment="production", secret_key=placeholder)


def test_k8s_containers_run_wfo_subcommands_on_one_image():
    specs = _pod_specs()
    assert {"wfo-api", "wfo-worker", "wfo-migrate"} <= set(specs)
    for container in _containers():
        _assert_wfo_command([*container.get("command", []), *container.get("args", [])],
                            f"k8s container {container['name']}")
    images = {name: spec["containers"][0]["image"] for name, spec in specs.items()}
    assert images["wfo-api"] == images["wfo-worker"] == images["wfo-migrate"] == images["wfo-gc"]


def test_k8s_env_names_are_settings():
    for doc in _k8s_docs():
        if doc["kind"] in ("ConfigMap", "Secret"):
            keys = set(doc.get("data") or {}) | set(doc.get("stringData") or {})
            assert not _unknown_env(keys), f"{doc['kind']} {doc['metadata']['name']}: {sorted(_unknown_env(keys))}"
    for container in _containers():
        names = {e["name"] for e in container.get("env", [])}
        assert not _unknown_env(names), f"{container['name']}: {sorted(_unknown_env(names))}"


def test_k8s_objects():
    docs = _k8s_docs()
    by_kind: dict[str, list[dict]] = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], []).append(doc)
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == "wfo", f"{doc['kind']} {doc['metadata']['name']}"
    api = next(d for d in by_kind["Deployment"] if d["metadata"]["name"] == "wfo-api")
    container = api["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"
    assert "livenessProbe" in container
    worker = next(d for d in by_kind["Deployment"] if d["metadata"]["name"] == "wfo-worker")
    assert worker["spec"]["replicas"] == 2
    assert by_kind["Service"] and all(s["metadata"]["name"] == "wfo-api" for s in by_kind["Service"])
    (hpa,) = by_kind["HorizontalPodAutoscaler"]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "wfo-worker"
    external = [m["external"] for m in hpa["spec"]["metrics"] if m["type"] == "External"]
    assert external and external[0]["metric"]["name"] == "workflow_queue_depth"  # scales on the backlog
    (pdb,) = by_kind["PodDisruptionBudget"]
    assert pdb["spec"]["selector"]["matchLabels"] == api["spec"]["selector"]["matchLabels"]
    service = by_kind["Service"][0]
    assert service["spec"]["selector"] == api["spec"]["selector"]["matchLabels"]
    for spec in _pod_specs().values():
        assert spec["securityContext"]["runAsNonRoot"] is True


def test_env_example_parses_and_docs_list_every_setting(monkeypatch):
    for name in SETTINGS_ENV:  # real environment variables would win over the file
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=ENV_EXAMPLE, secret_key="a-real-secret")
    assert settings.environment == "production" and settings.outbound_allowlist == []
    assert settings.temporal_address == "temporal:7233"
    docs = (ROOT / "docs" / "deployment.md").read_text()
    missing = sorted(name for name in SETTINGS_ENV if f"`{name}`" not in docs)
    assert not missing, f"docs/deployment.md does not describe {missing}"
