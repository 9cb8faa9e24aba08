"""What the reader makes of a message decides the turn: a person, frustration, small talk or a question; the
patterns stay a floor under it, and a bot that could not help twice in a row calls a person."""

from __future__ import annotations

import pytest

from bot.gates import GateConfig
from bot.reading import Intent
from bot.responder import Responder
from bot.testing import FirstSentenceAnswerer, ScriptedReader, sample_knowledge
from bot.types import Decision, EscalationReason, Message, Participant, Role

CUSTOMER = Participant(role=Role.CUSTOMER, id="c1")
BOT = Participant(role=Role.BOT, id="bot")


def responder(script: dict[str, Intent]) -> Responder:
    return Responder(sample_knowledge(), FirstSentenceAnswerer(), GateConfig(), reader=ScriptedReader(script))


def said(text: str, sender: Participant = CUSTOMER) -> Message:
    return Message(conversation_id="c", channel="web", sender=sender, text=text)


@pytest.mark.parametrize(("text", "intent", "reason"), [
    ("could one of your staff look at this?", Intent.PERSON, EscalationReason.REQUESTED),
    ("this is useless, I've asked three times", Intent.FRUSTRATED, EscalationReason.FRUSTRATED),
])
async def test_a_person_or_frustration_escalates_with_its_own_reason(text: str, intent: Intent,
                                                                     reason: EscalationReason) -> None:
    outcome = await responder({text: intent}).respond(said(text))
    assert outcome.decision is Decision.ESCALATED and outcome.reason is reason, outcome


async def test_the_request_pattern_is_a_floor_under_the_reader() -> None:
    outcome = await responder({}).respond(said("I want to talk to a human"))  # the reader says "question"
    assert outcome.reason is EscalationReason.REQUESTED


async def test_plain_small_talk_stays_small_talk_whatever_the_reader_says() -> None:
    outcome = await responder({}).respond(said("thanks!"))
    assert outcome.handled_as == "thanks" and outcome.decision is Decision.ANSWERED


async def test_the_reader_sends_small_talk_the_patterns_miss_to_a_built_in_reply() -> None:
    text = "heya folks, hope the week treats you well"
    outcome = await responder({text: Intent.GREETING}).respond(said(text))
    assert outcome.handled_as == "greeting"


async def test_a_second_abstention_in_a_row_goes_to_a_person() -> None:
    bot = responder({"tell me a joke": Intent.OFF_TOPIC, "and a poem?": Intent.OFF_TOPIC})
    first = await bot.respond(said("tell me a joke"))
    assert first.handled_as == "off_topic" and first.decision is Decision.ANSWERED
    second = await bot.respond(said("and a poem?"), [said("tell me a joke"), said(first.text, BOT)])
    assert second.decision is Decision.ESCALATED and second.reason is EscalationReason.FRUSTRATED, second


async def test_an_abstention_after_an_answer_is_still_a_built_in_reply() -> None:
    bot = responder({"tell me a joke": Intent.OFF_TOPIC})
    outcome = await bot.respond(said("tell me a joke"), [said("hi"), said("Hello! Ask me anything.", BOT)])
    assert outcome.handled_as == "off_topic"
