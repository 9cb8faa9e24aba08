"""The rasa-sdk action server runs supportbot's answer and handoff as Rasa custom actions."""

from __future__ import annotations

from typing import Any

from rasa_sdk.executor import ActionExecutor

from bot.types import Owner
from connectors.rasa import actions
from service.container import Container


def action_call(name: str, text: str, sender: str = "user-1", message_id: str = "m1") -> dict[str, Any]:
    """The JSON Rasa posts to the action server's /webhook."""
    return {
        "next_action": name, "sender_id": sender, "version": "3.10.0", "domain": {},
        "tracker": {"sender_id": sender, "slots": {}, "latest_message": {"text": text, "message_id": message_id,
                    "intent": {}, "entities": []}, "events": [], "paused": False,
                    "followup_action": None, "active_loop": {}, "latest_action_name": "action_listen"},
    }


async def run(name: str, text: str, **kwargs: str) -> dict[str, Any]:
    executor = ActionExecutor()
    executor.register_package(actions)
    result = await executor.run(action_call(name, text, **kwargs))
    assert result is not None
    return result.model_dump() if hasattr(result, "model_dump") else dict(result)


async def test_answer_action_replies_with_citations(container: Container) -> None:
    await container.runner.drain()  # type: ignore[attr-defined]
    actions.use_dialogue(container.dialogue)
    result = await run("action_supportbot_answer", "How do I reset my password?")
    [response] = result["responses"]
    assert "Settings" in response["text"]
    assert response["custom"]["citations"][0]["title"] == "Resetting your password"
    assert {"event": "slot", "name": "supportbot_decision", "value": "answered"} in [
        {k: e.get(k) for k in ("event", "name", "value")} for e in result["events"]]


async def test_unanswerable_question_pauses_rasa_and_opens_a_handoff(container: Container) -> None:
    actions.use_dialogue(container.dialogue)
    result = await run("action_supportbot_answer", "Is the moon made of cheese?", sender="user-2")
    await container.runner.drain()  # type: ignore[attr-defined]
    assert "pause" in [e["event"] for e in result["events"]]
    assert "support team" in result["responses"][0]["text"]
    [handoff] = await container.queue.open_handoffs()
    assert handoff.conversation_id == "rasa:user-2" and handoff.channel == "rasa"


async def test_handoff_action_and_retried_call(container: Container) -> None:
    actions.use_dialogue(container.dialogue)
    first = await run("action_supportbot_handoff", "my invoice is wrong", sender="user-3", message_id="x9")
    again = await run("action_supportbot_handoff", "my invoice is wrong", sender="user-3", message_id="x9")
    await container.runner.drain()  # type: ignore[attr-defined]
    assert "pause" in [e["event"] for e in first["events"]]
    assert again["responses"] == []  # the same Rasa message is not handled twice
    state = await container.store.load("rasa:user-3")
    assert state is not None and state.owner is Owner.PENDING_HUMAN
