"""With Redis gone the widget API answers a retryable 503, not a 500 or a hang."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis
from fastapi.testclient import TestClient

from bot.runner import InlineTaskRunner
from bot.testing import FirstSentenceAnswerer, sample_knowledge
from service.asgi import create_app
from service.container import build_container
from service.settings import Settings
from tests.net import free_port


def test_widget_api_says_retry_when_the_store_goes_down(tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    try:
        url = f"redis://127.0.0.1:{port}/0"
        for _ in range(100):
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        settings = Settings(redis_url=url, data_dir=tmp_path, agent_token="x", _env_file=None)  # type: ignore[call-arg]
        container = build_container(settings, runner=InlineTaskRunner(), knowledge=sample_knowledge(),
                                    answerer=FirstSentenceAnswerer())
        with TestClient(create_app(settings, container)) as client:
            created = client.post("/api/conversations", json={}).json()
            server.terminate()
            server.wait(timeout=10)
            response = client.post(f"/api/conversations/{created['conversation_id']}/messages",
                                   headers={"X-Conversation-Token": created["token"]},
                                   json={"id": "retry-me-1", "text": "How do I reset my password?"})
            assert response.status_code == 503 and response.headers["retry-after"] == "5"
            assert "retry" in response.json()["detail"]
    finally:
        server.kill()
        server.wait()
