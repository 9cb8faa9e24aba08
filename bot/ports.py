"""What the core needs from a knowledge base, an answer composer and a categorizer.

The core owns these interfaces; `knowledge/` implements them (Chroma, the extractive composer, a chat model,
the trained categorizer), and `bot.testing` has fakes.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel, Field

from bot.excerpt import excerpt, first_used_sentence
from bot.types import Citation, ModelCall, Phase


class Passage(BaseModel):
    """A chunk of a help-centre page with its similarity to the query (0..1, higher is closer).

    `section_text` is the whole section the chunk was cut from (its heading is `section`), so a composer
    can answer with a complete list or paragraph rather than the piece that happened to match.
    """

    id: str
    text: str
    title: str
    source: str
    score: float = 0.0
    section: str = ""
    section_text: str = ""

    def citation(self, used: str = "") -> Citation:
        """`used` is the answer built on this passage: the snippet starts at the first sentence it repeats,
        so the agent reviewing a draft sees where it came from."""
        source = self.section_text if used and self.section_text else self.text
        start = first_used_sentence(source, used)
        if not start and source is not self.text:
            source, start = self.text, first_used_sentence(self.text, used)
        return Citation(title=self.title, source=self.source, passage_id=self.id, snippet=excerpt(source, start),
                        score=round(self.score, 4), section=self.section)


class Answer(BaseModel):
    """A reply built only from passages.

    `support` is how much of it the passages back (0..1); `grounding` is how well the chosen text addresses
    what was asked (its key terms found there, not only a similar topic), the signal that tells a right
    answer from a confident wrong one.
    """

    text: str
    citations: list[Citation] = Field(default_factory=list)
    support: float = 0.0
    grounding: float = 1.0
    unsupported_sentences: list[str] = Field(default_factory=list)
    uncovered: list[str] = Field(default_factory=list)  # parts of the question no passage answers
    measures: dict[str, float] = Field(default_factory=dict)  # what `grounding` was computed from
    answered_by: str = ""  # "composer" or the model that wrote it; empty: the answerer does not say
    model_calls: list[ModelCall] = Field(default_factory=list)  # what asking models for it cost
    draft_only: str = ""  # why this answer may only reach an agent as a draft (a spent model budget)


class Exchange(BaseModel):
    """One earlier turn of the conversation as the answering side sees it."""

    role: str  # "customer" or "support"
    text: str
    passages: list[str] = []  # ids of the passages a support reply was composed from


def last_said(history: Sequence[Exchange], role: str) -> str:
    """The latest thing `role` ("customer" or "support") said, or "" when they have said nothing yet."""
    return next((e.text for e in reversed(history) if e.role == role), "")


class KnowledgeBase(Protocol):
    async def search(self, query: str, *, k: int = 4, context: Sequence[str] = (),
                     reply_passages: Sequence[str] = ()) -> list[Passage]:
        """Best passages first; `context` (earlier turns, oldest first) steers follow-ups, at a lower weight.
        `reply_passages` are the passages the last reply (the last of `context`) was composed from: a knowledge
        base that holds their vectors may let them stand for the reply's words instead of encoding them."""
        ...


class Speller(Protocol):
    async def correct(self, text: str) -> str:
        """The text with misspelt words replaced by the help centre's own; anything else untouched."""
        ...


@dataclass(frozen=True)
class AnsweringContext:
    """The turn an answer is composed for, as far as an answerer may care: a chain of answerers decides by it
    whether a paid model is worth asking, and where to show a streamed answer."""

    conversation_id: str = ""
    message_id: str = ""
    channel: str = ""
    category: str = "general"
    phase: Phase = Phase.FULL
    prose: bool = False  # the category asks for a model's prose even where the composer is confident
    min_grounding: float = 0.0  # the category's floor: a composer's answer above it is a confident one


# set by the responder around `Answerer.answer`, so the protocol stays three arguments for every answerer
ANSWERING: ContextVar[AnsweringContext] = ContextVar("supportbot_answering",
                                                     default=AnsweringContext())  # noqa: B039 (frozen)


class Answerer(Protocol):
    async def answer(self, question: str, passages: list[Passage], history: Sequence[Exchange] = ()) -> Answer:
        """Compose an answer from the passages alone; empty text when they do not answer."""
        ...


class Prediction(BaseModel):
    label: str
    probability: float


class Categorizer(Protocol):
    def predict(self, texts: list[str]) -> list[Prediction]:
        """Label per text; `unknown` / `oos` below the trained threshold."""
        ...
