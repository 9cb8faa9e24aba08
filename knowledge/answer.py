"""Grounded answers: an offline extractive composer, and a checker for any answer's sentences.

Document text is data, never instructions: the extractive composer only copies sentences, and drops
candidate sentences that read like instructions to a language model (prompt injection).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import numpy as np

from bot.types import Citation
from knowledge.base import Answer, Passage
from knowledge.embedding import cached_embed

Embedder = Callable[[list[str]], np.ndarray]

# Minimum passage score (title-aware cosine similarity, 0..1, from ChromaKnowledgeBase.search) for a
# passage to be used in an answer. Measured on the sample help center (service/sample_docs) with the
# default search settings: the best passage of 24 in-scope questions scored 0.34-0.85 (the lowest were
# terse ones: "What are your support hours?" 0.34, "What does HTTP 429 mean?" 0.35), while 16 off-topic
# questions ("What is the capital of Mongolia?", recipes, sports, weather, ...) scored 0.04-0.22.
# 0.30 sits in that gap; below it the bot should hand over rather than guess.
DEFAULT_MIN_SCORE = 0.30

# A sentence of someone else's answer counts as backed by the passages when it is (nearly) copied from
# them, or when it is both close in meaning and uses mostly the passages' words, with no new numbers.
SUPPORT_MIN_SIMILARITY = 0.6
SUPPORT_MIN_OVERLAP = 0.6

_INJECTION = re.compile(
    r"ignore (?:all |any |the )?(?:previous|prior|above|earlier|preceding) (?:instructions|prompts?|rules|messages)"
    r"|disregard (?:all |any |the )?(?:previous|prior|above|earlier)"
    r"|forget (?:all |your |the )?(?:previous |prior )?instructions"
    r"|system prompt|developer message|jailbreak"
    r"|you are now\b|from now on,? you|act as (?:an? )?(?:ai|assistant|chatbot|language model)"
    r"|(?:new|updated|override) instructions|do anything now"
    r"|(?:as an?|you are an?) (?:ai|llm|language model|chatbot|assistant)\b"
    r"|reveal (?:your|the) (?:prompt|instructions|system)",
    re.I,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_LIST_MARKER = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+")
_CITATION_MARK = re.compile(r"\s*\[(\d{1,3})\](?:\s*\[(\d{1,3})\])*")
_TOKEN = re.compile(r"[a-z0-9]+(?:[.,:/-][a-z0-9]+)*")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_STOPWORDS = frozenset(
    "a an the and or but if of to in on at by for with from as is are was were be been being it its this that "
    "these those you your yours we our us they them their i me my he she his her do does did can could will "
    "would should may might must not no so than then there here what which who whom how when where why all any "
    "each other some such only own same too very just also into out up down over under again about after before "
    "has have had having once more most both few until while because through during per".split()
)


def looks_like_injection(sentence: str) -> bool:
    """Text that addresses a language model rather than a customer."""
    return bool(_INJECTION.search(sentence))


def split_sentences(text: str) -> list[str]:
    """Sentences and list items; headings (`# ...`) are not sentences."""
    out: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        line = _LIST_MARKER.sub("", line)
        out.extend(s.strip() for s in _SENTENCE_END.split(line) if s.strip())
    return out


def _normalize(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def _content_tokens(text: str) -> set[str]:
    return {t for t in _TOKEN.findall(text.lower()) if t not in _STOPWORDS}


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def _stem(token: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            return token[: -len(suffix)]
    return token


def _stems(text: str) -> set[str]:
    return {_stem(t) for t in _content_tokens(text)}


def _coverage(asked: set[str], sentence: str) -> float:
    """Share of the question's content words that the sentence uses."""
    return len(asked & _stems(sentence)) / len(asked) if asked else 0.0


def strip_citation_marks(text: str) -> str:
    return _CITATION_MARK.sub("", text).strip()


def supported_sentences(text: str, passages: list[Passage], *, embedder: Embedder = cached_embed,
                        min_similarity: float = SUPPORT_MIN_SIMILARITY,
                        min_overlap: float = SUPPORT_MIN_OVERLAP) -> tuple[list[str], list[str]]:
    """Split `text` into sentences the passages back and sentences they do not.

    A sentence is backed when it appears verbatim in a passage, or when some passage sentence is close
    in meaning (embedding similarity) and the sentence's content words mostly occur in that passage and
    every number it states occurs there too (invented figures are the costly kind of error).
    """
    sentences = split_sentences(strip_citation_marks(text))
    if not sentences:
        return [], []
    if not passages:
        return [], sentences
    haystacks = [_normalize(p.text) for p in passages]
    pending = [s for s in sentences if not any(_normalize(s).rstrip(".") in h for h in haystacks)]
    verdict = {s: True for s in sentences if s not in pending}
    if pending:
        candidates = [(i, s) for i, p in enumerate(passages) for s in split_sentences(p.text)]
        passage_tokens = [_stems(p.text) for p in passages]
        passage_numbers = [_numbers(p.text) for p in passages]
        vectors = embedder(pending + [s for _, s in candidates])
        claims, evidence = vectors[: len(pending)], vectors[len(pending):]
        sims = claims @ evidence.T if len(candidates) else np.zeros((len(pending), 0))
        for row, sentence in enumerate(pending):
            tokens, numbers = _stems(sentence), _numbers(sentence)
            ok = False
            for col in np.argsort(-sims[row])[:5] if sims.shape[1] else []:
                if sims[row, col] < min_similarity:
                    break
                owner = candidates[col][0]
                overlap = len(tokens & passage_tokens[owner]) / len(tokens) if tokens else 1.0
                if overlap >= min_overlap and numbers <= passage_numbers[owner]:
                    ok = True
                    break
            verdict[sentence] = ok
    supported = [s for s in sentences if verdict[s]]
    unsupported = [s for s in sentences if not verdict[s]]
    return supported, unsupported


def _join(sentences: list[str]) -> str:
    """Space after a finished sentence, newline after a list item, so the text splits back the same."""
    out = ""
    for sentence in sentences:
        if out:
            out += " " if out.endswith((".", "!", "?")) else "\n"
        out += sentence
    return out


def cite(passages: list[Passage]) -> list[Citation]:
    """One citation per source, in the order given."""
    seen: set[str] = set()
    out = []
    for p in passages:
        if p.source not in seen:
            seen.add(p.source)
            out.append(p.citation())
    return out


class ExtractiveAnswerer:
    """Answers with up to `max_sentences` sentences copied verbatim from the best-matching passages."""

    def __init__(self, *, min_score: float = DEFAULT_MIN_SCORE, max_sentences: int = 3,
                 min_sentence_relevance: float = 0.3, sentence_margin: float = 0.12,
                 passage_margin: float = 0.1, lexical_weight: float = 0.3, embedder: Embedder = cached_embed) -> None:
        self.min_score = min_score
        self.max_sentences = max_sentences
        self.min_sentence_relevance = min_sentence_relevance
        self.lexical_weight = lexical_weight
        self.sentence_margin = sentence_margin
        self.passage_margin = passage_margin
        self.embedder = embedder

    async def answer(self, question: str, passages: list[Passage]) -> Answer:
        return await asyncio.to_thread(self.answer_sync, question, passages)

    def answer_sync(self, question: str, passages: list[Passage]) -> Answer:
        usable = [p for p in passages if p.score >= self.min_score]
        if not usable or not question.strip():
            return Answer(text="")
        top = max(p.score for p in usable)
        # passages far behind the best one would drag in a different topic
        usable = [p for p in usable if p.score >= top - self.passage_margin]
        candidates: list[tuple[int, int, str]] = []
        seen: set[str] = set()
        for pi, passage in enumerate(usable):
            for si, sentence in enumerate(split_sentences(passage.text)):
                key = _normalize(sentence)
                if key in seen or len(key.split()) < 3 or looks_like_injection(sentence):
                    continue
                seen.add(key)
                candidates.append((pi, si, sentence))
        if not candidates:
            return Answer(text="")
        vectors = self.embedder([question] + [c[2] for c in candidates])
        # short sentences embed noisily; the question's own words (e.g. "SMS", "refund") steady the ranking
        asked = _stems(question)
        relevance = np.asarray([
            (1 - self.lexical_weight) * float(sim) + self.lexical_weight * _coverage(asked, c[2])
            for sim, c in zip(vectors[1:] @ vectors[0], candidates)
        ])
        order = np.argsort(-relevance, kind="stable")
        best = float(relevance[order[0]])
        if best < self.min_sentence_relevance:
            return Answer(text="")
        floor = max(self.min_sentence_relevance, best - self.sentence_margin)
        chosen = [int(i) for i in order if relevance[i] >= floor][: self.max_sentences]
        chosen.sort(key=lambda i: (candidates[i][0], candidates[i][1]))
        text = _join([candidates[i][2] for i in chosen])
        used = [usable[pi] for pi in sorted({candidates[i][0] for i in chosen})]
        supported, unsupported = supported_sentences(text, used, embedder=self.embedder)
        total = len(supported) + len(unsupported)
        return Answer(text=text, citations=cite(used), support=len(supported) / total if total else 0.0,
                      unsupported_sentences=unsupported)
