"""With Redis gone the widget API answers a retryable 503, not a 500 or a hang."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from bot.runner import InlineTaskRunner
from bot.testing import FirstSentenceAnswerer, sample_knowledge
from service.asgi import create_app
from service.container import build_container
from service.settings import Settings
from tests.net import private_redis
from tests.service.test_metrics import scrape, value


def test_widget_api_says_retry_when_the_store_goes_down(tmp_path: Path) -> None:
    with private_redis(tmp_path) as (url, server):
        settings = Settings(redis_url=url, data_dir=tmp_path, agent_token="x", _env_file=None)  # type: ignore[call-arg]
        container = build_container(settings, runner=InlineTaskRunner(), knowledge=sample_knowledge(),
                                    answerer=FirstSentenceAnswerer())
        with TestClient(create_app(settings, container)) as client:
            created = client.post("/api/conversations", json={}).json()
            before = scrape(client)
            server.terminate()
            server.wait(timeout=10)
            response = client.post(f"/api/conversations/{created['conversation_id']}/messages",
                                   headers={"X-Conversation-Token": created["token"]},
                                   json={"id": "retry-me-1", "text": "How do I reset my password?"})
            assert response.status_code == 503 and response.headers["retry-after"] == "5"
            assert "retry" in response.json()["detail"]
            after = scrape(client)  # the scrape answers without Redis, and says so
    assert value(after, "supportbot_redis_up") == 0
    errors = sum(v - value(before, name, **dict(labels)) for (name, labels), v in after.items()
                 if name == "supportbot_redis_errors_total")
    assert errors >= 2  # the turn's request and the scrape's own read of the queue
