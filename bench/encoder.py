"""The sentence encoder's own pace on this machine: the ceiling every other figure is a share of.

    python bench/encoder.py

Prints queries/s one at a time (and the p50 of one call), queries/s in batches of 32, chunks/s for
chunk-sized texts (the sample help centre's chunks, as ingest embeds them), and the encoder's seconds for
everything an ingest of the sample embeds (its chunks, the answer composer's blocks and the titles).
The batched rates keep every lane of the encoder busy (`SUPPORTBOT_ENCODER_LANES`): its ceiling on this
machine, whatever the layout of its threads.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.turns import QUESTIONS, worded_once  # noqa: E402
from knowledge.embedding import embed, encoder_lanes  # noqa: E402


def unique_queries(n: int) -> list[str]:
    """Questions as customers send them, each worded once (no cache can help)."""
    return [worded_once(QUESTIONS[i % len(QUESTIONS)]) for i in range(n)]


def single_rate(seconds: float = 3.0) -> dict[str, float]:
    """One query per encoder call, back to back."""
    embed(unique_queries(4))  # warm
    calls: list[float] = []
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        text = unique_queries(1)
        t = time.perf_counter()
        embed(text)
        calls.append(time.perf_counter() - t)
    return {"per_second": len(calls) / sum(calls), "p50_ms": statistics.median(calls) * 1000}


def batch_rate(texts: list[str], batch: int = 32, rounds: int = 3) -> float:
    """Texts per second in encoder calls of `batch` texts, one caller per lane (the texts are repeated until
    every caller has four calls to make); the median of `rounds` passes."""
    lanes = encoder_lanes()
    work = list(texts)
    while len(work) < 4 * batch * lanes:
        work += texts
    calls = [work[start:start + batch] for start in range(0, len(work), batch)]

    def encode(call: list[str]) -> object:
        return embed(call, batch_size=batch)

    with ThreadPoolExecutor(lanes) as callers:
        list(callers.map(encode, calls[:lanes]))  # warm every lane
        rates = []
        for _ in range(rounds):
            started = time.perf_counter()
            list(callers.map(encode, calls))
            rates.append(len(work) / (time.perf_counter() - started))
    return statistics.median(rates)


def _split(folder: Path) -> list[tuple[Any, list[Any]]]:
    from knowledge.documents import load_folder
    from knowledge.ingest import Chunker

    chunker = Chunker()
    return [(d, chunker.split(d)) for d in load_folder(folder)]


def chunk_texts(folder: Path) -> list[str]:
    """The texts ingest embeds for the chunks of `folder` (title and section in front)."""
    return [c.embedded_text(d.title) for d, chunks in _split(folder) for c in chunks]


def ingest_seconds(folder: Path, rounds: int = 3) -> float:
    """The encoder's own time for everything ingest embeds for `folder`, in the calls ingest makes: the chunks
    with the blocks the answer composer scores, then the titles. The median of `rounds`."""
    from knowledge.ingest import composer_blocks

    split = _split(folder)
    blocks = composer_blocks(c for _, chunks in split for c in chunks)
    texts = [c.embedded_text(d.title) for d, chunks in split for c in chunks] + blocks
    titles = sorted({d.title for d, _ in split})
    embed(texts[:8])  # warm
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        embed(texts)
        embed(titles)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    from service.cli import SAMPLE_DOCS

    single = single_rate()
    print(json.dumps({
        "single_per_second": round(single["per_second"], 1), "single_p50_ms": round(single["p50_ms"], 2),
        "batch32_per_second": round(batch_rate(unique_queries(320)), 1),
        "chunks_per_second": round(batch_rate(chunk_texts(Path(SAMPLE_DOCS))), 1),
        "ingest_seconds": round(ingest_seconds(Path(SAMPLE_DOCS)), 3),
    }))


if __name__ == "__main__":
    main()
