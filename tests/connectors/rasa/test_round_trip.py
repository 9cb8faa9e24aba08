"""The whole Rasa handoff loop against a stand-in of the Rasa server's HTTP API: a Rasa user asks, the
action server hands off, an agent replies in the console, the reply reaches that Rasa user, the agent hands
back, ConversationResumed arrives, and the next action answers from the knowledge base."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.runner import InlineTaskRunner
from bot.testing import FirstSentenceAnswerer, sample_knowledge
from bot.types import ConversationState, Message, Participant, Role
from connectors.rasa import actions
from connectors.rasa.channel import RasaChannel, RasaRefused
from service.asgi import create_app
from service.container import build_container
from service.settings import Settings
from tests.connectors.rasa.test_actions import run
from tests.connectors.test_webchat_api import agent_headers
from tests.fakes.rasa_server import FakeRasa, start_fake_rasa
from tests.waiting import wait_for

ALICE = agent_headers("alice")


@pytest.fixture
def rasa() -> Iterator[tuple[FakeRasa, str]]:
    fake, url, server = start_fake_rasa()
    yield fake, url
    server.shutdown()


@pytest.fixture
def console(settings: Settings, rasa: tuple[FakeRasa, str]) -> Iterator[TestClient]:
    _, url = rasa
    container = build_container(settings, runner=InlineTaskRunner(), knowledge=sample_knowledge(),
                                answerer=FirstSentenceAnswerer(),
                                channels={"rasa": RasaChannel(url, token="rasa-secret", output_channel="socketio")})
    with TestClient(create_app(settings, container)) as client:
        client.portal.call(_serve_actions, container)
        yield client


async def _serve_actions(container: Any) -> None:
    actions.use_dialogue(container.dialogue)


def action(client: TestClient, name: str, text: str, **kwargs: str) -> dict[str, Any]:
    return client.portal.call(lambda: run(name, text, **kwargs))


def test_agent_reply_reaches_the_rasa_user_and_hand_back_resumes_the_assistant(
        console: TestClient, rasa: tuple[FakeRasa, str]) -> None:
    fake, _ = rasa
    asked = action(console, "action_supportbot_handoff", "my invoice shows the wrong company name",
                   sender="ada", message_id="m1")
    assert "pause" in [e["event"] for e in asked["events"]]
    assert "support team" in asked["responses"][0]["text"]
    handoff = wait_for(lambda: next((h for h in console.get("/api/agent/handoffs", headers=ALICE).json()
                                     if h["conversation_id"] == "rasa:ada"), None), what="the handoff")
    assert handoff["reason"] == "requested" and handoff["question"] == "my invoice shows the wrong company name"
    assert fake.calls == []  # the acknowledgement went back in the action's response, not twice

    assert console.post(f"/api/agent/handoffs/{handoff['id']}/claim", headers=ALICE).status_code == 200
    reply = "I've corrected the company name; the new invoice is in Settings > Billing."
    assert console.post("/api/agent/conversations/rasa:ada/reply", json={"text": reply},
                        headers=ALICE).status_code == 200
    wait_for(lambda: reply in fake.delivered("ada"), what="the agent's reply at the Rasa server")
    call = next(c for c in fake.calls if any(e.get("text") == reply for e in c["events"]))
    assert call["output_channel"] == "socketio" and call["execute_side_effects"]
    [event] = call["events"]
    assert event["metadata"]["sender"] == "agent" and event["metadata"]["sender_name"] == ""  # a login is not a name

    fake.tracker("ada")["paused"] = True  # as after the action's ConversationPaused
    assert console.post("/api/agent/conversations/rasa:ada/handback", headers=ALICE).status_code == 200
    wait_for(lambda: fake.tracker("ada")["paused"] is False, what="ConversationResumed at the Rasa server")
    resumed = next(c for c in fake.calls if c["events"][0]["event"] == "resume")
    assert resumed["events"][1]["event"] == "bot" and "assistant again" in resumed["events"][1]["text"]

    answered = action(console, "action_supportbot_answer", "How do I reset my password?", sender="ada",
                      message_id="m2")
    assert "Settings" in answered["responses"][0]["text"]
    assert "pause" not in [e["event"] for e in answered["events"]]
    assert answered["responses"][0]["custom"]["citations"][0]["title"] == "Resetting your password"


def test_handoff_after_an_answer_to_the_same_message_still_hands_off(console: TestClient) -> None:
    answered = action(console, "action_supportbot_answer", "How do I reset my password?", sender="bo",
                      message_id="m7")
    assert "pause" not in [e["event"] for e in answered["events"]]
    handed = action(console, "action_supportbot_handoff", "How do I reset my password?", sender="bo",
                    message_id="m7")
    assert "pause" in [e["event"] for e in handed["events"]] and handed["responses"]
    history = console.get("/api/agent/conversations/rasa:bo", headers=ALICE).json()
    texts = [m["text"] for m in history["transcript"] if m["role"] == "customer"]
    assert texts == ["How do I reset my password?", "How do I reset my password?"]  # their words, not ours


async def test_a_refusing_rasa_server_is_a_clear_error(rasa: tuple[FakeRasa, str]) -> None:
    fake, url = rasa
    state = ConversationState(id="rasa:cy", channel="rasa", customer=Participant(role=Role.CUSTOMER, id="cy"))
    message = Message(conversation_id="rasa:cy", channel="rasa", text="Hello from Alice",
                      sender=Participant(role=Role.AGENT, id="alice"))
    with pytest.raises(RasaRefused, match="refused the events for 'cy': HTTP 401"):
        await RasaChannel(url, token="wrong").send(state, message)
    with pytest.raises(RasaRefused, match="unreachable"):
        await RasaChannel("http://127.0.0.1:9", token="rasa-secret", timeout=2).send(state, message)
    await RasaChannel(url, token="rasa-secret").send(state, message)
    assert fake.delivered("cy") == ["Hello from Alice"]
