"""What a search reads, held in memory: loaded from Chroma once per collection version.

A help centre changes at ingest, not between questions, so every chunk (text, metadata, vector), every
title vector with its nearest other title, the BM25 index and the vectors of the blocks answers are
composed from are read once and reused until the
collection's version stamp changes. A search then costs one version check and a few matrix products,
where it used to cost a `count`, two `query` calls and two `get` calls against Chroma.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from knowledge.spelling import QuerySpeller
from knowledge.text import words

_PAGE = 5000  # rows read from Chroma per request while loading


def _read_all(collection: Any, include: list[str]) -> dict[str, list[Any]]:
    """Every row of a collection, paged, as parallel lists."""
    out: dict[str, list[Any]] = {"ids": [], **{name: [] for name in include}}
    offset = 0
    while True:
        got = collection.get(include=include, limit=_PAGE, offset=offset)
        out["ids"].extend(got["ids"])
        for name in include:
            out[name].extend(got[name] if got[name] is not None else [])
        if len(got["ids"]) < _PAGE:
            return out
        offset += len(got["ids"])


def _matrix(rows: list[Any]) -> np.ndarray:
    return np.asarray(rows, dtype=np.float32) if len(rows) else np.zeros((0, 0), dtype=np.float32)


def nearest_other(vectors: np.ndarray, block: int = 1024) -> np.ndarray:
    """Per row: the highest cosine similarity to any other row (0 when alone); blockwise, so memory stays
    `block x n` however many titles there are."""
    n = len(vectors)
    out = np.zeros(n, dtype=np.float32)
    if n < 2:
        return out
    for start in range(0, n, block):
        sims = vectors[start:start + block] @ vectors.T
        rows = np.arange(sims.shape[0])
        sims[rows, rows + start] = -np.inf
        out[start:start + block] = sims.max(axis=1)
    return out


# topics after the best lexical one whose scores stand for the background it has to stand out from
BACKGROUND_TOPICS = 10


@dataclass
class LexicalScores:
    """BM25 evidence for one query: the weight it earned, per chunk the share of the query's attainable BM25
    score it reaches (0..1), and the titles of the best lexical hits."""

    weight: float
    by_id: dict[str, float]
    titles: set[str]

    def bonus(self, chunk_id: str) -> float:
        return self.weight * self.by_id.get(chunk_id, 0.0)


def term_ceilings(scores: dict[str, Any]) -> np.ndarray:
    """Per vocabulary term, the highest BM25 score any chunk gets for it (from bm25s's term-major matrix)."""
    data, indptr = scores["data"], scores["indptr"]
    out = np.zeros(len(indptr) - 1, dtype=np.float32)
    filled = np.flatnonzero(np.diff(indptr) > 0)
    if len(filled):
        out[filled] = np.maximum.reduceat(data, indptr[filled])
    return out


def distinctness(topic_best: np.ndarray) -> float:
    """How clearly BM25 singles out one topic: 1 - (mean best score of the next `BACKGROUND_TOPICS` topics
    that match at all) / (the best topic's score); 1 when only one topic matches, 0 when several match alike."""
    matched = np.sort(topic_best[topic_best > 0.0])[::-1]
    if len(matched) < 2:
        return 1.0
    return 1.0 - float(matched[1:BACKGROUND_TOPICS + 1].mean()) / float(matched[0])


class LexicalIndex:
    """BM25 over every chunk (title, section and text).

    Dense similarity finds paraphrases; exact product names, error codes and rare terms ("Plivo", "HTTP 429")
    are what BM25 finds, and support questions are full of them. A chunk's bonus is
    `weight * distinctness * share`, added to its cosine score (so the scale answer thresholds rely on is kept):

    - `share`: the chunk's BM25 score over the most the query's terms can score in this index (each term's
      best score, summed), not over the best hit's score. A best hit that shares one common word with a long
      question is a weak match and must not get the whole bonus.
    - `distinctness`: how far the best matching topic stands above the next ones. Words that many topics
      share ("google docs", "gmail archive") are no evidence for any one of them, and a bonus taken from
      them let a farther passage overtake a closer paraphrase; a name or code that one topic holds is.
    """

    def __init__(self, ids: list[str], titles: list[str], corpus: list[list[str]], weight: float,
                 candidates: int) -> None:
        import bm25s

        self.ids, self.titles = ids, titles
        self.weight, self.candidates = weight, candidates
        self.index = bm25s.BM25()
        self.index.index(corpus, show_progress=False)
        self.ceilings = term_ceilings(self.index.scores)
        topic_of: dict[str, int] = {}
        self.topic_rows = np.asarray([topic_of.setdefault(t, len(topic_of)) for t in titles], dtype=np.int64)
        self.topics = len(topic_of)

    def scores(self, query: str) -> LexicalScores | None:
        terms = [t for t in words(query) if t in self.index.vocab_dict]
        if not terms:
            return None
        raw = np.asarray(self.index.get_scores(terms), dtype=np.float32)
        attainable = float(self.ceilings[[self.index.vocab_dict[t] for t in terms]].sum())
        if attainable <= 0.0 or not raw.size or float(raw.max()) <= 0.0:
            return None
        topic_best = np.zeros(self.topics, dtype=np.float32)
        np.maximum.at(topic_best, self.topic_rows, raw)
        best = np.argsort(-raw)[: self.candidates]
        return LexicalScores(self.weight * distinctness(topic_best),
                             {self.ids[i]: min(1.0, float(raw[i]) / attainable) for i in np.flatnonzero(raw)},
                             {self.titles[i] for i in best if raw[i] > 0})


def text_id(text: str) -> str:
    """A stored text's id in the texts collection: its digest, so the same words are stored once."""
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class SearchIndex:
    """One version of the collections, as arrays: chunks by row, titles by row, chunk rows by title."""

    version: object
    ids: list[str]
    texts: list[str]
    metas: list[dict[str, Any]]
    vectors: np.ndarray
    title_names: list[str]
    title_vectors: np.ndarray
    title_nearest: np.ndarray  # per title row: similarity of the nearest other title (twin evidence)
    lexical: LexicalIndex | None
    speller: QuerySpeller | None = None  # customers' typos corrected towards these words
    # vectors of the blocks the answer composer scores, stored at ingest, by text id
    text_row: dict[str, int] = field(default_factory=dict)
    text_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 384), dtype=np.float32))
    title_row: dict[str, int] = field(default_factory=dict)
    rows_by_title: dict[str, np.ndarray] = field(default_factory=dict)

    row_of: dict[str, int] = field(default_factory=dict)
    # stored texts already looked up, by their words: a block asked for turn after turn is hashed once
    _rows_by_text: dict[str, int] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.row_of = {chunk_id: row for row, chunk_id in enumerate(self.ids)}
        self.title_row = {t: i for i, t in enumerate(self.title_names)}
        grouped: dict[str, list[int]] = defaultdict(list)
        for row, meta in enumerate(self.metas):
            grouped[meta["title"]].append(row)
        self.rows_by_title = {t: np.asarray(rows, dtype=np.int64) for t, rows in grouped.items()}

    @classmethod
    def load(cls, version: object, chunks: Any, titles: Any, texts: Any, lexical_weight: float,
             lexical_candidates: int) -> "SearchIndex":
        got = _read_all(chunks, ["metadatas", "documents", "embeddings"])
        named = _read_all(titles, ["documents", "embeddings"])
        blocks = _read_all(texts, ["embeddings"])
        title_vectors = _matrix(named["embeddings"])
        lexical = None
        corpus = [words(f"{m['title']} {m.get('section') or ''} {text}") or ["-"]
                  for text, m in zip(got["documents"], got["metadatas"])]
        if lexical_weight > 0.0 and got["ids"]:
            lexical = LexicalIndex(got["ids"], [m["title"] for m in got["metadatas"]], corpus,
                                   lexical_weight, lexical_candidates)
        return cls(version=version, ids=got["ids"], texts=got["documents"], metas=got["metadatas"],
                   vectors=_matrix(got["embeddings"]), title_names=named["documents"],
                   title_vectors=title_vectors, title_nearest=nearest_other(title_vectors), lexical=lexical,
                   speller=QuerySpeller.of_texts(corpus) if corpus else None,
                   text_row={i: row for row, i in enumerate(blocks["ids"])},
                   text_vectors=_matrix(blocks["embeddings"]))

    def __len__(self) -> int:
        return len(self.ids)

    def row_of_text(self, text: str) -> int | None:
        """The row of a stored text's vector in `text_vectors`; None for words never stored (a customer's)."""
        row = self._rows_by_text.get(text)
        if row is None and (row := self.text_row.get(text_id(text))) is not None:
            self._rows_by_text[text] = row
        return row

    def mean_vector(self, chunk_ids: Sequence[str]) -> np.ndarray | None:
        """The unit-length mean of these chunks' vectors; None when the index holds none of them."""
        rows = [self.row_of[i] for i in chunk_ids if i in self.row_of]
        if not rows:
            return None
        mean = self.vectors[rows].mean(axis=0)
        return np.asarray(mean / (np.linalg.norm(mean) or 1.0), dtype=np.float32)

    def nearest_titles(self, vector: np.ndarray, n: int) -> set[str]:
        """The `n` titles closest to `vector`."""
        if not self.title_names or n <= 0:
            return set()
        sims = self.title_vectors @ vector
        best = np.argpartition(-sims, n - 1)[:n] if n < len(sims) else np.arange(len(sims))
        return {self.title_names[i] for i in best}

    def top_rows(self, sims: np.ndarray, n: int) -> np.ndarray:
        """Row numbers of the `n` highest similarities, best first."""
        n = min(n, len(sims))
        best = np.argpartition(-sims, n - 1)[:n] if n < len(sims) else np.arange(len(sims))
        return best[np.argsort(-sims[best], kind="stable")]

    def rows_of(self, titles: set[str]) -> np.ndarray:
        """Every chunk row of the given titles (in stored order)."""
        parts = [self.rows_by_title[t] for t in titles if t in self.rows_by_title]
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
