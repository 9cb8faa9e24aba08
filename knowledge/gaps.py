"""Questions the knowledge base could not answer, grouped into the articles worth writing."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from pydantic import BaseModel

from knowledge.embedding import embed

GAP_REASONS = frozenset({"no_answer", "low_confidence"})


class Gap(BaseModel):
    title: str
    count: int
    examples: list[str]
    best_retrieval_score: float


def unanswered_questions(turns: Iterable[dict[str, Any]], min_retrieval_score: float) -> list[tuple[str, float]]:
    """Escalated turns whose best passage was under the retrieval floor: no good article exists."""
    out = []
    for t in turns:
        score = float(t.get("signals", {}).get("retrieval_score", 0.0))
        if t.get("decision") == "escalated" and t.get("reason") in GAP_REASONS and score < min_retrieval_score:
            out.append((t["question"], score))
    return out


def cluster_gaps(questions: list[tuple[str, float]], distance: float = 0.45) -> list[Gap]:
    """Average-linkage clusters on cosine distance; the question nearest each centroid names the article."""
    if not questions:
        return []
    texts = [q for q, _ in questions]
    vectors = embed(texts)
    if len(texts) == 1:
        labels = np.zeros(1, dtype=int)
    else:
        from sklearn.cluster import AgglomerativeClustering

        labels = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                         distance_threshold=distance).fit_predict(vectors)
    gaps = []
    for label in set(labels.tolist()):
        members = np.flatnonzero(labels == label)
        centroid = vectors[members].mean(axis=0)
        nearest = members[int(np.argmax(vectors[members] @ centroid))]
        gaps.append(Gap(title=texts[nearest], count=len(members),
                        examples=[texts[i] for i in members[:5]],
                        best_retrieval_score=round(max(questions[i][1] for i in members), 3)))
    return sorted(gaps, key=lambda g: (-g.count, g.title))
