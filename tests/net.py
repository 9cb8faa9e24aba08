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
    port = free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", str(directory)], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        for _ in range(100):
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield url, server
    finally:
        server.kill()
        server.wait()


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
