"""Protocols the dialogue manager sees: search passages, compose a grounded answer."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, Field

from bot.types import Citation


class Passage(BaseModel):
    """A chunk of a help-center document with its similarity to the query (0..1, higher is closer)."""

    id: str
    text: str
    title: str
    source: str
    score: float = 0.0

    def citation(self) -> Citation:
        return Citation(title=self.title, source=self.source, passage_id=self.id,
                        snippet=self.text[:280], score=round(self.score, 4))


class Answer(BaseModel):
    """A reply built only from passages; `support` is how much of it the passages back (0..1)."""

    text: str
    citations: list[Citation] = Field(default_factory=list)
    support: float = 0.0
    unsupported_sentences: list[str] = Field(default_factory=list)


class KnowledgeBase(Protocol):
    async def search(self, query: str, *, k: int = 4) -> list[Passage]:
        """Best passages first."""
        ...


class Answerer(Protocol):
    async def answer(self, question: str, passages: list[Passage]) -> Answer:
        """Compose an answer from the passages alone; empty text when they do not answer."""
        ...


class Prediction(BaseModel):
    label: str
    probability: float


class Categorizer(Protocol):
    def predict(self, texts: list[str]) -> list[Prediction]:
        """Label per text; `unknown` / `oos` below the trained threshold."""
        ...
