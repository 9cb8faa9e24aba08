"""The ONNX Runtime encoder gives the vectors sentence-transformers gives, in the caller's order."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from knowledge.embedding import TorchEncoder, load_encoder, model_folder
from knowledge.onnx_encoder import OnnxEncoder, graph_path, length_batches


def test_onnx_vectors_match_sentence_transformers() -> None:
    texts = ["How do I reset my password?", "", "refunds " * 400,  # truncated at the model's 256 tokens
             "Zwei-Faktor-Authentifizierung einschalten", "Can I export my data?"]
    encoder = load_encoder()
    assert isinstance(encoder, OnnxEncoder) and graph_path(model_folder()).exists()
    onnx = encoder.encode(texts, batch_size=2)
    reference = TorchEncoder(model_folder(), threads=1).encode(texts, batch_size=64)
    assert onnx.shape == (5, 384)
    np.testing.assert_allclose(np.linalg.norm(onnx, axis=1), 1.0, atol=1e-5)
    assert float((onnx * reference).sum(axis=1).min()) > 0.9999


def test_a_long_text_does_not_pad_short_ones() -> None:
    """Ten questions and one long reply: the reply runs on its own, the questions together at their own width."""
    lengths = sorted([70] + [15] * 10, reverse=True)
    assert length_batches(lengths, 64) == [(0, 1), (1, 11)]
    assert length_batches([16, 15, 15, 14], 64) == [(0, 4)]  # a few tokens of padding cost less than a run
    batches = length_batches([15] * 5, 2)  # never more than the batch size
    assert len(batches) == 3 and max(end - start for start, end in batches) == 2
    assert [i for start, end in batches for i in range(start, end)] == list(range(5))


def test_vectors_do_not_depend_on_the_batch() -> None:
    encoder = load_encoder()
    texts = ["Can I export my data?", "reply " * 60, "When is support open?"]
    together = encoder.encode(texts)
    alone = np.vstack([encoder.encode([t]) for t in texts])
    assert float((together * alone).sum(axis=1).min()) > 0.99999


def test_lanes_give_the_same_vectors_and_spread_a_large_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two lanes of one thread each: a call larger than a batch runs its batches on both at once, a batch of
    turns runs in its caller's thread, and no vector changes."""
    texts = [f"question {i} about refunds" for i in range(10)] + ["reply " * 80, "When is support open?"]
    one_lane = OnnxEncoder(model_folder(), threads=2, lanes=1)
    two_lanes = OnnxEncoder(model_folder(), threads=2, lanes=2)
    threads: list[str] = []
    run = two_lanes._encode_batch

    def recorded(encoded: list[Any]) -> np.ndarray:
        threads.append(threading.current_thread().name)
        return run(encoded)

    monkeypatch.setattr(two_lanes, "_encode_batch", recorded)
    np.testing.assert_allclose(two_lanes.encode(texts, batch_size=4), one_lane.encode(texts, batch_size=4), atol=1e-5)
    assert len(threads) == 4 and all(name.startswith("encoder-lane") for name in threads)
    assert len(set(threads)) == 2
    threads.clear()
    np.testing.assert_allclose(two_lanes.encode(texts[:3]), one_lane.encode(texts[:3]), atol=1e-5)
    assert threads == [threading.current_thread().name]
