"""Structural counts for issue 7 (run from a checkout's root): `python tools/layer_counts.py [ROOT]`.

- cross-package imports (all, and those breaking the layer table of docs/architecture.md)
- imports placed inside functions that reach another package ("lazy")
- raw SQL sites: string literals starting with SELECT/INSERT/UPDATE/DELETE/WITH in project code
- exception classes defined in the project that do not derive from the project's base error
"""

from __future__ import annotations

import ast
import collections
import re
import sys
from pathlib import Path

LAYER = {"workflows": 0, "wfo": 1, "connectors": 2, "activities": 3, "api": 4, "worker": 4, "cli": 5}
FORBIDDEN = {("api", "activities"), ("api", "worker"), ("worker", "api")}
SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\s", re.I)
BUILTIN_EXC = {"Exception", "ValueError", "KeyError", "RuntimeError", "TypeError", "LookupError", "OSError",
               "HTTPException"}


def main(root: Path) -> None:
    imports, lazy, violations, sql_sites = [], [], [], collections.Counter()
    classes: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        pkg = rel.parts[0]
        if pkg not in LAYER:
            continue
        tree = ast.parse(path.read_text())

        def visit(node: ast.AST, infunc: bool) -> None:
            for child in ast.iter_child_nodes(node):
                inner = infunc or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
                names: list[str] = []
                if isinstance(child, ast.Import):
                    names = [a.name for a in child.names]
                elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                    names = [child.module]
                for name in names:
                    dst = name.split(".")[0]
                    if dst in LAYER and dst != pkg:
                        imports.append((str(rel), name))
                        if infunc:
                            lazy.append((str(rel), name))
                        if LAYER[dst] > LAYER[pkg] or (pkg, dst) in FORBIDDEN:
                            violations.append((str(rel), name))
                if isinstance(child, ast.Constant) and isinstance(child.value, str) and SQL.match(child.value):
                    sql_sites[str(rel)] += 1
                if isinstance(child, ast.ClassDef):
                    bases = [b.id if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute) else ""
                             for b in child.bases]
                    classes[child.name] = bases
                visit(child, inner)

        visit(tree, False)

    def is_exception(name: str, seen=()) -> bool:
        return any(b in BUILTIN_EXC or (b in classes and b not in seen and is_exception(b, (*seen, b)))
                   for b in classes.get(name, []))

    def has_base(name: str, seen=()) -> bool:
        if name == "WfoError":
            return True
        return any(b == "WfoError" or (b in classes and b not in seen and has_base(b, (*seen, b)))
                   for b in classes.get(name, []))

    exceptions = sorted(n for n in classes if is_exception(n))
    without_base = [n for n in exceptions if not has_base(n)]
    print(f"cross-package imports      {len(imports)}")
    print(f"cross-layer violations     {len(violations)}")
    print(f"lazy cross-package imports {len(lazy)}")
    print(f"raw SQL sites              {sum(sql_sites.values())}  ({len(sql_sites)} files)")
    print(f"exception classes          {len(exceptions)}, without the common base: {len(without_base)}"
          + (f"  ({', '.join(without_base)})" if without_base else ""))
    if "-v" in sys.argv:
        for v in violations:
            print("  violation", *v)
        for f, n in sorted(sql_sites.items()):
            print("  sql", f, n)


if __name__ == "__main__":
    main(Path(next((a for a in sys.argv[1:] if a != "-v"), ".")))
