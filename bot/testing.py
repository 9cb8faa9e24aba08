"""Fakes shipped with the product, registered as a pytest plugin (`pytest_plugins = ["bot.testing"]`).

They are real, small implementations of the protocols (word-overlap retrieval, first-sentence answers),
so scenario tests exercise the whole dialogue path without loading an embedding model.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence

from bot.ports import Answer, Exchange, Passage, Prediction
from bot.reading import Intent, Reading
from bot.types import Citation

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset("a an the is are do does i my me to of in on for how what can you your it and or with".split())


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


class InMemoryKnowledgeBase:
    """Scores passages by the share of the question's words they contain."""

    def __init__(self, passages: list[Passage] | None = None, delay: float = 0.0) -> None:
        self.passages = list(passages or [])
        self.delay = delay
        self.calls = 0

    def add(self, id: str, title: str, text: str, source: str = "") -> None:
        self.passages.append(Passage(id=id, title=title, text=text, source=source or f"{id}.md"))

    async def search(self, query: str, *, k: int = 4, context: Sequence[str] = (),
                     reply_passages: Sequence[str] = ()) -> list[Passage]:
        self.calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        words = _words(query)
        scored = []
        for p in self.passages:
            overlap = len(words & _words(p.title + " " + p.text)) / max(1, len(words))
            scored.append(p.model_copy(update={"score": round(overlap, 4)}))
        return sorted(scored, key=lambda p: p.score, reverse=True)[:k]


class FirstSentenceAnswerer:
    """Answers with the best passage's first sentence, citing it."""

    async def answer(self, question: str, passages: list[Passage], history: Sequence[Exchange] = ()) -> Answer:
        if not passages:
            return Answer(text="")
        best = passages[0]
        sentence = re.split(r"(?<=[.!?])\s+", best.text.strip())[0]
        return Answer(text=sentence, citations=[best.citation()], support=1.0)


class FailingKnowledgeBase:
    """Raises on every search: the path that must still end in a handoff."""

    async def search(self, query: str, *, k: int = 4, context: Sequence[str] = (),
                     reply_passages: Sequence[str] = ()) -> list[Passage]:
        raise RuntimeError("knowledge base unavailable")


class KeywordCategorizer:
    """Label by keyword; no keyword means `oos`."""

    def __init__(self, keywords: dict[str, list[str]]) -> None:
        self.keywords = keywords

    def predict(self, texts: list[str]) -> list[Prediction]:
        out = []
        for text in texts:
            words = _words(text)
            label = next((c for c, kws in self.keywords.items() if words & set(kws)), "oos")
            out.append(Prediction(label=label, probability=0.9))
        return out


def sample_knowledge() -> InMemoryKnowledgeBase:
    kb = InMemoryKnowledgeBase()
    kb.add("reset", "Resetting your password",
           "To reset your password open Settings, choose Security and click Reset password. "
           "A reset link is emailed and stays valid for 30 minutes.")
    kb.add("refund", "Refunds", "Refunds are issued to the original card within 5 business days. "
           "Annual plans can be refunded within 14 days of purchase.")
    return kb


def citation_titles(citations: list[Citation] | tuple[Citation, ...]) -> list[str]:
    return [c.title for c in citations]


class ScriptedReader:
    """Reads each text as the intent it was scripted with, and anything else as a question."""

    def __init__(self, script: dict[str, Intent]) -> None:
        self.script = script

    def read(self, texts: list[str]) -> list[Reading]:
        return [Reading(intent=self.script.get(t, Intent.QUESTION), probability=0.9) for t in texts]
