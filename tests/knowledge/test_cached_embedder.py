"""The answer composer's embedding cache returns exactly what the encoder returns, and evicts."""

from __future__ import annotations

import numpy as np

from knowledge.embedding import CachedEmbedder, embed


def test_cached_vectors_match_the_encoder_and_the_cache_is_bounded() -> None:
    cache = CachedEmbedder(maxsize=3)
    texts = ["reset your password", "refunds take five days", "reset your password", "export data"]
    np.testing.assert_allclose(cache(texts), embed(texts), atol=1e-5)
    assert len(cache._cache) == 3
    cache(["a new sentence"])
    assert len(cache._cache) == 3 and "a new sentence" in cache._cache
    np.testing.assert_allclose(cache(["reset your password"]), embed(["reset your password"]), atol=1e-5)


def test_concurrent_callers_share_encoder_calls_and_get_their_own_rows() -> None:
    import threading
    import time

    from knowledge.embedding import EmbeddingBatcher

    gate = threading.Event()
    calls: list[int] = []

    def slow_encode(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        gate.wait(5)  # the first call holds the encoder while the others queue up
        return embed(texts)

    batcher = EmbeddingBatcher(slow_encode, max_texts=64)
    questions = [[f"question number {i}", f"earlier turn {i}"] for i in range(8)]
    results: dict[int, np.ndarray] = {}
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, batcher(questions[i]))) for i in range(8)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while (not calls or batcher.pending() < 7) and time.monotonic() < deadline:
        time.sleep(0.001)  # every other caller is waiting behind the first encoder call
    gate.set()
    for thread in threads:
        thread.join(10)
    assert calls == [2, 14]  # the first caller alone, then everyone who queued meanwhile in one call
    for i, texts in enumerate(questions):
        np.testing.assert_allclose(results[i], embed(texts), atol=1e-4)
