"""A search reads Chroma's rows once per collection version; any writer's change is seen by the next search."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from knowledge.chroma import ChromaKnowledgeBase, ChunkRecord
from knowledge.search_index import BACKGROUND_TOPICS, LexicalIndex, distinctness, nearest_other

DIM = 8


def _vector(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=DIM).astype(np.float32)
    return v / np.linalg.norm(v)


VECTORS = {name: _vector(i) for i, name in enumerate(["A", "B", "C", "D", "query"])}
VECTORS["D"] = VECTORS["query"]  # a page added later that matches the query exactly


def _embed(texts: list[str]) -> np.ndarray:
    return np.stack([VECTORS[t] for t in texts])


def _kb(path: Path) -> ChromaKnowledgeBase:
    return ChromaKnowledgeBase.persistent(str(path), embedder=_embed, lexical_weight=0.0)


def _record(name: str) -> ChunkRecord:
    return ChunkRecord(id=name, text=f"answer {name}", embedding=VECTORS[name], path=name, title=name,
                       source=name, content_hash=name)


class CountingCollection:
    """Delegates to a Chroma collection and counts the requests made through it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.requests: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if name in {"get", "query", "count", "peek"}:
            def counted(*args: Any, **kwargs: Any) -> Any:
                self.requests.append(name)
                return attribute(*args, **kwargs)
            return counted
        return attribute


def test_searches_of_one_version_read_no_rows(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    kb.upsert([_record(n) for n in ("A", "B", "C")])
    chunks, titles = CountingCollection(kb.chunks), CountingCollection(kb.titles)
    kb.chunks, kb.titles = chunks, titles  # type: ignore[assignment]
    first = kb.search_sync("query", k=3)
    loaded = len(chunks.requests) + len(titles.requests)
    assert loaded > 0 and {p.title for p in first} == {"A", "B", "C"}
    for _ in range(5):
        assert kb.search_sync("query", k=3) == first
    assert len(chunks.requests) + len(titles.requests) == loaded  # nothing read per search

    kb.upsert([_record("D")])
    assert kb.search_sync("query", k=1)[0].title == "D"  # a write invalidates what was loaded


def test_a_write_through_another_client_is_seen_by_the_next_search(tmp_path: Path) -> None:
    reader, writer = _kb(tmp_path), _kb(tmp_path)
    writer.upsert([_record(n) for n in ("A", "B", "C")])
    assert reader.search_sync("query", k=1)[0].title != "D"
    writer.upsert([_record("D")])
    assert reader.search_sync("query", k=1)[0].title == "D"
    writer.delete_where_path("D")
    assert all(p.title != "D" for p in reader.search_sync("query", k=4))


def test_nearest_other_title_excludes_itself_and_pages_through_blocks() -> None:
    vectors = np.stack([_vector(i) for i in range(7)])
    expected = [max(float(vectors[i] @ vectors[j]) for j in range(7) if j != i) for i in range(7)]
    np.testing.assert_allclose(nearest_other(vectors, block=3), expected, rtol=1e-6)
    assert nearest_other(vectors[:1]).tolist() == [0.0]


# -- the lexical bonus ---------------------------------------------------------------------------------------------


def _at(cosine: float, axis: int) -> np.ndarray:
    """A unit vector whose cosine with the question's vector (axis 0) is `cosine`."""
    v = np.zeros(DIM, dtype=np.float32)
    v[0], v[axis] = cosine, np.sqrt(1.0 - cosine**2)
    return v


def _lexical_kb(path: Path, question: str, pages: dict[str, tuple[float, str]], **options: Any) -> ChromaKnowledgeBase:
    """One chunk per page, `name: (cosine with the question, text)`; title blending and grouping off, so a
    chunk's score is its cosine plus the lexical bonus."""

    def embed(texts: list[str]) -> np.ndarray:
        return np.stack([_at(1.0, 1) if t == question else _at(0.0, 1) for t in texts])

    kb = ChromaKnowledgeBase.persistent(str(path), embedder=embed, title_weight=0.0, group_by_title=False,
                                        twin_penalty=0.0, **options)
    kb.upsert([ChunkRecord(id=name, text=text, embedding=_at(cosine, axis), path=name, title=name, source=name,
                           content_hash=name)
               for axis, (name, (cosine, text)) in enumerate(pages.items(), start=2)])
    return kb


def _scores(kb: ChromaKnowledgeBase, question: str) -> dict[str, float]:
    return {p.title: p.score for p in kb.search_sync(question, k=8)}


def test_words_many_topics_share_do_not_override_a_closer_paraphrase(tmp_path: Path) -> None:
    question = "can google docs hold a spreadsheet"
    pages = {"Paraphrase": (0.80, "Put a table inside a document"),
             "Tips one": (0.76, "google docs tips one"), "Tips two": (0.75, "google docs tips two"),
             "Tips six": (0.74, "google docs tips six")}
    # BM25 scores the three tips pages alike: no evidence for any one of them, however well each matches
    scores = _scores(_lexical_kb(tmp_path, question, pages), question)
    assert max(scores, key=scores.__getitem__) == "Paraphrase"
    assert scores["Tips one"] == pytest.approx(0.76, abs=1e-4)


def test_a_lexical_match_never_overrides_a_dense_lead_larger_than_its_weight(tmp_path: Path) -> None:
    question = "plivo webhook retries"
    pages = {"Paraphrase": (0.80, "Resending failed callbacks"), "Exact": (0.55, "plivo webhook retries"),
             "Other": (0.30, "Invoices and billing")}
    scores = _scores(_lexical_kb(tmp_path, question, pages, lexical_weight=0.2), question)
    assert max(scores, key=scores.__getitem__) == "Paraphrase"
    assert scores["Exact"] == pytest.approx(0.55 + 0.2, abs=1e-4)  # the whole weight, and no more


def test_a_distinctive_exact_match_breaks_a_near_tie(tmp_path: Path) -> None:
    question = "plivo webhook retries"
    pages = {"Paraphrase": (0.80, "Resending failed callbacks"), "Exact": (0.79, "plivo webhook retries"),
             "Billing": (0.50, "Invoices and billing"), "Password": (0.40, "Resetting a password")}
    dense = _lexical_kb(tmp_path / "dense", question, pages, lexical_weight=0.0).search_sync(question, k=4)
    assert [p.title for p in dense] == ["Paraphrase", "Exact", "Billing", "Password"]
    blended = _lexical_kb(tmp_path / "blend", question, pages).search_sync(question, k=4)
    assert [p.title for p in blended] == ["Exact", "Paraphrase", "Billing", "Password"]


def test_a_partial_match_earns_its_share_of_the_question_not_the_whole_bonus() -> None:
    corpus = [["plivo", "setup", "guide"], ["sms", "delivery", "report", "plivo"], ["invoices", "billing"]]
    index = LexicalIndex(["setup", "report", "billing"], ["Setup", "Report", "Billing"], corpus, 0.2, 20)
    narrow = index.scores("plivo setup")
    assert narrow is not None and narrow.by_id["setup"] == pytest.approx(1.0)  # every term at its best
    wide = index.scores("plivo sms delivery report setup guide")
    assert wide is not None and 0.0 < wide.by_id["setup"] < wide.by_id["report"] < 1.0
    assert "billing" not in wide.by_id and index.scores("weather") is None


def test_term_ceilings_are_each_terms_best_score() -> None:
    corpus = [["a", "b", "b"], ["a", "c"], ["c", "c", "c", "d"], ["-"]]
    index = LexicalIndex([str(i) for i in range(4)], ["t"] * 4, corpus, 0.2, 20)
    for term in "abcd":
        alone = np.asarray(index.index.get_scores([term]))
        assert index.ceilings[index.index.vocab_dict[term]] == pytest.approx(float(alone.max()))


def test_distinctness_is_how_far_the_best_topic_stands_above_the_next() -> None:
    assert distinctness(np.asarray([3.0, 3.0, 3.0], dtype=np.float32)) == pytest.approx(0.0)
    assert distinctness(np.asarray([0.0, 2.5, 0.0], dtype=np.float32)) == 1.0  # one topic matches
    assert distinctness(np.asarray([4.0, 2.0, 1.0, 0.0], dtype=np.float32)) == pytest.approx(1 - 1.5 / 4)
    many = np.asarray([10.0] + [5.0] * BACKGROUND_TOPICS + [0.5] * 50, dtype=np.float32)
    assert distinctness(many) == pytest.approx(0.5)  # only the next BACKGROUND_TOPICS count
