"""The API's log lines as configured for production: JSON with the turn id, no customer words, answers or
tokens; credentials in URLs replaced whichever logger writes them."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.logs import LogFormat, configure_logging
from tests.connectors.test_console_api import ALICE, escalate
from tests.connectors.test_webchat_api import AGENT_TOKEN, client, history, say, start_conversation  # noqa: F401

QUESTION = "How do I reset my password?"


@pytest.fixture
def configured(capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """Configure logging as `supportbot serve` does, writing to the captured stderr; restore it after."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    names = ("bot", "connectors", "knowledge", "service", "workers", "supportbot", "celery", "uvicorn",
             "uvicorn.error", "uvicorn.access")
    levels = {name: logging.getLogger(name).level for name in names}

    def configure(fmt: LogFormat) -> None:
        configure_logging(fmt, "info")

    yield configure
    logging.captureWarnings(False)
    root.handlers[:], root.level = saved
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]  # a non-JSON line fails here


def test_turn_lines_carry_the_turn_id_and_no_text_or_token(configured: Any, client: TestClient,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    configured("json")
    cid, headers = start_conversation(client)
    assert say(client, cid, headers, QUESTION)["decision"] == "answered"
    answer = history(client, cid, headers)[-1]["text"]
    other, _, handoff = escalate(client)
    client.post(f"/api/agent/handoffs/{handoff['id']}/claim", headers=ALICE).raise_for_status()
    client.post(f"/api/agent/conversations/{other}/resolve", headers=ALICE).raise_for_status()
    output = capsys.readouterr().err

    lines = json_lines(output)
    turns = {line["decision"]: line for line in lines if line.get("decision")}
    assert set(turns) == {"answered", "escalated"}
    assert turns["answered"]["conversation_id"] == cid and turns["escalated"]["conversation_id"] == other
    assert turns["answered"]["turn_id"] and turns["escalated"]["turn_id"]
    assert turns["answered"]["turn_id"] != turns["escalated"]["turn_id"]
    assert all(isinstance(turn["seconds"], float) and turn["channel"] == "web" for turn in turns.values())
    opened = [line for line in lines if line.get("handoff_event") == "opened"]
    assert [line["turn_id"] for line in opened] == [turns["escalated"]["turn_id"]]
    assert {line["handoff_event"] for line in lines if "handoff_event" in line} == {"opened", "claimed",
                                                                                    "resolved"}
    for secret in (QUESTION, answer[:40], "lasagna", headers["X-Conversation-Token"], AGENT_TOKEN):
        assert secret not in output, secret


def test_text_lines_name_the_turn(configured: Any, client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    configured("text")
    cid, headers = start_conversation(client)
    say(client, cid, headers, QUESTION)
    [line] = [line for line in capsys.readouterr().err.splitlines() if "supportbot.turns" in line]
    assert " INFO supportbot.turns: turn answered on web in " in line and "[turn " in line
    assert QUESTION not in line


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_tokens_in_urls_are_replaced_in_access_and_websocket_lines(configured: Any, fmt: LogFormat,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    configured(fmt)
    # uvicorn's own calls, with its own format strings and arguments
    logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "10.0.0.7:5123", "GET",
                                             "/api/conversations/c1/live?token=s3cret-one&after=2", "1.1", 200)
    logging.getLogger("uvicorn.error").info('%s - "WebSocket %s" [accepted]', "10.0.0.7:5123",
                                            "/api/agent/live?token=s3cret-two")
    logging.getLogger("connectors.x").warning("fetch https://hooks.example/x?api_key=s3cret-three&a=1 failed")
    output = capsys.readouterr().err
    assert "s3cret" not in output
    assert "live?token=[redacted]&after=2" in output and "/api/agent/live?token=[redacted]" in output
    assert "x?api_key=[redacted]&a=1" in output
