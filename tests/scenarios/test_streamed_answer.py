"""A model's answer reaches the widget as it is written, a sentence at a time, each only once the passages back
it; a sentence they do not back stops the answer, takes back what was shown, and hands the turn to a person.

The events are read where the widget's socket reads them: the conversation's live channel (Redis pub/sub
through the live hub), while the real langchain clients stream from local servers speaking OpenAI's and
Anthropic's server-sent events.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.dialogue import Turn
from bot.runner import InlineTaskRunner
from bot.testing import sample_knowledge
from bot.types import Decision, Message, Participant, Role
from knowledge.providers import ModelSpec
from service.container import Container, build_container
from service.settings import Settings
from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.scripted import Scripted

CUSTOMER = Participant(role=Role.CUSTOMER, id="c1")
QUESTION = "How do I reset my password?"
FIRST = "To reset your password open Settings, choose Security and click Reset password"
SECOND = "A reset link is emailed and stays valid for 30 minutes"
INVENTED = "As an apology we credit your account with 500 dollars"


@pytest.fixture(params=["anthropic", "openai"])
def model(request: pytest.FixtureRequest) -> Iterator[tuple[ModelSpec, Any]]:
    fake: Any = FakeAnthropic() if request.param == "anthropic" else FakeOpenAI()
    yield ModelSpec(provider=request.param, model="stand-in", base_url=fake.base_url, timeout=10), fake
    fake.close()


@pytest.fixture
async def bot(settings: Settings, model: tuple[ModelSpec, Any]) -> AsyncIterator[Container]:
    settings.llm_models = [model[0]]
    settings.llm_route = "always"
    built = build_container(settings, runner=InlineTaskRunner(), knowledge=sample_knowledge())
    yield built
    await built.close()


@dataclass
class Seen:
    """Live events in the order they arrived, each with how many pieces the model server had sent by then."""

    events: list[tuple[dict[str, Any], int]] = field(default_factory=list)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e, _ in self.events if e.get("type") == kind]


async def ask_watching(bot: Container, fake: Any, text: str, channel: str = "web") -> tuple[Turn, Seen]:
    state = await bot.dialogue.start(channel, CUSTOMER)
    subscription = await bot.store.subscribe(state.id)
    seen, done = Seen(), asyncio.Event()

    async def watch() -> None:
        while not done.is_set():
            event = await subscription.get(timeout=0.05)
            if event is not None:
                seen.events.append((event, len(fake.streamed)))

    watcher = asyncio.create_task(watch())
    try:
        turn = await bot.dialogue.handle(Message(conversation_id=state.id, channel=channel, sender=CUSTOMER,
                                                 text=text))
        await bot.runner.drain()  # type: ignore[attr-defined]
        await asyncio.sleep(0.3)  # the last events' way through Redis
    finally:
        done.set()
        await watcher
        await subscription.close()
    return turn, seen


async def test_sentences_are_shown_as_the_model_writes_them(bot: Container, model: tuple[ModelSpec, Any]) -> None:
    fake = model[1]
    reply = Scripted(f"{FIRST} [1]. {SECOND} [1].", word_delay=0.05)
    fake.replies.append(reply)
    turn, seen = await ask_watching(bot, fake, QUESTION)
    assert turn.outcome is not None and turn.outcome.decision is Decision.ANSWERED, turn.outcome
    streamed = seen.of("stream")
    assert [(e["index"], e["text"]) for e in streamed] == [(0, FIRST + "."), (1, SECOND + ".")]
    assert {e["stream"] for e in streamed} == {turn.replies[0].raw["reply_to"]}  # the question's id
    # the first sentence was out before the model had finished writing the second
    first_at = next(sent for e, sent in seen.events if e.get("type") == "stream")
    assert first_at < len(reply.words())
    # then the stored reply, which the widget shows in place of the streamed sentences
    kinds = [e["type"] for e, _ in seen.events if e["type"] != "status"]
    assert kinds.index("stream") < len(kinds) - 1 and kinds[-1] == "message"
    assert seen.of("stream_withdrawn") == []
    assert turn.outcome.signals["streamed_sentences"] == 2
    call = turn.outcome.model_calls[0]
    assert call.outcome == "ok" and call.output_tokens == len(reply.words())  # as the provider reported them


async def test_an_unsupported_sentence_stops_the_answer_and_takes_back_what_was_shown(
        bot: Container, model: tuple[ModelSpec, Any]) -> None:
    fake = model[1]
    reply = Scripted(f"{FIRST} [1]. {INVENTED} [1]. {SECOND} [1]. Is there anything else I can help with today "
                     "regarding your account settings or your password?", word_delay=0.05)
    fake.replies.append(reply)
    turn, seen = await ask_watching(bot, fake, QUESTION)
    assert [e["text"] for e in seen.of("stream")] == [FIRST + "."]  # the invented sentence was never shown
    [withdrawn] = seen.of("stream_withdrawn")
    assert withdrawn["text"].startswith("That answer was withdrawn")
    kinds = [e["type"] for e, _ in seen.events]
    assert kinds.index("stream") < kinds.index("stream_withdrawn")
    assert turn.outcome is not None and turn.outcome.decision is Decision.DRAFTED  # a person checks it
    assert turn.outcome.model_calls[0].outcome == "withdrawn"
    assert turn.replies == [] and INVENTED not in str(seen.events)
    await asyncio.sleep(0.5)
    assert len(fake.streamed) < len(reply.words())  # the stream was closed: the model stopped writing


async def test_an_answer_the_gate_holds_back_after_streaming_is_withdrawn(
        bot: Container, model: tuple[ModelSpec, Any]) -> None:
    bot.dialogue.responder.gates.thresholds.min_confidence = 0.99  # no answer is sure enough to send
    fake = model[1]
    fake.replies.append(Scripted(f"{SECOND} [1].", word_delay=0.01))
    turn, seen = await ask_watching(bot, fake, "Is the reset link sent by SMS?")
    assert turn.outcome is not None and turn.outcome.decision is Decision.ESCALATED, turn.outcome
    assert [e["text"] for e in seen.of("stream")] == [SECOND + "."]
    assert len(seen.of("stream_withdrawn")) == 1


async def test_channels_that_cannot_show_a_stream_get_the_whole_answer(
        bot: Container, model: tuple[ModelSpec, Any]) -> None:
    fake = model[1]
    fake.replies.append(f"{FIRST} [1].")
    started = time.perf_counter()
    turn, seen = await ask_watching(bot, fake, QUESTION, channel="email")
    assert time.perf_counter() - started < 10
    assert turn.outcome is not None and turn.outcome.decision is Decision.ANSWERED
    assert seen.of("stream") == [] and not fake.requests[0].get("stream")
