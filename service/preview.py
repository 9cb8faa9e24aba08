"""What the bot would do with one message, without a conversation or a handoff: `supportbot ask` runs it in the
command, `supportbot ask --url --preview` asks a running server (`POST /api/agent/preview`), whose gates then
include the phases changed on its admin page and its proven confidence floors."""

# No `from __future__ import annotations` here: FastAPI must see the `Agent` alias as a real object.
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from bot.dialogue import DialogueManager
from bot.types import NOT_BLANK, Message, Participant, Role, Text, TurnOutcome, not_blank
from connectors.console.auth import ConsoleAuth, Identity

PREVIEWER = Participant(role=Role.CUSTOMER, id="preview")


class Question(BaseModel):
    text: Annotated[Text, not_blank("text is empty")] = Field(
        max_length=20_000, json_schema_extra={"minLength": 1, "pattern": NOT_BLANK})
    channel: Text = Field("web", min_length=1, max_length=64, description="the channel whose phase gates apply")


class Source(BaseModel):
    title: str
    source: str


class Preview(BaseModel):
    """The bot's decision and the text it would send (an answer) or put up for review (a draft)."""

    decision: str = Field(description="answered, drafted or escalated")
    text: str
    citations: list[Source]
    confidence: float
    reason: str | None
    explanation: str
    category: str
    phase: str
    handled_as: str
    searched: str


def preview_of(outcome: TurnOutcome) -> Preview:
    return Preview(decision=outcome.decision.value, text=outcome.text,
                   citations=[Source(title=c.title, source=c.source) for c in outcome.citations],
                   confidence=outcome.confidence, reason=outcome.reason.value if outcome.reason else None,
                   explanation=outcome.explanation, category=outcome.category, phase=outcome.phase.value,
                   handled_as=outcome.handled_as, searched=outcome.searched)


async def preview(dialogue: DialogueManager, text: str, channel: str = "web") -> Preview:
    """The responder alone: the dialogue manager's path without its effects (no stored message, no handoff)."""
    message = Message(conversation_id="preview", channel=channel, sender=PREVIEWER, text=text)
    return preview_of(await dialogue.responder.respond(message))


def preview_router(dialogue: DialogueManager, auth: ConsoleAuth) -> APIRouter:
    """For agents only: a draft's text is for people to review before any customer reads it."""
    router = APIRouter(prefix="/api/agent")
    Agent = Annotated[Identity, Depends(auth.identify)]

    @router.post("/preview")
    async def previewed(who: Agent, body: Question) -> Preview:
        return await preview(dialogue, body.text, body.channel)

    return router
