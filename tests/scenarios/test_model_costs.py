"""What models cost: every call's tokens and price on the turn, summed in the journal, analytics (API and CSV)
and /metrics; and past the month's budget, a model writes only drafts that agents review, as the console says.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from bot.runner import InlineTaskRunner
from bot.testing import sample_knowledge
from bot.types import Decision
from knowledge.providers import ModelSpec
from service.asgi import create_app
from service.container import Container, build_container
from service.settings import Settings
from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.scripted import Scripted
from tests.scenarios.test_model_chain import GOOD, QUESTION, ask

AGENT = {"Authorization": "Bearer agent-secret", "X-Agent": "alice"}
CLAUDE = "anthropic:claude-stand-in"
GPT = "openai:gpt-stand-in"


@pytest.fixture
def fakes() -> Iterator[tuple[FakeAnthropic, FakeOpenAI]]:
    anthropic, openai = FakeAnthropic(), FakeOpenAI()
    yield anthropic, openai
    anthropic.close()
    openai.close()


def priced(settings: Settings, fakes: tuple[FakeAnthropic, FakeOpenAI], **changes: Any) -> Settings:
    anthropic, openai = fakes
    settings.llm_models = [
        ModelSpec(provider="anthropic", model="claude-stand-in", base_url=anthropic.base_url, price_in=3,
                  price_out=15),
        ModelSpec(provider="openai", model="gpt-stand-in", base_url=openai.base_url, price_in=0.15, price_out=0.6)]
    settings.llm_route = "always"
    for name, value in changes.items():
        setattr(settings, name, value)
    return settings


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_costs_are_counted_per_call_and_summed_everywhere(settings: Settings,
                                                                fakes: tuple[FakeAnthropic, FakeOpenAI]) -> None:
    anthropic, openai = fakes
    bot = build_container(priced(settings, fakes), runner=InlineTaskRunner(), knowledge=sample_knowledge())
    before = {"cost": metric("supportbot_model_cost_total", model=CLAUDE, channel="email"),
              "tokens": metric("supportbot_model_tokens_total", model=GPT, direction="input"),
              "calls": metric("supportbot_model_calls_total", model=CLAUDE, outcome="malformed")}
    try:
        # the first model answers; next it answers without citing a passage (billed all the same), the second does
        anthropic.replies.append(Scripted(GOOD, input_tokens=1500, output_tokens=100))
        anthropic.replies.append(Scripted("Just go to Settings.", input_tokens=1000, output_tokens=200))
        openai.replies.append(Scripted(GOOD, input_tokens=2000, output_tokens=300))
        plain = await ask(bot, QUESTION)
        fallback = await ask(bot, QUESTION)
        entries = await bot.journal.export()
        spent = await bot.extras["model_budget"].spent()
    finally:
        await bot.close()

    assert plain.outcome is not None and fallback.outcome is not None
    assert [c.cost for c in plain.outcome.model_calls] == [pytest.approx(0.0060)]  # 1500*3 + 100*15 per million
    assert [(c.model, c.outcome, c.input_tokens, c.output_tokens, c.cost) for c in fallback.outcome.model_calls] == [
        (CLAUDE, "malformed", 1000, 200, pytest.approx(0.006)), (GPT, "ok", 2000, 300, pytest.approx(0.00048))]
    total = 0.006 + 0.00048 + 0.006

    turns = [e for e in entries if e["kind"] == "turn"]
    assert [t["answered_by"] for t in turns] == [CLAUDE, GPT]
    assert sum(c["cost"] for t in turns for c in t["model_calls"]) == pytest.approx(total)
    assert spent == pytest.approx(total)  # the month's counter in Redis

    assert metric("supportbot_model_cost_total", model=CLAUDE, channel="email") - before["cost"] == \
        pytest.approx(0.012)
    assert metric("supportbot_model_tokens_total", model=GPT, direction="input") - before["tokens"] == 2000
    assert metric("supportbot_model_calls_total", model=CLAUDE, outcome="malformed") - before["calls"] == 1

    # analytics, as the console's API and CSV give it
    with TestClient(create_app(settings, build_container(settings, runner=InlineTaskRunner(),
                                                         knowledge=sample_knowledge()))) as client:
        data = client.get("/api/agent/analytics?days=7", headers=AGENT).json()
        exported = client.get("/api/agent/analytics.csv?days=7", headers=AGENT).text
    [row] = data["rows"]
    assert (row["channel"], row["model_calls"], row["model_failures"], row["model_turns"]) == ("email", 3, 1, 2)
    assert (row["model_input_tokens"], row["model_output_tokens"]) == (4500, 600)
    assert row["model_cost"] == pytest.approx(total)
    assert data["totals"]["model_cost"] == pytest.approx(total)
    assert data["model_budget"]["spent"] == pytest.approx(total) and data["model_budget"]["drafts_only"] is False
    [csv_row] = csv.DictReader(io.StringIO(exported))
    assert float(csv_row["model_cost"]) == pytest.approx(total) and csv_row["model_input_tokens"] == "4500"


async def test_past_the_budget_a_model_only_writes_drafts_and_the_console_says_so(
        settings: Settings, fakes: tuple[FakeAnthropic, FakeOpenAI]) -> None:
    anthropic, _ = fakes
    bot = build_container(priced(settings, fakes, llm_monthly_budget=0.005), runner=InlineTaskRunner(),
                          knowledge=sample_knowledge())
    try:
        anthropic.replies += [Scripted(GOOD, input_tokens=1000, output_tokens=200),
                              Scripted(GOOD, input_tokens=1000, output_tokens=200)]
        under = await ask(bot, QUESTION)  # within the budget: sent to the customer (and the budget is now spent)
        over = await ask(bot, QUESTION, channel="web")
        handoff = await bot.queue.get(over.handoff_id) if over.handoff_id else None
    finally:
        await bot.close()
    assert under.outcome is not None and under.outcome.decision is Decision.ANSWERED
    assert over.outcome is not None and over.outcome.decision is Decision.DRAFTED
    assert "budget" in over.outcome.explanation and over.outcome.answered_by == CLAUDE
    assert over.replies == []  # nothing reached the customer
    assert handoff is not None and handoff.draft is not None and "Settings" in handoff.draft.text  # agents see it
    assert not anthropic.requests[1].get("stream")  # a draft is not streamed to the widget

    with TestClient(create_app(settings, build_container(settings, runner=InlineTaskRunner(),
                                                         knowledge=sample_knowledge()))) as client:
        budget = client.get("/api/agent/analytics", headers=AGENT).json()["model_budget"]
    assert budget["drafts_only"] is True and budget["monthly_budget"] == 0.005
    assert budget["spent"] == pytest.approx(0.012)


async def test_without_models_the_console_shows_no_budget(settings: Settings, container: Container) -> None:
    with TestClient(create_app(settings, container)) as client:
        assert client.get("/api/agent/analytics", headers=AGENT).json()["model_budget"] is None
