"""`sftp` against an asyncssh SFTP server on loopback (password login, chrooted to a temp folder)."""

from __future__ import annotations

import asyncssh
import pytest

from connectors.base import ComponentError
from connectors.registry import default_registry
from connectors.sftp_ops import SftpOps
from tests.connectors.conftest import FAST_RETRY
from tests.helpers import defn, node
from workflows.validation import validate_definition

C = SftpOps()
PASSWORD = "sftp-pw-123"


class _Server(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == "ann" and password == PASSWORD


@pytest.fixture
async def sftp_server(tmp_path):
    root = tmp_path / "remote"
    root.mkdir()
    key = asyncssh.generate_private_key("ssh-ed25519")
    server = await asyncssh.create_server(
        _Server, "127.0.0.1", 0, server_host_keys=[key],
        sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=str(root).encode()))
    port = server.sockets[0].getsockname()[1]
    known = f"[127.0.0.1]:{port} {key.export_public_key().decode().strip()}"
    yield root, port, known
    server.close()
    await server.wait_closed()


async def test_upload_download_list_delete(vault, sftp_server):
    root, port, known = sftp_server
    cred = await vault.add("partner", "sftp", {"host": "127.0.0.1", "port": port, "username": "ann",
                                               "password": PASSWORD, "known_hosts": known})
    out = await C.run({"credential": cred, "operation": "upload", "path": "inbox/a.csv", "content": "x,y\n"},
                      vault.ctx())
    assert out == {"path": "inbox/a.csv", "size": 4}
    assert (root / "inbox" / "a.csv").read_text() == "x,y\n"
    (root / "inbox" / "b.bin").write_bytes(bytes(range(200)))
    got = await C.run({"credential": cred, "operation": "download", "path": "inbox/a.csv"}, vault.ctx())
    assert got["content"] == "x,y\n" and got["encoding"] == "utf-8"
    listed = await C.run({"credential": cred, "operation": "list", "path": "inbox"}, vault.ctx())
    assert [(e["name"], e["type"], e["size"]) for e in listed["entries"]] == [("a.csv", "file", 4),
                                                                              ("b.bin", "file", 200)]
    assert (await C.run({"credential": cred, "operation": "delete", "path": "inbox/a.csv"}, vault.ctx()))["deleted"]
    assert not (root / "inbox" / "a.csv").exists()
    assert (await C.run({"credential": cred, "operation": "delete", "path": "inbox/a.csv"},
                        vault.ctx()))["deleted"] is False
    with pytest.raises(ComponentError) as exc:
        await C.run({"credential": cred, "operation": "download", "path": "nope.txt"}, vault.ctx())
    assert exc.value.type == "SftpNotFound" and not exc.value.retryable


async def test_wrong_password_and_host_key_not_retried(vault, sftp_server):
    root, port, known = sftp_server
    bad = await vault.add("partner-bad", "sftp", {"host": "127.0.0.1", "port": port, "username": "ann",
                                                  "password": "wrong-pw-1"})
    with pytest.raises(ComponentError) as exc:
        await C.run({"credential": bad, "operation": "list", "path": "."}, vault.ctx())
    assert exc.value.type == "SftpAuthError" and not exc.value.retryable
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    pinned = await vault.add("partner-pin", "sftp", {"host": "127.0.0.1", "port": port, "username": "ann",
                                                     "password": PASSWORD, "known_hosts": f"[127.0.0.1]:{port} {other}"})
    with pytest.raises(ComponentError) as exc:
        await C.run({"credential": pinned, "operation": "list", "path": "."}, vault.ctx())
    assert not exc.value.retryable


def test_bad_config_names_the_field():
    d = defn([node("start", "start"), node("s", "sftp", credential="c", operation="move", path="a"),
              node("end", "end")], ["start->s", "s->end"])
    assert [(p.node_id, p.field) for p in validate_definition(d, default_registry())] == [("s", "config.operation")]


async def test_peer_down_retryable_then_error_port(vault, run_node):
    cred = await vault.add("sftp-down", "sftp", {"host": "127.0.0.1", "port": 1, "username": "ann",
                                                 "password": PASSWORD})
    cfg = {"credential": cred, "operation": "list", "path": ".", "timeout_seconds": 2}
    with pytest.raises(ComponentError) as exc:
        await C.run(cfg, vault.ctx())
    assert exc.value.retryable and exc.value.type == "SftpConnectionError"
    flow = await run_node("sftp", cfg, retry=FAST_RETRY)
    assert flow.result["error"]["type"] == "SftpConnectionError" and flow.result["error"]["attempts"] == 2
