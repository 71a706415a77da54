"""`file` under a configured root: write then read back with the OS, listing, and path traversal refused."""

from __future__ import annotations

import base64
import os
from types import SimpleNamespace

import pytest

from connectors.base import ComponentError
from connectors.file_ops import FileOps
from connectors.registry import default_registry
from tests.helpers import defn, node
from wfo.settings import Settings
from workflows.validation import validate_definition

C = FileOps()


@pytest.fixture
def root(tmp_path, vault):
    (tmp_path / "files").mkdir()
    (tmp_path / "outside.txt").write_text("not yours")
    vault.ctx_services = SimpleNamespace(settings=Settings(environment="test", files_root=str(tmp_path / "files")))
    return tmp_path


def ctx(vault):
    c = vault.ctx()
    c.services = vault.ctx_services
    return c


async def test_write_read_list_delete(vault, root):
    folder = root / "files" / str(vault.tenant_id)
    out = await C.run({"operation": "write", "path": "reports/day 1.csv", "content": "a,b\n1,2\n"}, ctx(vault))
    assert out == {"path": "reports/day 1.csv", "size": 8}
    assert (folder / "reports" / "day 1.csv").read_text() == "a,b\n1,2\n"
    await C.run({"operation": "write", "path": "reports/day 1.csv", "content": "3,4\n", "mode": "append"}, ctx(vault))
    got = await C.run({"operation": "read", "path": "reports/day 1.csv"}, ctx(vault))
    assert got["content"] == "a,b\n1,2\n3,4\n" and got["encoding"] == "utf-8" and got["truncated"] is False
    part = await C.run({"operation": "read", "path": "reports/day 1.csv", "max_bytes": 3}, ctx(vault))
    assert part["content"] == "a,b" and part["truncated"] is True
    raw = bytes(range(256))
    await C.run({"operation": "write", "path": "bin/x.bin", "content": base64.b64encode(raw).decode(),
                 "encoding": "base64"}, ctx(vault))
    assert (folder / "bin" / "x.bin").read_bytes() == raw
    assert (await C.run({"operation": "read", "path": "bin/x.bin"}, ctx(vault)))["encoding"] == "base64"
    with pytest.raises(ComponentError) as exc:
        await C.run({"operation": "write", "path": "bin/x.bin", "content": "x", "mode": "create"}, ctx(vault))
    assert exc.value.type == "FileExists"
    listed = await C.run({"operation": "list", "path": ".", "pattern": "*.csv", "recursive": True}, ctx(vault))
    assert [e["path"] for e in listed["entries"]] == ["reports/day 1.csv"]
    assert (await C.run({"operation": "delete", "path": "bin/x.bin"}, ctx(vault)))["deleted"] is True
    assert not (folder / "bin" / "x.bin").exists()


@pytest.mark.parametrize("path", ["../outside.txt", "/etc/passwd", "a/../../outside.txt", "..", "x\x00y",
                                  "link/outside.txt", "escape"])
async def test_traversal_refused(vault, root, path):
    folder = root / "files" / str(vault.tenant_id)
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "link").exists():
        os.symlink(root, folder / "link")
        os.symlink(root / "outside.txt", folder / "escape")
    for op in ("read", "write", "delete"):
        cfg = {"operation": op, "path": path, **({"content": "pwned"} if op == "write" else {})}
        with pytest.raises(ComponentError) as exc:
            await C.run(cfg, ctx(vault))
        assert exc.value.type == "PathRefused" and not exc.value.retryable
    assert (root / "outside.txt").read_text() == "not yours"


async def test_other_tenants_folder_is_out_of_reach(vault, root):
    other = root / "files" / "someone-else"
    other.mkdir()
    (other / "secret.txt").write_text("theirs")
    with pytest.raises(ComponentError) as exc:
        await C.run({"operation": "read", "path": "../someone-else/secret.txt"}, ctx(vault))
    assert exc.value.type == "PathRefused"


def test_bad_config_names_the_field():
    d = defn([node("start", "start"), node("f", "file", operation="write", path="a.txt"), node("end", "end")],
             ["start->f", "f->end"])
    problems = validate_definition(d, default_registry())
    assert problems and problems[0].node_id == "f" and "content" in problems[0].message


async def test_storage_down_retryable_then_error_port(vault, run_node, settings, tmp_path):
    settings.files_root = str(tmp_path / "not-mounted")
    with pytest.raises(ComponentError) as exc:
        await C.run({"operation": "read", "path": "a.txt"}, vault.ctx())
    assert exc.value.retryable and exc.value.type == "FileStorageUnavailable"
    flow = await run_node("file", {"operation": "read", "path": "a.txt"},
                          retry={"max_attempts": 2, "initial_interval": "PT0.1S", "backoff_coefficient": 1.0})
    assert flow.result["error"]["type"] == "FileStorageUnavailable" and flow.result["error"]["attempts"] == 2
