"""How much of a request's head a `supportbot serve` process keeps waiting for, when no proxy stands in front.

uvicorn has no timeout for a request's head (`timeout_keep_alive` runs only between requests), so a client that
trickles header bytes keeps its connection as long as it likes; the proxy's `timeout http-request` bounds that
(config/haproxy.cfg, docs). What the process itself can bound is the size: a head past the limit is answered
400 and the connection closed, instead of kept in memory while the client goes on sending.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.asgi import MAX_REQUEST_HEAD_BYTES
from service.settings import Settings
from tests.browser.stack import spawn, stop
from tests.net import free_port, wait_healthy


@pytest.fixture
def server(settings: Settings, tmp_path: Path) -> Iterator[int]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_")}
    env.update({"SUPPORTBOT_REDIS_URL": settings.redis_url or "", "SUPPORTBOT_REDIS_PREFIX": settings.redis_prefix,
                "SUPPORTBOT_DATA_DIR": str(tmp_path / "data"), "SUPPORTBOT_AGENT_TOKEN": "x"})
    log = tmp_path / "serve.log"
    process = spawn(["serve", "--port", str(port), "--log-level", "warning"], env, log)
    try:
        wait_healthy(f"http://127.0.0.1:{port}/healthz", [process], timeout=90, log=log)
        yield port
    finally:
        stop(process)


def send_head(port: int, header_bytes: int, within: float = 10.0) -> bytes:
    """Send a GET whose head carries `header_bytes` of headers, in 4 KB writes; what the server answered (b"":
    nothing before `within` seconds)."""
    with socket.create_connection(("127.0.0.1", port), timeout=within) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        sent, index = 0, 0
        try:
            while sent < header_bytes:
                line = b"X-Pad-%d: %s\r\n" % (index, b"a" * 4000)
                connection.sendall(line)
                sent, index = sent + len(line), index + 1
            connection.sendall(b"Connection: close\r\n\r\n")
        except OSError:  # closed while we were still sending: read what it said
            pass
        deadline, answer = time.monotonic() + within, b""
        while time.monotonic() < deadline:
            try:
                chunk = connection.recv(4096)
            except TimeoutError:
                break
            except OSError:
                break
            if not chunk:
                break
            answer += chunk
            if b"\r\n\r\n" in answer:
                break
        return answer


def test_a_request_head_past_the_limit_is_refused(server: int) -> None:
    assert send_head(server, MAX_REQUEST_HEAD_BYTES // 2).startswith(b"HTTP/1.1 200")
    answer = send_head(server, 64 * MAX_REQUEST_HEAD_BYTES, within=5.0)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
