"""A search reads Chroma's rows once per collection version; any writer's change is seen by the next search."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from knowledge.chroma import ChromaKnowledgeBase, ChunkRecord
from knowledge.search_index import nearest_other

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
