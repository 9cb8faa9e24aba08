"""Who may call the action server: the real rasa-sdk process, started as docs/rasa.md says.

A call to /webhook runs a turn, or opens a handoff, as whatever `sender_id` it names; so the server listens on
loopback unless told otherwise, refuses to listen anywhere else without a shared token, and with a token
answers only the calls that carry it (as Rasa sends it: `token` in the query, or an Authorization header).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import redis

from service.settings import Settings
from tests.connectors.rasa.test_actions import action_call
from tests.net import free_port, wait_healthy

TOKEN = "action-server-secret"


@contextmanager
def action_server(settings: Settings, tmp_path: Path, **extra: str) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """`python -m rasa_sdk --actions connectors.rasa.actions` with only the environment given here."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTBOT_") and k != "SANIC_HOST"}
    env.update({"SUPPORTBOT_REDIS_URL": settings.redis_url or "", "SUPPORTBOT_REDIS_PREFIX": settings.redis_prefix,
                "SUPPORTBOT_DATA_DIR": str(tmp_path), "SUPPORTBOT_AGENT_TOKEN": "x", **extra})
    log = tmp_path / "actions.log"
    server = subprocess.Popen([sys.executable, "-m", "rasa_sdk", "--actions", "connectors.rasa.actions",
                               "--port", str(port)], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        yield server, port
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def conversation_exists(settings: Settings, sender: str) -> bool:
    client = redis.Redis.from_url(settings.redis_url or "")
    return bool(client.exists(f"{settings.redis_prefix}:conv:rasa:{sender}"))


def test_it_listens_on_loopback_only_by_default(settings: Settings, tmp_path: Path) -> None:
    with action_server(settings, tmp_path) as (server, port):
        wait_healthy(f"http://127.0.0.1:{port}/health", [server], timeout=60, log=tmp_path / "actions.log")
        # every 127/8 address reaches this host; one bound to 127.0.0.1 alone does not answer on 127.0.0.2
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.2:{port}/health", timeout=5)


def test_it_refuses_to_listen_on_every_interface_without_a_token(settings: Settings, tmp_path: Path) -> None:
    with action_server(settings, tmp_path, SANIC_HOST="0.0.0.0") as (server, port):
        try:
            code = server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail("the action server started on 0.0.0.0 without a token")
        assert code != 0
        assert "SUPPORTBOT_RASA_ACTION_TOKEN" in (tmp_path / "actions.log").read_text(errors="replace")


def test_with_a_token_only_calls_that_carry_it_run_a_turn(settings: Settings, tmp_path: Path) -> None:
    with action_server(settings, tmp_path, SANIC_HOST="0.0.0.0", SUPPORTBOT_RASA_ACTION_TOKEN=TOKEN) as (server, port):
        wait_healthy(f"http://127.0.0.2:{port}/health", [server], timeout=60, log=tmp_path / "actions.log")
        url = f"http://127.0.0.2:{port}/webhook"
        handoff = "action_supportbot_handoff"

        anonymous = httpx.post(url, json=action_call(handoff, "my invoice", sender="mallory-1"), timeout=30)
        wrong = httpx.post(url, params={"token": "guess"}, timeout=30,
                           json=action_call(handoff, "my invoice", sender="mallory-2"))
        wrong_header = httpx.post(url, headers={"Authorization": "Bearer guess"}, timeout=30,
                                  json=action_call(handoff, "my invoice", sender="mallory-3"))
        assert [anonymous.status_code, wrong.status_code, wrong_header.status_code] == [401, 401, 401]
        assert not any(conversation_exists(settings, f"mallory-{n}") for n in (1, 2, 3))
        listing = httpx.get(f"http://127.0.0.2:{port}/actions", timeout=30)
        assert listing.status_code == 401

        by_query = httpx.post(url, params={"token": TOKEN}, timeout=30,
                              json=action_call(handoff, "my invoice is wrong", sender="rasa-1"))
        by_header = httpx.post(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30,
                               json=action_call(handoff, "my invoice is wrong", sender="rasa-2"))
        for response in (by_query, by_header):
            assert response.status_code == 200, response.text
            assert "pause" in [e["event"] for e in response.json()["events"]]
        assert conversation_exists(settings, "rasa-1") and conversation_exists(settings, "rasa-2")
