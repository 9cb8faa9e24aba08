"""Language models by configuration: the provider is a setting, a failing or slow model hands the turn to the
next one, and the offline composer answers where it is confident or where no model could.

The real langchain clients talk to local servers speaking OpenAI's chat completions and Anthropic's messages
wire formats; the turns run through the whole bot on a real Redis.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
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
QUESTION = "How do I reset my password?"  # the composer answers it with confidence
UNSURE = "Is the reset link sent by SMS?"  # the composer finds a passage, but is not sure it answers
GOOD = "To reset your password open Settings, choose Security and click Reset password [1]."
KEY = "STANDIN_ANTHROPIC_KEY"


@pytest.fixture
def anthropic() -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic()
    yield fake
    fake.close()


@pytest.fixture
def openai() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI()
    yield fake
    fake.close()


def claude(fake: FakeAnthropic, **extra: Any) -> ModelSpec:
    return ModelSpec.model_validate({"provider": "anthropic", "model": "claude-stand-in", "base_url": fake.base_url,
                                     "api_key_env": KEY, "timeout": 5, **extra})


def gpt(fake: FakeOpenAI, **extra: Any) -> ModelSpec:
    return ModelSpec.model_validate({"provider": "openai", "model": "gpt-stand-in", "base_url": fake.base_url,
                                     "timeout": 5, **extra})


@pytest.fixture
async def bots(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Any]:
    """Builds a bot from the settings as a deployment would (the shipped composer, the configured models)."""
    monkeypatch.setenv(KEY, "sk-ant-stand-in")
    built: list[Container] = []

    def build(**changes: Any) -> Container:
        configured = settings.model_copy(update=changes)
        container = build_container(configured, runner=InlineTaskRunner(), knowledge=sample_knowledge())
        built.append(container)
        return container

    yield build
    for container in built:
        await container.close()


async def ask(bot: Container, text: str, channel: str = "email") -> Turn:
    """A turn on a channel that does not stream (the widget's streaming has tests of its own)."""
    state = await bot.dialogue.start(channel, CUSTOMER)
    turn = await bot.dialogue.handle(Message(conversation_id=state.id, channel=channel, sender=CUSTOMER, text=text))
    await bot.runner.drain()  # type: ignore[attr-defined]
    return turn


async def test_the_provider_is_chosen_by_settings_alone(bots: Any, anthropic: FakeAnthropic,
                                                        openai: FakeOpenAI) -> None:
    anthropic.replies.append(GOOD)
    turn = await ask(bots(llm_models=[claude(anthropic)], llm_route="always"), QUESTION)
    assert turn.outcome is not None and turn.outcome.decision is Decision.ANSWERED, turn.outcome
    assert turn.outcome.answered_by == "anthropic:claude-stand-in"
    [request] = anthropic.requests
    assert request["model"] == "claude-stand-in" and '<passage id="1"' in request["messages"][-1]["content"]
    sent = anthropic.headers[0]  # the key comes from the variable the spec names (the SDK sends either header)
    assert "sk-ant-stand-in" in (sent.get("x-api-key"), sent.get("authorization", "").removeprefix("Bearer "))
    assert openai.requests == []

    openai.replies.append(GOOD)
    turn = await ask(bots(llm_models=[gpt(openai)], llm_route="always"), QUESTION)
    assert turn.outcome is not None and turn.outcome.answered_by == "openai:gpt-stand-in"
    assert turn.replies[0].citations[0].title == "Resetting your password"
    assert len(openai.requests) == 1 and len(anthropic.requests) == 1


def test_models_are_read_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORTBOT_LLM_MODELS", '[{"provider": "anthropic", "model": "claude-haiku", '
                                                '"api_key_env": "ANTHROPIC_API_KEY", "price_in": 1, "price_out": 5},'
                                                ' {"provider": "ollama", "model": "llama3.1"}]')
    models = Settings(_env_file=None).llm_models  # type: ignore[call-arg]
    assert [m.name for m in models] == ["anthropic:claude-haiku", "ollama:llama3.1"]
    assert models[0].cost(1_000_000, 200_000) == pytest.approx(2.0)
    monkeypatch.setenv("SUPPORTBOT_LLM_MODELS", '[{"provider": "azure_openai", "model": "gpt-4o"}]')
    with pytest.raises(ValueError, match="needs base_url"):
        Settings(_env_file=None)  # type: ignore[call-arg]


async def test_a_failing_model_hands_the_turn_to_the_next_and_cools_down(
        bots: Any, anthropic: FakeAnthropic, openai: FakeOpenAI) -> None:
    bot = bots(llm_models=[claude(anthropic), gpt(openai)], llm_route="always", llm_cooldown_seconds=60)
    anthropic.replies.append(Scripted(status=529))  # overloaded
    openai.replies += [GOOD, GOOD]
    turn = await ask(bot, QUESTION)
    assert turn.outcome is not None and turn.outcome.decision is Decision.ANSWERED
    assert turn.outcome.answered_by == "openai:gpt-stand-in"
    assert [(c.model, c.outcome) for c in turn.outcome.model_calls] == [
        ("anthropic:claude-stand-in", "error"), ("openai:gpt-stand-in", "ok")]

    # within the cool-down the failed model is not asked at all
    turn = await ask(bot, QUESTION)
    assert turn.outcome is not None and turn.outcome.answered_by == "openai:gpt-stand-in"
    assert [c.model for c in turn.outcome.model_calls] == ["openai:gpt-stand-in"]
    assert len(anthropic.requests) == 1 and len(openai.requests) == 2


async def test_a_cooled_down_model_is_tried_again(bots: Any, anthropic: FakeAnthropic, openai: FakeOpenAI) -> None:
    bot = bots(llm_models=[claude(anthropic), gpt(openai)], llm_route="always", llm_cooldown_seconds=0.2)
    anthropic.replies += [Scripted(status=500), GOOD]
    openai.replies.append(GOOD)
    await ask(bot, QUESTION)
    await asyncio.sleep(0.3)
    turn = await ask(bot, QUESTION)
    assert turn.outcome is not None and turn.outcome.answered_by == "anthropic:claude-stand-in"
    assert len(anthropic.requests) == 2


async def test_a_slow_model_times_out_and_the_next_one_answers(bots: Any, anthropic: FakeAnthropic,
                                                               openai: FakeOpenAI) -> None:
    bot = bots(llm_models=[claude(anthropic, timeout=0.5), gpt(openai)], llm_route="always")
    anthropic.replies.append(Scripted(GOOD, delay=3))
    openai.replies.append(GOOD)
    started = time.perf_counter()
    turn = await ask(bot, QUESTION)
    assert time.perf_counter() - started < 2.5  # the customer did not wait for the slow one
    assert turn.outcome is not None and turn.outcome.answered_by == "openai:gpt-stand-in"
    assert [c.outcome for c in turn.outcome.model_calls] == ["timeout", "ok"]
    assert turn.outcome.model_calls[0].seconds == pytest.approx(0.5, abs=0.3)


@pytest.mark.parametrize(("reply", "outcome"), [
    (Scripted(body=b'{"id": "msg_1", "type": "message", "content": [{"type": "te'), "error"),  # cut-off JSON
    (Scripted("Sure, just open Settings and reset it, it is easy."), "malformed"),  # cites no passage
    (Scripted("You can reset it in Settings [7]."), "malformed"),  # cites a passage it was never given
])
async def test_malformed_output_is_skipped(bots: Any, anthropic: FakeAnthropic, openai: FakeOpenAI,
                                           reply: Scripted, outcome: str) -> None:
    bot = bots(llm_models=[claude(anthropic), gpt(openai)], llm_route="always")
    anthropic.replies.append(reply)
    openai.replies.append(GOOD)
    turn = await ask(bot, QUESTION)
    assert turn.outcome is not None and turn.outcome.decision is Decision.ANSWERED
    assert [c.outcome for c in turn.outcome.model_calls] == [outcome, "ok"]
    assert turn.outcome.answered_by == "openai:gpt-stand-in"


async def test_when_every_model_fails_the_customer_still_gets_a_reply(bots: Any, anthropic: FakeAnthropic,
                                                                      openai: FakeOpenAI) -> None:
    bot = bots(llm_models=[claude(anthropic), gpt(openai)], llm_route="always")
    anthropic.replies += [Scripted(status=500), Scripted(status=500)]
    openai.replies += [Scripted(status=503), Scripted(status=503)]
    turn = await ask(bot, QUESTION)  # the composer's own answer goes out
    assert turn.outcome is not None and turn.outcome.decision is Decision.ANSWERED
    assert turn.outcome.answered_by == "composer"
    assert [c.outcome for c in turn.outcome.model_calls] == ["error", "error"]
    assert "Settings" in turn.replies[0].text

    bot = bots(llm_models=[claude(anthropic), gpt(openai)], llm_route="always")
    turn = await ask(bot, UNSURE)  # the composer is not sure either: a person takes it, and the customer hears so
    assert turn.outcome is not None and turn.outcome.decision is Decision.ESCALATED
    assert turn.replies and turn.replies[0].sender.role is Role.SYSTEM


async def test_the_model_is_asked_only_where_the_composer_abstains(bots: Any, openai: FakeOpenAI) -> None:
    bot = bots(llm_models=[gpt(openai)])  # routing by value is the default
    turn = await ask(bot, QUESTION)
    assert turn.outcome is not None and turn.outcome.decision is Decision.ANSWERED
    assert turn.outcome.answered_by == "composer" and turn.outcome.model_calls == []
    assert openai.requests == []

    openai.replies.append("Yes, a reset link is emailed [1]. The passages do not mention SMS.")
    turn = await ask(bot, UNSURE)
    assert len(openai.requests) == 1
    assert turn.outcome is not None and turn.outcome.answered_by == "openai:gpt-stand-in"


async def test_a_category_that_asks_for_prose_gets_the_model(bots: Any, openai: FakeOpenAI, tmp_path: Path) -> None:
    categories = tmp_path / "categories.yml"
    categories.write_text("categories:\n  - name: general\n    prose: true\n")
    openai.replies.append(GOOD)
    turn = await ask(bots(llm_models=[gpt(openai)], categories_file=categories), QUESTION)
    assert len(openai.requests) == 1
    assert turn.outcome is not None and turn.outcome.answered_by == "openai:gpt-stand-in"


async def test_a_category_routed_to_people_never_pays_for_a_model(bots: Any, openai: FakeOpenAI,
                                                                  tmp_path: Path) -> None:
    categories = tmp_path / "categories.yml"
    categories.write_text("categories:\n  - name: general\n    phase: categorize\n")
    turn = await ask(bots(llm_models=[gpt(openai)], llm_route="always", categories_file=categories), UNSURE)
    assert turn.outcome is not None and turn.outcome.decision is Decision.ESCALATED
    assert openai.requests == []
