"""Ingest sends chunks of many small files to the encoder together and reports its pace."""

from __future__ import annotations

import hashlib
import time
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
    block_calls: list[int] = []

    def counting(texts: list[str]) -> np.ndarray:
        chunks = sum("\n\n" in t for t in texts)  # chunk texts carry their heading; titles and blocks do not
        if chunks:
            chunk_calls.append(chunks)
            block_calls.append(len(texts) - chunks)
        rows = np.random.default_rng(len(texts)).normal(size=(len(texts), 384)).astype(np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    kb = ChromaKnowledgeBase.persistent(str(tmp_path), embedder=counting)
    report = ingest_documents(kb, [_page(i) for i in range(40)], progress=False, embedder=counting,
                              batch_chunks=16)
    assert report.added == 40 and report.chunks == kb.count() == 40
    assert chunk_calls == [16, 16, 8]  # 40 one-chunk files in three encoder calls
    # and the texts the answer composer scores, in the same calls: each page's block and its two sentences,
    # the sentence every page shares ("It takes effect at once.") embedded once
    assert block_calls == [16 + 16 + 1, 16 + 16, 8 + 8]
    summary = report.as_dict()
    assert summary["seconds"] > 0 and summary["chunks_per_second"] == round(40 / report.seconds, 1)


def test_the_encoders_load_is_timed_apart_and_skipped_when_nothing_changed(tmp_path: Path) -> None:
    loads: list[float] = []

    def warm_up() -> None:
        loads.append(time.perf_counter())
        time.sleep(0.2)

    def unit(texts: list[str]) -> np.ndarray:
        return np.full((len(texts), 384), 1 / np.sqrt(384), dtype=np.float32)

    kb = ChromaKnowledgeBase.persistent(str(tmp_path), embedder=unit)
    pages = [_page(i) for i in range(3)]
    first = ingest_documents(kb, pages, progress=False, embedder=unit, warm_up=warm_up)
    assert len(loads) == 1 and first.encoder_load_seconds >= 0.2 and first.as_dict()["encoder_load_seconds"] >= 0.2
    again = ingest_documents(kb, pages, progress=False, embedder=unit, warm_up=warm_up)
    assert again.unchanged == 3 and len(loads) == 1 and again.encoder_load_seconds == 0.0
