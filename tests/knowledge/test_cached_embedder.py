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
