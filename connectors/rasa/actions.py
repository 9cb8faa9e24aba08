"""rasa-sdk actions: an existing Rasa assistant uses supportbot's grounded answer and its human handoff.

Run the action server:  python -m rasa_sdk --actions connectors.rasa.actions
                        (loopback only, unless SUPPORTBOT_RASA_ACTION_TOKEN is set: connectors/rasa/guard.py)
In the Rasa domain:     actions: [action_supportbot_answer, action_supportbot_handoff]

Both actions run the customer's latest message through the same DialogueManager as every other channel
(conversation id `rasa:<sender_id>`), so gates, confidence, handoff and agent replies behave the same.
When the turn is escalated the actions return `ConversationPaused`, so Rasa stops answering while a
person owns the conversation; the agents' messages, and `ConversationResumed` on hand-back, reach Rasa
through `connectors/rasa/channel.py` (SUPPORTBOT_RASA_URL). See docs/rasa.md.
"""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.dialogue import DialogueManager, Turn
from bot.types import Decision, Message, Participant, Role
from connectors.rasa import guard
from connectors.rasa.channel import CHANNEL

guard.install()  # rasa-sdk loads this module before it builds its server: the guard sees that server

_dialogues: dict[int, DialogueManager] = {}


def use_dialogue(dialogue: DialogueManager) -> None:
    """Serve these actions from a given dialogue manager (tests, embedding in another process)."""
    _dialogues[id(asyncio.get_running_loop())] = dialogue


def _dialogue() -> DialogueManager:
    """One container per event loop: its Redis client belongs to the loop that created it."""
    key = id(asyncio.get_running_loop())
    if key not in _dialogues:
        from service.container import build_container
        from service.settings import load_settings

        _dialogues[key] = build_container(load_settings()).dialogue
    return _dialogues[key]


async def _run_turn(tracker: Tracker, text: str, *, asks_for_person: bool = False) -> Turn:
    dialogue = _dialogue()
    customer = Participant(role=Role.CUSTOMER, id=tracker.sender_id, name=tracker.sender_id)
    conversation_id = f"{CHANNEL}:{tracker.sender_id}"
    await dialogue.start(CHANNEL, customer, conversation_id=conversation_id)
    event_id = str(tracker.latest_message.get("message_id") or "") or None
    # the answer and the handoff actions may both run for one Rasa message: each is its own turn
    suffix = "-handoff" if asks_for_person else ""
    fields: dict[str, Any] = {"id": f"rasa-{event_id}{suffix}"} if event_id else {}
    return await dialogue.handle(Message(conversation_id=conversation_id, channel=CHANNEL, sender=customer,
                                         text=text, asks_for_person=asks_for_person, **fields))


def _utter(dispatcher: CollectingDispatcher, turn: Turn) -> None:
    for reply in turn.replies:
        citations = [{"title": c.title, "source": c.source} for c in reply.citations]
        dispatcher.utter_message(text=reply.text, json_message={"citations": citations} if citations else None)


def _events(turn: Turn) -> list[EventType]:
    events: list[EventType] = []
    if turn.outcome is not None:
        events.append(SlotSet("supportbot_decision", turn.outcome.decision.value))
        if turn.outcome.decision is not Decision.ANSWERED:
            events.append(ConversationPaused())
    return events


class ActionSupportbotAnswer(Action):
    """Answer the latest user message from the knowledge base, or hand off when it cannot."""

    def name(self) -> str:
        return "action_supportbot_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        turn = await _run_turn(tracker, tracker.latest_message.get("text") or "")
        _utter(dispatcher, turn)
        return _events(turn)


class ActionSupportbotHandoff(Action):
    """Hand the conversation to a person now (e.g. on an `ask_for_human` intent)."""

    def name(self) -> str:
        return "action_supportbot_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        turn = await _run_turn(tracker, tracker.latest_message.get("text") or "", asks_for_person=True)
        _utter(dispatcher, turn)
        return _events(turn)
