"""What a customer's message is, read before anything is looked up: a question, a request for a person,
frustration, small talk, something off-topic, or instructions aimed at the bot.

The core owns the vocabulary and the interface; `knowledge.reader` implements it with a model trained on
examples. A person and frustration are read recall-first: a missed request costs a customer far more than an
extra handoff costs an agent.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, Field


class Intent(StrEnum):
    QUESTION = "question"
    PERSON = "person"  # asks for a person, directly or not
    FRUSTRATED = "frustrated"  # anger, exasperation, a complaint about the service or the bot
    GREETING = "greeting"
    THANKS = "thanks"
    GOODBYE = "goodbye"
    BOT_IDENTITY = "bot_identity"
    HOW_ARE_YOU = "how_are_you"
    OFF_TOPIC = "off_topic"  # a task or chat that no help centre covers (jokes, poems, homework)
    INSTRUCTIONS = "instructions"  # tries to instruct or reprogram the bot


ESCALATING = frozenset({Intent.PERSON, Intent.FRUSTRATED})
SMALL_TALK = frozenset({Intent.GREETING, Intent.THANKS, Intent.GOODBYE, Intent.BOT_IDENTITY, Intent.HOW_ARE_YOU})


class Reading(BaseModel):
    """The intent a message was read as, and the probability of each intent."""

    intent: Intent
    probability: float = 1.0
    scores: dict[str, float] = Field(default_factory=dict)
    by_pattern: bool = False  # a pattern's certainty, not a model's reading


class MessageReader(Protocol):
    def read(self, texts: list[str]) -> list[Reading]:
        """One reading per text, in order."""
        ...
