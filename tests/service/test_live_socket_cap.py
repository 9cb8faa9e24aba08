"""One client address holds at most SUPPORTBOT_LIVE_SOCKETS_PER_ADDRESS open widget sockets in a process: each
holds a listener, a queue and a task, so without a cap one address could hold them all."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from service.asgi import create_app
from service.container import Container
from service.settings import Settings
from tests.connectors.test_webchat_api import say, start_conversation

CAP = 2


@pytest.fixture
def client(settings: Settings, container: Container) -> Iterator[TestClient]:
    capped = settings.model_copy(update={"live_sockets_per_address": CAP, "trusted_proxy_header": "X-Forwarded-For"})
    with TestClient(create_app(capped, container)) as test_client:
        yield test_client


def open_socket(stack: ExitStack, client: TestClient, url: str, address: str) -> tuple[WebSocketTestSession, dict]:  # type: ignore[type-arg]
    """A socket from `address`, with the first thing the server sends on it: the history, or a close."""
    socket = stack.enter_context(client.websocket_connect(url, headers={"X-Forwarded-For": address}))
    return socket, socket.receive()


def test_sockets_over_the_cap_are_closed_with_a_reason_and_others_still_open(client: TestClient) -> None:
    cid, headers = start_conversation(client)
    say(client, cid, headers, "hello")  # a history, so every accepted socket is sent something at once
    url = f"/api/conversations/{cid}/live?token={headers['X-Conversation-Token']}"
    with ExitStack() as stack:
        first, _ = open_socket(stack, client, url, "203.0.113.7")
        for _ in range(CAP - 1):
            _, sent = open_socket(stack, client, url, "203.0.113.7")
            assert sent["type"] == "websocket.send"
        _, refused = open_socket(stack, client, url, "203.0.113.7")
        assert refused["type"] == "websocket.close" and refused["code"] == 1013
        assert "too many" in refused["reason"]
        _, other = open_socket(stack, client, url, "198.51.100.2")
        assert other["type"] == "websocket.send"  # another address is not affected

        first.close()
        deadline = time.monotonic() + 5
        while True:  # the server notices the close on its own schedule
            with ExitStack() as retry:
                _, sent = open_socket(retry, client, url, "203.0.113.7")
            if sent["type"] == "websocket.send" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert sent["type"] == "websocket.send"  # a closed socket gives its place back
