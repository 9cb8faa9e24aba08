"""The golden set: what a correct support reply on the sample help centre is, case by case (cases.yml).

Each case is a customer's message, after its earlier messages went through the same bot, and what the reply
must be: answered with the page's facts and citing the page, handed to a person for the right reason, or a
built-in reply. The expectations come from the pages, so a change that makes answers worse fails here by name.
A case the bot gets wrong today says so (`known_failure`, what it does instead) and is expected to fail: one
that starts passing fails too, until its note is removed, so the list only ever shrinks on purpose.
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path
from typing import Literal

import pytest
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from service.cli import SAMPLE_DOCS
from service.container import Container
from tests.golden.harness import Customer, normalized, page_text

CASES_FILE = Path(__file__).with_name("cases.yml")
Kind = Literal["direct", "follow_up", "yes_no", "condition", "two_part", "unanswerable", "person", "frustrated",
               "small_talk", "off_topic", "instructions"]
LABELS = {"answered", "escalated", "drafted", "greeting", "thanks", "goodbye", "bot_identity", "how_are_you",
          "off_topic", "instructions"}
MIN_CASES, MIN_PER_KIND = 70, 5


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    kind: Kind
    say: str
    history: list[str] = Field(default_factory=list)
    decision: list[str]
    reason: str | None = None
    must_contain: list[str] = Field(default_factory=list)
    must_not_contain: list[str] = Field(default_factory=list)
    cites: str | None = None
    known_failure: str | None = None  # what the bot does wrong today: the case must fail until it is fixed

    @field_validator("decision", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


@cache
def cases() -> tuple[Case, ...]:
    data = yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))
    return tuple(Case.model_validate(raw) for raw in data["cases"])


def test_the_set_covers_every_kind_with_sound_expectations() -> None:
    """The set itself: big enough, every kind at least five times, and every fact on the page it cites."""
    kinds = Counter(case.kind for case in cases())
    assert len(cases()) >= MIN_CASES
    assert {kind: n for kind, n in kinds.items() if n < MIN_PER_KIND} == {}
    assert set(kinds) == set(Kind.__args__)  # type: ignore[attr-defined]
    assert len({case.id for case in cases()}) == len(cases()), "case ids are unique"
    for case in cases():
        assert set(case.decision) <= LABELS, case.id
        if case.decision == ["answered"]:
            assert case.must_contain and case.cites, f"{case.id}: an answer names its facts and its page"
        if case.cites:
            assert (SAMPLE_DOCS / case.cites).is_file(), case.id
            page = page_text(case.cites)
            assert [f for f in case.must_contain if normalized(f) not in page] == [], f"{case.id}: not on the page"


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("case", [
    pytest.param(case, id=case.id, marks=[pytest.mark.xfail(strict=True, reason=case.known_failure)]
                 if case.known_failure else []) for case in cases()])
async def test_golden_case(golden_bot: Container, case: Case) -> None:
    said = await Customer(golden_bot).converse(case.history, case.say)
    got = f"{case.id}: the bot said {said.describe()} (earlier turns: {said.earlier})"
    assert said.label in case.decision, got
    if case.reason is not None:
        assert said.reason == case.reason, got
    reply = normalized(said.text)
    assert [f for f in case.must_contain if normalized(f) not in reply] == [], got
    assert [f for f in case.must_not_contain if normalized(f) in reply] == [], got
    if case.cites:
        assert said.first_page == case.cites, got
