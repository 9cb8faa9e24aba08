"""The shipped config/haproxy.cfg keeps /metrics off the public port however the path is spelled.

A real HAProxy runs the shipped file (tests/topology/harness.py makes it local) in front of a stand-in API process
that records the path of every request reaching it, decoded as uvicorn decodes it for the app. Requests go out
as raw bytes: an HTTP client would tidy the path before sending it.
"""

from __future__ import annotations

import posixpath
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.net import QuietHandler, free_port, serve_in_background
from tests.topology.compose import ROOT
from tests.topology.harness import haproxy, local_proxy_config

REACHED: list[str] = []
SPELLINGS = ["/metrics", "/%6detrics", "/%6Detrics", "/metric%73", "/%6D%65%74%72%69%63%73", "//metrics",
             "/./metrics", "/api/../metrics", "/%2e/metrics", "/api/%2e%2e/metrics", "/%2fmetrics", "/%2Fmetrics",
             "/metrics/", "/metrics?name=x", "/%6detrics?name=x"]


class RecordingApi(QuietHandler):
    def do_GET(self) -> None:
        REACHED.append(unquote(self.path.split("?")[0]))
        body = b"sb_open_handoffs 0\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def the_app_route(path: str) -> bool:
    """Whether a decoded path would be the app's /metrics (slashes and dot segments resolved, at worst)."""
    return posixpath.normpath(re.sub("/+", "/", path)).rstrip("/") == "/metrics"


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[int]:
    api = serve_in_background(RecordingApi)
    port = free_port()
    config = tmp_path / "haproxy.cfg"
    text = (ROOT / "config" / "haproxy.cfg").read_text(encoding="utf-8")
    config.write_text(local_proxy_config(text, port, {"api": [api.server_address[1]]}), encoding="utf-8")
    log = tmp_path / "haproxy.log"
    process = subprocess.Popen([haproxy(), "-db", "-f", str(config)], stdout=log.open("wb"),
                               stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while raw_get(port, "/healthz", missing_ok=True) != 200:
            assert process.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, "HAProxy did not start"
            time.sleep(0.1)
        REACHED.clear()
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
        api.shutdown()


def raw_get(port: int, target: str, missing_ok: bool = False) -> int:
    """The status HAProxy answers to `GET target` sent byte for byte as written."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
            connection.sendall(f"GET {target} HTTP/1.1\r\nHost: support.example\r\nConnection: close\r\n\r\n"
                               .encode())
            head = connection.recv(4096).decode("latin-1")
    except OSError:
        if missing_ok:
            return 0
        raise
    match = re.match(r"HTTP/1\.[01] (\d{3})", head)
    return int(match.group(1)) if match else 0


def test_metrics_are_refused_at_the_proxy_however_the_path_is_encoded(proxy: int) -> None:
    answers = {spelling: raw_get(proxy, spelling) for spelling in SPELLINGS}
    assert {s: a for s, a in answers.items() if a != 403} == {}
    assert [path for path in REACHED if the_app_route(path)] == []


def test_other_paths_still_reach_the_api(proxy: int) -> None:
    for target in ("/healthz", "/api/conversations/abc/messages", "/metrics-dashboard", "/%61pi/x"):
        assert raw_get(proxy, target) == 200, target
    assert REACHED == ["/healthz", "/api/conversations/abc/messages", "/metrics-dashboard", "/api/x"]
