"""`file`: read, write, list and delete files under the worker's configured root (FILES_ROOT) only.

Each tenant has its own folder `<FILES_ROOT>/<tenant id>/`; paths in configs are relative to it.
Absolute paths, `..` segments, NUL bytes and symbolic links leading outside the tenant's folder are refused
(non-retryable `PathRefused`): the path is resolved (symlinks followed) and must stay inside the folder.
Contents are text (UTF-8) or base64 (`encoding: base64`); reads are bounded by `max_bytes`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from pathlib import Path
from typing import Any, ClassVar

from connectors.base import ComponentError, NodeContext
from connectors.common import content_bytes, content_text, validate_config
from workflows.components import ComponentSpec

DEFAULT_MAX_BYTES = 1024 * 1024
MAX_ENTRIES = 10_000


def _refuse(path: str, why: str) -> ComponentError:
    return ComponentError(f"file: path {path!r} refused: {why}", retryable=False, type="PathRefused",
                          details={"field": "config.path"})


def tenant_root(files_root: str | None, tenant_id: str | None) -> Path:
    if not files_root:
        raise ComponentError("file: this worker has no FILES_ROOT configured", retryable=False,
                             type="FileStorageDisabled")
    root = Path(files_root)
    if not root.is_dir():
        raise ComponentError("file: the worker's FILES_ROOT is not available", retryable=True,
                             type="FileStorageUnavailable")
    folder = root / (str(tenant_id) if tenant_id else "_no_tenant")
    folder.mkdir(exist_ok=True)
    return folder.resolve()


def safe_path(folder: Path, path: str) -> Path:
    """`path` inside `folder`, or `PathRefused` (absolute, `..`, NUL, or resolving outside through links)."""
    if "\x00" in path:
        raise _refuse(path, "NUL byte")
    if path.startswith(("/", "\\")) or (len(path) > 1 and path[1] == ":"):
        raise _refuse(path, "absolute paths are not allowed")
    if any(part == ".." for part in path.replace("\\", "/").split("/")):
        raise _refuse(path, "'..' is not allowed")
    target = (folder / path).resolve()
    if target != folder and folder not in target.parents:
        raise _refuse(path, "it leads outside the files folder")
    return target


class FileOps:
    spec: ClassVar[ComponentSpec] = ComponentSpec(
        "file", "activity",
        "Reads, writes, lists or deletes files in the tenant's folder under the worker's FILES_ROOT.",
        {
            "type": "object",
            "required": ["operation", "path"],
            "properties": {
                "operation": {"enum": ["read", "write", "list", "delete"], "title": "Operation"},
                "path": {"type": "string", "minLength": 1, "title": "Path (relative to the files folder)"},
                "content": {"type": "string", "title": "Content (write)"},
                "encoding": {"enum": ["utf-8", "base64"], "default": "utf-8"},
                "mode": {"enum": ["overwrite", "append", "create"], "default": "overwrite",
                         "description": "write: create fails when the file exists"},
                "max_bytes": {"type": "integer", "minimum": 1, "maximum": 64 * 1024 * 1024,
                              "default": DEFAULT_MAX_BYTES},
                "pattern": {"type": "string", "default": "*", "description": "list: glob pattern"},
                "recursive": {"type": "boolean", "default": False},
            },
            "allOf": [{"if": {"properties": {"operation": {"const": "write"}}}, "then": {"required": ["content"]}}],
            "additionalProperties": False,
        },
        category="integration", title="Files", icon="folder",
        output_schema={"type": "object", "properties": {
            "path": {"type": "string"}, "content": {"type": "string"}, "encoding": {"type": "string"},
            "size": {"type": "integer"}, "entries": {"type": "array"}, "deleted": {"type": "boolean"},
            "truncated": {"type": "boolean"}}},
        idempotent=False,
        docs="`read`, `list` and `overwrite` writes are idempotent, `append` is not, `create` fails on a retry "
             "after it succeeded. Paths never leave the tenant's folder; the worker needs FILES_ROOT.",
        example={"operation": "write", "path": "reports/{{ input.day }}.csv", "content": "{{ nodes.csv }}"},
    )

    async def run(self, config: dict[str, Any], ctx: NodeContext) -> Any:
        validate_config(self.spec, config)
        folder = tenant_root(ctx.services.settings.files_root, ctx.tenant_id)
        target = safe_path(folder, config["path"])
        try:
            return await asyncio.to_thread(self._run, folder, target, config)
        except ComponentError:
            raise
        except FileNotFoundError:
            raise ComponentError(f"file: {config['path']!r} does not exist", retryable=False,
                                 type="FileNotFound") from None
        except FileExistsError:
            raise ComponentError(f"file: {config['path']!r} exists already (mode create)", retryable=False,
                                 type="FileExists") from None
        except (IsADirectoryError, NotADirectoryError, PermissionError) as err:
            raise ComponentError(f"file: {config['path']!r}: {err.strerror}", retryable=False,
                                 type="FileError") from None
        except OSError as err:  # disk full, I/O error: may pass
            raise ComponentError(f"file: {config['path']!r}: {err.strerror or type(err).__name__}", retryable=True,
                                 type="FileStorageUnavailable") from None

    def _run(self, folder: Path, target: Path, c: dict[str, Any]) -> dict[str, Any]:
        rel = str(target.relative_to(folder)) if target != folder else "."
        op = c["operation"]
        if op == "read":
            limit = int(c.get("max_bytes") or DEFAULT_MAX_BYTES)
            with open(target, "rb") as fh:
                data = fh.read(limit + 1)
            truncated = len(data) > limit
            data = data[:limit]
            content, encoding = content_text(data, c.get("encoding"))
            return {"path": rel, "content": content, "encoding": encoding, "size": target.stat().st_size,
                    "truncated": truncated}
        if op == "write":
            data = content_bytes(c, "file")
            target.parent.mkdir(parents=True, exist_ok=True)
            safe_path(folder, rel)  # the parents created must not have changed where it leads
            mode = {"overwrite": "wb", "append": "ab", "create": "xb"}[c.get("mode") or "overwrite"]
            flags = os.O_NOFOLLOW if hasattr(os, "O_NOFOLLOW") else 0
            fd = os.open(target, {"wb": os.O_WRONLY | os.O_CREAT | os.O_TRUNC, "ab": os.O_WRONLY | os.O_CREAT
                                  | os.O_APPEND, "xb": os.O_WRONLY | os.O_CREAT | os.O_EXCL}[mode] | flags, 0o640)
            with os.fdopen(fd, "ab" if mode == "ab" else "wb") as fh:
                fh.write(data)
            return {"path": rel, "size": target.stat().st_size}
        if op == "delete":
            if target == folder:
                raise _refuse(c["path"], "cannot delete the files folder")
            try:
                target.unlink()
            except FileNotFoundError:
                return {"path": rel, "deleted": False}
            return {"path": rel, "deleted": True}
        pattern = c.get("pattern") or "*"
        if "/" in pattern and ".." in pattern:
            raise _refuse(pattern, "'..' is not allowed")
        found = target.rglob(pattern) if c.get("recursive") else target.glob(pattern)
        entries = []
        for item in sorted(found):
            real = item.resolve()
            if real != folder and folder not in real.parents:
                continue  # a link leading outside: not listed
            st = item.stat()
            entries.append({"name": item.name, "path": str(item.relative_to(folder)),
                            "type": "directory" if item.is_dir() else "file", "size": st.st_size,
                            "modified": dt.datetime.fromtimestamp(st.st_mtime, dt.UTC).isoformat()})
            if len(entries) >= MAX_ENTRIES:
                break
        return {"path": rel, "entries": entries, "truncated": len(entries) >= MAX_ENTRIES}
