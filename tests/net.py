"""Network helpers shared by tests that start real servers."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import redis


def free_port() -> int:
    """An ephemeral port nothing listens on once the probe socket is closed."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def private_redis(directory: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A redis-server of the test's own (the shared one is never stopped), as its URL and process; killed
    on exit, so the test may stop or kill it in between."""
    with RedisServer(directory, appendonly=False) as server:
        assert server.process is not None
        yield server.url, server.process


def wait_healthy(url: str, processes: list[subprocess.Popen[bytes]], timeout: float, log: Path | None = None) -> None:
    """Until `url` answers 200; fails at once when one of `processes` exits, showing `log` when given."""

    def failure(reason: str) -> str:
        return f"{reason}\n{log.read_text(errors='replace')}" if log else reason

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in processes:
            if p.poll() is not None:
                raise RuntimeError(failure(f"{p.args!r} exited with {p.returncode}"))
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(failure(f"{url} not healthy after {timeout} s"))


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler without the access log, which would bury the test output."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_in_background(handler: Any) -> ThreadingHTTPServer:
    """A threaded HTTP server on a free loopback port, serving from a daemon thread until `shutdown()`."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class RedisServer:
    """A redis-server of the test's own on a free port, for tests that restart Redis or count its clients:
    the shared server on 6379 must never be stopped, and its client list is everyone's."""

    def __init__(self, directory: Path, *, appendonly: bool = True) -> None:
        self.directory = directory
        self.appendonly = appendonly
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes" if self.appendonly else "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM: with AOF on, what was written survives into the next start."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
