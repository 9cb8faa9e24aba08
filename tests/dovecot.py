"""A real Dovecot IMAP server for tests: Debian's binary, a config of our own in a tmp dir, one test user in
a passwd-file, Maildir storage in the tmp dir, a free port on 127.0.0.1. Started and stopped by the tests."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import ssl
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from imap_tools import AND, BaseMailBox, MailBox, MailBoxUnencrypted

from tests.net import free_port
from tests.waiting import wait_for

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login{oauth2_mechanisms}
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
first_valid_uid = 0
mail_privileged_group =
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u {root}/users
}}
{oauth2_passdb}userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = {imaps_port}
  }}
}}
service anvil {{
  chroot =
}}
"""

# Tokens are checked with the provider's introspection endpoint (RFC 7662), as with a provider Dovecot
# fronts itself; the harness's own sessions keep signing in with the password.
OAUTH2_PASSDB = """passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/dovecot-oauth2.conf.ext
}}
"""

OAUTH2_CONFIG = """introspection_url = {introspection_url}
introspection_mode = post
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
tls_ca_cert_file = {ca_file}
"""


@dataclass
class Dovecot:
    root: Path
    port: int
    username: str = "support"
    password: str = "imap-secret"
    ca_file: Path | None = None  # with TLS: the server's self-signed certificate, to trust it
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> "Dovecot":
        self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(self.root / "dovecot.conf")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self._answers, timeout=15, what=f"dovecot on port {self.port}")
        return self

    def _answers(self) -> bool:
        try:
            with self.client():
                return True
        except Exception:
            return False

    def children(self) -> list[int]:
        """Pids of the master's processes (login, imap, auth ...)."""
        if self.process is None:
            return []
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                found.append(int(stat.parent.name))
        return found

    def stop(self) -> None:
        """The server goes away: its sessions are killed (Dovecot's own stop leaves running sessions be),
        then the master stops."""
        for pid in self.children():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        (self.root / "run" / "master.pid").unlink(missing_ok=True)

    @contextmanager
    def client(self, folder: str = "INBOX") -> Iterator[BaseMailBox]:
        box: BaseMailBox
        if self.ca_file:
            box = MailBox("127.0.0.1", self.port, timeout=10,
                          ssl_context=ssl.create_default_context(cafile=str(self.ca_file)))
        else:
            box = MailBoxUnencrypted("127.0.0.1", self.port, timeout=10)
        with box.login(self.username, self.password, initial_folder=folder) as logged_in:
            yield logged_in

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        with self.client() as box:
            box.append(raw, folder)

    def create_folder(self, name: str) -> None:
        with self.client() as box:
            if not box.folder.exists(name):
                box.folder.create(name)

    def flags(self, folder: str = "INBOX") -> dict[str, tuple[str, ...]]:
        """Message-ID → flags of every message in the folder."""
        with self.client(folder) as box:
            return {str(m.headers.get("message-id", ("",))[0]).strip(): m.flags
                    for m in box.fetch(AND(all=True), mark_seen=False, headers_only=True)}

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


def self_signed_certificate(root: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (openssl from Debian), and its key."""
    cert, key = root / "cert.pem", root / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)
    return cert, key


@contextmanager
def dovecot_server(*, tls: bool = False, introspection_url: str | None = None,
                   introspection_ca: Path | None = None) -> Iterator[Dovecot]:
    """Its own tmp dir (not pytest's, whose parents are private to root): when the tests run as root,
    Dovecot's login and mail processes run as its unprivileged system users and must reach the files.
    With `tls`, it serves IMAPS only, with a self-signed certificate (`ca_file`). With `introspection_url`,
    it also takes OAuth2 tokens (XOAUTH2, OAUTHBEARER), asking that endpoint (trusting `introspection_ca`)."""
    root = Path(tempfile.mkdtemp(prefix="dovecot-"))
    server = Dovecot(root=root, port=free_port())
    ssl_settings = "ssl = no"
    if tls:
        cert, key = self_signed_certificate(root)
        server.ca_file = cert
        ssl_settings = f"ssl = required\nssl_cert = <{cert}\nssl_key = <{key}"
    if os.geteuid() == 0:
        login_user, internal_user, internal_group = "dovenull", "dovecot", "dovecot"
        uid, gid = pwd.getpwnam("dovecot").pw_uid, grp.getgrnam("dovecot").gr_gid
    else:
        login_user = internal_user = pwd.getpwuid(os.geteuid()).pw_name
        internal_group = grp.getgrgid(os.getegid()).gr_name
        uid, gid = os.geteuid(), os.getegid()
    for sub in ("run", "state", "mail", "home"):
        (root / sub).mkdir()
    (root / "users").write_text(f"{server.username}:{{PLAIN}}{server.password}::::::\n")
    oauth2_passdb = ""
    if introspection_url:
        oauth2_passdb = OAUTH2_PASSDB.format(root=root)
        (root / "dovecot-oauth2.conf.ext").write_text(OAUTH2_CONFIG.format(
            introspection_url=introspection_url, ca_file=introspection_ca or ""))
    (root / "dovecot.conf").write_text(CONFIG.format(
        root=root, ssl=ssl_settings, oauth2_passdb=oauth2_passdb,
        oauth2_mechanisms=" xoauth2 oauthbearer" if introspection_url else "",
        imap_port=0 if tls else server.port, imaps_port=server.port if tls else 0,
        login_user=login_user, internal_user=internal_user,
        internal_group=internal_group, uid=uid, gid=gid))
    os.chmod(root, 0o755)
    if os.geteuid() == 0:
        for sub in ("mail", "home"):
            os.chown(root / sub, uid, gid)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
