"""Ingest sends chunks of many small files to the encoder together and reports its pace."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from knowledge.chroma import ChromaKnowledgeBase
from knowledge.documents import Document
from knowledge.ingest import ingest_documents


def _page(i: int) -> Document:
    text = f"# Topic {i}\n\nTopic {i} is configured under Settings > Topic {i}. It takes effect at once."
    return Document(path=f"topic-{i}.md", title=f"Topic {i}", text=text,
                    content_hash=hashlib.sha1(text.encode()).hexdigest())


def test_small_files_share_encoder_calls(tmp_path: Path) -> None:
    chunk_calls: list[int] = []

    def counting(texts: list[str]) -> np.ndarray:
        if all("\n\n" in t for t in texts):  # chunk texts carry their heading; titles and blocks do not
            chunk_calls.append(len(texts))
        rows = np.random.default_rng(len(texts)).normal(size=(len(texts), 384)).astype(np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    kb = ChromaKnowledgeBase.persistent(str(tmp_path), embedder=counting)
    report = ingest_documents(kb, [_page(i) for i in range(40)], progress=False, embedder=counting,
                              batch_chunks=16)
    assert report.added == 40 and report.chunks == kb.count() == 40
    assert chunk_calls == [16, 16, 8]  # 40 one-chunk files in three encoder calls
    summary = report.as_dict()
    assert summary["seconds"] > 0 and summary["chunks_per_second"] == round(40 / report.seconds, 1)
