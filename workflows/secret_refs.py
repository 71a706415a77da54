"""Which `secret://NAME` references of a node config may be resolved: only literal ones.

A reference is honoured only where the *stored definition* has it literally: a string value of the
node's raw config that contains ``secret://`` and no ``{{ }}`` template. Values produced by expressions
(and so by execution input, webhook bodies...) are never resolved, so input cannot choose which secret
is read. The interpreter computes these paths from the raw config and passes them to the activity,
which resolves exactly these paths of the rendered config (rendering leaves template-free strings
untouched, so the value found there is the literal one).

Pure and deterministic (used inside the workflow).
"""

from __future__ import annotations

from typing import Any

SECRET_PREFIX = "secret://"

Path = list[str | int]


def literal_secret_paths(config: Any) -> list[Path]:
    """Paths (keys and list indexes) of template-free strings containing ``secret://`` in `config`."""
    found: list[Path] = []

    def walk(value: Any, path: Path) -> None:
        if isinstance(value, str):
            if SECRET_PREFIX in value and "{{" not in value:
                found.append(list(path))
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, [*path, str(key)])
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, [*path, i])

    walk(config, [])
    return found
