"""The real rasa-sdk action server process serves the handoff action over its /webhook."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import redis

from service.settings import Settings
from tests.connectors.rasa.test_actions import action_call
from tests.net import free_port, wait_healthy


def test_action_server_pauses_and_records_the_handoff(settings: Settings, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "SUPPORTBOT_REDIS_URL": settings.redis_url or "",
           "SUPPORTBOT_REDIS_PREFIX": settings.redis_prefix, "SUPPORTBOT_DATA_DIR": str(tmp_path),
           "SUPPORTBOT_AGENT_TOKEN": "x"}
    log = (tmp_path / "actions.log").open("wb")
    server = subprocess.Popen([sys.executable, "-m", "rasa_sdk", "--actions", "connectors.rasa.actions",
                               "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_healthy(f"http://127.0.0.1:{port}/health", [server], timeout=60, log=tmp_path / "actions.log")
        response = httpx.post(f"http://127.0.0.1:{port}/webhook", timeout=30,
                              json=action_call("action_supportbot_handoff", "my invoice is wrong", sender="s-1"))
        assert response.status_code == 200, response.text
        body = response.json()
        assert "pause" in [e["event"] for e in body["events"]]
        assert "support team" in body["responses"][0]["text"]
        state = redis.Redis.from_url(settings.redis_url or "").get(f"{settings.redis_prefix}:conv:rasa:s-1")
        assert state is not None and b'"owner":"pending_human"' in state
    finally:
        server.terminate()
        server.wait(timeout=20)
