"""A throw-away Dovecot IMAP server on 127.0.0.1 (Debian `dovecot-imapd`), one user, maildir in a temp folder."""

from __future__ import annotations

import imaplib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.localpeers import free_port

CONF = """base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{d}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={d}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


class Dovecot:
    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user, password
        self.dir = Path(tempfile.mkdtemp(prefix="wfo-imap-", dir="/tmp"))
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        for sub in ("run", "state", "mail"):
            (self.dir / sub).mkdir()
        shutil.chown(self.dir / "mail", "nobody", "nogroup")
        (self.dir / "passwd").write_text(f"{user}:{{PLAIN}}{password}\n")
        (self.dir / "dovecot.conf").write_text(CONF.format(d=self.dir, port=self.port))
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Dovecot:
        self.proc = subprocess.Popen([shutil.which("dovecot") or "/usr/sbin/dovecot", "-F", "-c",
                                      str(self.dir / "dovecot.conf")], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.client().logout()
                return self
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("dovecot did not start: " + (self.dir / "dovecot.log").read_text()[-500:])
                time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def client(self) -> imaplib.IMAP4:
        """The server's own kind of client (the standard library's imaplib), logged in."""
        m = imaplib.IMAP4("127.0.0.1", self.port, timeout=5)
        m.login(self.user, self.password)
        return m
