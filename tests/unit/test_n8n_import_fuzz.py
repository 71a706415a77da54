"""Odd n8n exports never crash the importer: it answers with a definition and untranslatable items, or a
format error listing the problems (the API turns both into answers, never a 500)."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

from connectors.registry import default_registry
from workflows.n8n_import import N8nFormatError, import_n8n
from workflows.validation import validate_definition

FIXTURES = sorted((Path(__file__).resolve().parents[1] / "n8n" / "fixtures").glob("*.json"))
ODD_VALUES = [None, "", "x", "={{ }}", "={{ $json. }}", "={{ ((( }}", 0, -1, 1.5, True, [], {}, [None], {"a": None},
              "={{ $json.a }}", {"__rl": True, "value": 3}]


def _paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, path + (i,))


def _set(doc, path, value):
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def test_mutated_fixtures_translate_or_report():
    rng = random.Random(20261201)
    registry = default_registry()
    checked = 0
    for f in FIXTURES:
        base = json.loads(f.read_text())
        paths = [p for p in _paths(base) if p and p[0] in ("nodes", "connections")]
        for _ in range(60):
            doc = copy.deepcopy(base)
            for _ in range(rng.randint(1, 3)):
                path = rng.choice(paths)
                try:
                    _set(doc, path, copy.deepcopy(rng.choice(ODD_VALUES)))
                except (KeyError, IndexError, TypeError):
                    continue
            try:
                result = import_n8n(doc)
            except N8nFormatError as err:
                assert err.problems and all(isinstance(p, str) for p in err.problems)
                continue
            for u in result.untranslatable:
                assert set(u) == {"node", "type", "reason"} and u["reason"]
            validate_definition(result.definition, registry)  # must not raise either
            checked += 1
    assert checked > 100
