"""`sftp`: upload, download, list and delete files on an SFTP server (asyncssh) with an `sftp` credential
(password or private key; `known_hosts` lines pin the server's host key — without them the host key is
not checked, say so in the credential's description).

Each run opens one SSH connection. Unreachable servers and dropped connections are retried; refused
logins, missing files and permission errors are not. Downloads are bounded by `max_bytes`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import posixpath
import stat
from typing import Any, ClassVar

import asyncssh

from connectors.base import ComponentError, NodeContext
from connectors.common import content_bytes, content_text, credential_field, validate_config
from workflows.components import ComponentSpec

DEFAULT_MAX_BYTES = 5 * 1024 * 1024


class SftpOps:
    spec: ClassVar[ComponentSpec] = ComponentSpec(
        "sftp", "activity",
        "Uploads, downloads, lists or deletes files on an SFTP server.",
        {
            "type": "object",
            "required": ["credential", "operation", "path"],
            "properties": {
                "credential": credential_field("sftp"),
                "operation": {"enum": ["upload", "download", "list", "delete"], "title": "Operation"},
                "path": {"type": "string", "minLength": 1, "title": "Remote path"},
                "content": {"type": "string", "title": "Content (upload)"},
                "encoding": {"enum": ["utf-8", "base64"], "default": "utf-8"},
                "make_dirs": {"type": "boolean", "default": True, "description": "upload: create missing folders"},
                "max_bytes": {"type": "integer", "minimum": 1, "maximum": 64 * 1024 * 1024,
                              "default": DEFAULT_MAX_BYTES},
                "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 600},
            },
            "allOf": [{"if": {"properties": {"operation": {"const": "upload"}}}, "then": {"required": ["content"]}}],
            "additionalProperties": False,
        },
        category="integration", title="SFTP", icon="server",
        output_schema={"type": "object", "properties": {
            "path": {"type": "string"}, "size": {"type": "integer"}, "content": {"type": "string"},
            "encoding": {"type": "string"}, "entries": {"type": "array"}, "deleted": {"type": "boolean"}}},
        idempotent=True,
        docs="Uploads overwrite the remote file with the same content on a retry and deleting a missing file "
             "succeeds (`deleted: false`), so every operation is idempotent.",
        example={"credential": "partner-sftp", "operation": "upload", "path": "inbox/{{ input.id }}.csv",
                 "content": "{{ nodes.csv }}"},
    )

    async def run(self, config: dict[str, Any], ctx: NodeContext) -> Any:
        validate_config(self.spec, config)
        v = await ctx.credential(config["credential"], "sftp")
        host, port = str(v["host"]), int(v.get("port") or 22)
        where = f"{host}:{port}"
        timeout = float(config.get("timeout_seconds") or 30)
        options: dict[str, Any] = {"username": v["username"], "connect_timeout": timeout,
                                   "known_hosts": asyncssh.import_known_hosts(v["known_hosts"])
                                   if v.get("known_hosts") else None}
        if v.get("private_key"):
            try:
                options["client_keys"] = [asyncssh.import_private_key(v["private_key"])]
            except (asyncssh.KeyImportError, ValueError):
                raise ComponentError("sftp: the credential's private_key cannot be read", retryable=False,
                                     type="SftpConfigError") from None
        if v.get("password"):
            options["password"] = v["password"]
        try:
            async with asyncio.timeout(timeout * 2):
                async with asyncssh.connect(host, port, **options) as conn, conn.start_sftp_client() as sftp:
                    return await self._op(sftp, config)
        except ComponentError:
            raise
        except asyncssh.PermissionDenied:
            raise ComponentError(f"sftp: login to {where} refused", retryable=False, type="SftpAuthError") from None
        except asyncssh.HostKeyNotVerifiable:
            raise ComponentError(f"sftp: the host key of {where} does not match known_hosts", retryable=False,
                                 type="SftpHostKeyError") from None
        except asyncssh.SFTPNoSuchFile:
            raise ComponentError(f"sftp: {config['path']!r} does not exist on {where}", retryable=False,
                                 type="SftpNotFound") from None
        except asyncssh.SFTPError as err:
            raise ComponentError(f"sftp {config['operation']} {config['path']!r} on {where}: {err.reason}",
                                 retryable=False, type="SftpError") from None
        except (OSError, asyncssh.Error, TimeoutError) as err:
            raise ComponentError(f"sftp: cannot reach {where}: {type(err).__name__}", retryable=True,
                                 type="SftpConnectionError") from None

    async def _op(self, sftp: asyncssh.SFTPClient, c: dict[str, Any]) -> dict[str, Any]:
        path, op = c["path"], c["operation"]
        if op == "upload":
            data = content_bytes(c, "sftp")
            parent = posixpath.dirname(path)
            if parent and c.get("make_dirs", True):
                await sftp.makedirs(parent, exist_ok=True)
            async with sftp.open(path, "wb") as fh:
                await fh.write(data)
            return {"path": path, "size": len(data)}
        if op == "download":
            limit = int(c.get("max_bytes") or DEFAULT_MAX_BYTES)
            size = (await sftp.stat(path)).size or 0
            if size > limit:
                raise ComponentError(f"sftp: {path!r} is {size} bytes, over max_bytes {limit}", retryable=False,
                                     type="SftpFileTooLarge")
            async with sftp.open(path, "rb") as fh:
                data = await fh.read()
            content, encoding = content_text(data, c.get("encoding"))
            return {"path": path, "size": len(data), "content": content, "encoding": encoding}
        if op == "delete":
            try:
                await sftp.remove(path)
            except asyncssh.SFTPNoSuchFile:
                return {"path": path, "deleted": False}
            return {"path": path, "deleted": True}
        entries = []
        for item in sorted(await sftp.readdir(path), key=lambda e: e.filename):
            if item.filename in (".", ".."):
                continue
            attrs = item.attrs
            entries.append({"name": item.filename, "type": "directory" if attrs.permissions is not None
                            and stat.S_ISDIR(attrs.permissions) else "file", "size": attrs.size,
                            "modified": dt.datetime.fromtimestamp(attrs.mtime, dt.UTC).isoformat()
                            if attrs.mtime is not None else None})
        return {"path": path, "entries": entries}
