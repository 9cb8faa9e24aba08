"""Only an unreachable store is a retryable 503: a Redis restart costs no request, bad input is a 422 naming
the parameter, and any other store error is a 500 rather than a promise that retrying helps."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from bot.runner import InlineTaskRunner
from bot.testing import FirstSentenceAnswerer, sample_knowledge
from service.asgi import create_app
from service.container import Container, build_container
from service.settings import Settings
from tests.net import RedisServer
from tests.service.test_metrics import scrape, value
from tests.waiting import wait_for

QUESTION = "How do I reset my password?"


def widget_client(settings: Settings) -> tuple[TestClient, Container]:
    container = build_container(settings, runner=InlineTaskRunner(), knowledge=sample_knowledge(),
                                answerer=FirstSentenceAnswerer())
    return TestClient(create_app(settings, container), raise_server_exceptions=False), container


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    test_client, _ = widget_client(settings)
    with test_client:
        yield test_client


def start(client: TestClient) -> tuple[str, dict[str, str], str]:
    created = client.post("/api/conversations", json={}).json()
    return (f"/api/conversations/{created['conversation_id']}", {"X-Conversation-Token": created["token"]},
            created["token"])


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[RedisServer, TestClient, Container]]:
    """The widget API on a Redis of the test's own, to stop and restart (with its append-only file)."""
    with RedisServer(tmp_path) as server:
        settings = Settings(redis_url=server.url, data_dir=tmp_path, agent_token="x", _env_file=None)  # type: ignore[call-arg]
        test_client, container = widget_client(settings)
        with test_client as client:
            yield server, client, container


def test_a_restarted_redis_costs_no_request_and_live_sockets_reconnect(
        own_redis: tuple[RedisServer, TestClient, Container]) -> None:
    server, client, _ = own_redis
    path, headers, token = start(client)
    assert client.post(f"{path}/messages", headers=headers,
                       json={"id": "before-restart", "text": QUESTION}).status_code == 202
    with client.websocket_connect(f"{path}/live?token={token}") as socket:
        seen = [socket.receive_json()["seq"] for _ in range(2)]  # the question and its answer
        server.restart()  # every pooled connection, and the live one, is now stale

        response = client.post(f"{path}/messages", headers=headers,
                               json={"id": "after-restart", "text": QUESTION})
        assert response.status_code == 202, response.text
        assert client.get("/healthz").status_code == 200
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                socket.receive_json()
        assert closed.value.code == 1012  # service restart: the widget reconnects from its last entry

    with client.websocket_connect(f"{path}/live?token={token}&after={max(seen)}") as socket:
        caught_up = [socket.receive_json() for _ in range(2)]
        assert [m["seq"] for m in caught_up] == [max(seen) + 1, max(seen) + 2]
        assert caught_up[0]["text"] == QUESTION


def test_an_offset_past_any_history_is_a_422_on_http_and_websocket(client: TestClient) -> None:
    path, headers, token = start(client)
    for after in ("1e20", "100000000000000000000"):
        response = client.get(f"{path}/messages", headers=headers, params={"after": after})
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["query", "after"]
        with pytest.raises(WebSocketDenialResponse) as refused:
            with client.websocket_connect(f"{path}/live?token={token}&after={after}"):
                pass
        assert refused.value.status_code == 422
        assert refused.value.json()["detail"][0]["loc"] == ["query", "after"]


def test_a_store_error_that_is_not_an_outage_is_a_500_not_a_retry(client: TestClient, settings: Settings,
                                                                  redis_url: str) -> None:
    path, headers, _ = start(client)
    conversation_id = path.rsplit("/", 1)[1]
    state_key = f"{settings.redis_prefix}:conv:{conversation_id}"
    probe = redis.Redis.from_url(redis_url)
    probe.delete(state_key)
    probe.rpush(state_key, "not a conversation")  # WRONGTYPE for every command the store sends it
    before = value(scrape(client), "supportbot_redis_errors_total", error="ResponseError")
    response = client.post(f"{path}/messages", headers=headers, json={"id": "wrong-type-1", "text": QUESTION})
    assert response.status_code == 500
    assert "retry-after" not in response.headers
    assert value(scrape(client), "supportbot_redis_errors_total", error="ResponseError") == before + 1


def test_with_redis_down_a_live_socket_is_refused_with_503_and_connects_once_it_is_back(
        own_redis: tuple[RedisServer, TestClient, Container]) -> None:
    server, client, container = own_redis
    path, _, token = start(client)
    server.stop()
    with pytest.raises(WebSocketDenialResponse) as refused:
        with client.websocket_connect(f"{path}/live?token={token}"):
            pass
    assert refused.value.status_code == 503 and refused.value.headers["retry-after"] == "5"
    server.start()
    with client.websocket_connect(f"{path}/live?token={token}"):
        assert container.live.listening() == 1
    wait_for(lambda: container.live.listening() == 0, what="the socket's subscription closed")
