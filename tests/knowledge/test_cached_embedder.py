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


async def test_callers_on_an_event_loop_share_encoder_calls_without_threads_of_their_own() -> None:
    import asyncio
    import threading

    from knowledge.batching import AsyncBatcher

    gate = threading.Event()
    calls: list[int] = []

    def slow_encode(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        gate.wait(5)  # the first call holds the encoder while the others queue up
        if "fail" in texts:
            raise ValueError("the encoder failed")
        return embed(texts)

    batcher: AsyncBatcher[str, np.ndarray] = AsyncBatcher(slow_encode, max_items=64)
    questions = [[f"question number {i}", f"earlier turn {i}"] for i in range(8)]
    first = asyncio.create_task(batcher(questions[0]))
    while not calls:
        await asyncio.sleep(0.001)
    threads_before = threading.active_count()
    rest = [asyncio.create_task(batcher(q)) for q in questions[1:]]
    await asyncio.sleep(0.05)
    assert threading.active_count() == threads_before  # waiting costs no thread
    gate.set()
    results = await asyncio.gather(first, *rest)
    assert calls == [2, 14]  # the first caller alone, then everyone who queued meanwhile in one call
    for texts, vectors in zip(questions, results):
        np.testing.assert_allclose(vectors, embed(texts), atol=1e-4)

    gate.clear()
    blocked = asyncio.create_task(batcher(["held"]))
    while len(calls) < 3:
        await asyncio.sleep(0.001)
    failing = asyncio.create_task(batcher(["fail"]))
    cancelled = asyncio.create_task(batcher(["never awaited"]))
    await asyncio.sleep(0.01)
    cancelled.cancel()
    gate.set()
    assert len(await blocked) == 1
    try:
        await failing
    except ValueError as error:
        assert "encoder failed" in str(error)
    else:
        raise AssertionError("the caller whose batch failed was not told")
    assert (await batcher(["still serving"])).shape == (1, 384)  # a cancelled caller broke nothing


async def test_the_async_cache_returns_what_the_sync_one_does() -> None:
    cache = CachedEmbedder(maxsize=10)
    texts = ["reset your password", "refunds take five days", "reset your password"]
    np.testing.assert_allclose(await cache.encode_async(texts), embed(texts), atol=1e-5)
    np.testing.assert_allclose(await cache.encode_async(texts[:1]), cache(texts[:1]), atol=1e-6)


async def test_with_two_workers_a_batch_runs_while_another_is_held() -> None:
    """The encoder's lanes: a second worker takes what queued while the first one's call still runs."""
    import asyncio
    import threading

    from knowledge.batching import AsyncBatcher

    gate = threading.Event()
    workers: list[str] = []

    def encode(texts: list[str]) -> list[str]:
        workers.append(threading.current_thread().name)
        if texts == ["held"]:
            gate.wait(5)
        return [text.upper() for text in texts]

    batcher: AsyncBatcher[str, list[str]] = AsyncBatcher(encode, name="lane", workers=2)
    held = asyncio.create_task(batcher(["held"]))
    while not workers:
        await asyncio.sleep(0.001)
    assert await asyncio.wait_for(batcher(["next", "one"]), 5) == ["NEXT", "ONE"]  # not behind the held call
    assert not held.done()
    gate.set()
    assert await held == ["HELD"]
    assert sorted(set(workers)) == ["lane-1", "lane-2"]
